"""``causerie run``: serve with gunicorn, a production server.

The command starts gunicorn's arbiter in this process, with the settings
below; each worker builds its own app.  SIGTERM (or Ctrl-C) stops it
gracefully: workers finish the requests they hold (up to
``--graceful-timeout`` seconds) before exiting.  ``--debug`` serves with
Flask's development server instead (reloader and debugger), for editing.

The hooks are also a gunicorn configuration module, for those who start
gunicorn themselves: ``gunicorn -c python:causerie.server 'causerie:create_app()'``.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

import click
from flask import Flask
from flask.cli import ScriptInfo, pass_script_info
from gunicorn.app.base import BaseApplication

from . import logs, settings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def instance_path() -> Path:
    """The instance folder the app will use (as Flask finds it for this package)."""
    return Path(settings.instance_path() or Flask(__package__, instance_relative_config=True).instance_path)


def prepare_metrics() -> Path | None:
    """Give prometheus_client's multiprocess mode an empty folder, before any worker starts.

    Only with ``CAUSERIE_METRICS_TOKEN`` set.  Every worker writes its
    counts into the folder named by ``PROMETHEUS_MULTIPROC_DIR`` (default:
    ``metrics`` in the instance folder), and a scrape adds them all up;
    counts of an earlier run are cleared, as a restarted process would.
    """
    if not settings.metrics_token():
        return None
    folder = Path(os.environ.get(MULTIPROC_ENV) or instance_path() / "metrics")
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(folder)
    return folder


def freeze_startup_objects() -> None:
    """Leave every object built so far (the libraries, the app) out of the
    cyclic garbage collector's passes, for the rest of the process's life.

    They live as long as the process, yet a full collection walks them all:
    in a worker that pass took 35-60 ms, a pause the request that met it
    waited through (the thread read's tail, measured in-process).  Called in
    each worker once its app is built (``post_worker_init``, or ``wsgi.py``
    when gunicorn is started without this configuration).
    """
    gc.freeze()


# gunicorn hooks (gunicorn reads these names from a configuration module).


def on_starting(server) -> None:
    """Master, before the workers fork: the metrics folder they share."""
    prepare_metrics()


def post_worker_init(worker) -> None:
    """Worker, once its app is built: see :func:`freeze_startup_objects`."""
    freeze_startup_objects()


def child_exit(server, worker) -> None:
    """Master, when a worker has exited: drop its live gauges from the metrics."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess  # noqa: PLC0415 - only with metrics on

        multiprocess.mark_process_dead(worker.pid)


logconfig_dict = logs.gunicorn_config()
# See Server.load_config (gunicorn before 27 ignores the name).
control_socket_disable = True


class Server(BaseApplication):
    """gunicorn serving the app that ``factory`` builds, once per worker."""

    def __init__(self, factory, options: dict):
        self.factory = factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        """Take the settings given to the constructor, and the hooks above."""
        options = {"on_starting": on_starting, "post_worker_init": post_worker_init, "child_exit": child_exit,
                   "logconfig_dict": logconfig_dict, **self.options}
        # gunicorn 27's control socket sits at one path in the user's home,
        # which several instances would share (and systemd's ProtectHome
        # hides): Causerie does not use it.
        if "control_socket_disable" in self.cfg.settings:
            options["control_socket_disable"] = True
        for name, value in options.items():
            self.cfg.set(name, value)

    def load(self):
        """Build the app (in each worker: nothing is shared across the fork)."""
        return self.factory(command_line=False)


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="The port.")
@click.option("--bind", "binds", multiple=True, metavar="ADDRESS",
              help="Listen here instead of --host/--port: HOST:PORT or unix:PATH (repeatable).")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 256),
              help="Processes serving requests; start with twice the cores.")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1, 256),
              help="Threads per process.")
@click.option("--timeout", default=30, show_default=True, type=click.IntRange(1, 3600),
              help="Seconds a request may take before its worker is restarted.")
@click.option("--graceful-timeout", default=30, show_default=True, type=click.IntRange(0, 3600),
              help="Seconds given to requests in progress when stopping.")
@click.option("--debug", is_flag=True,
              help="Flask's development server, with reloader and debugger (never in production).")
@pass_script_info
def run_command(info: ScriptInfo, host, port, binds, workers, threads, timeout, graceful_timeout, debug):
    """Serve Causerie with gunicorn (or Flask's development server with --debug)."""
    if debug:
        from werkzeug.serving import run_simple  # noqa: PLC0415 - only for --debug

        os.environ["FLASK_DEBUG"] = "1"
        run_simple(host, port, info.load_app(), use_reloader=True, use_debugger=True, threaded=True)
        return
    options = {
        "bind": list(binds) or [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
        "workers": workers,
        "threads": threads,
        "timeout": timeout,
        "graceful_timeout": graceful_timeout,
        # With JSON logs the app writes one line per request itself.
        "accesslog": None if logs.json_enabled() else "-",
        "proc_name": "causerie",
    }
    from . import create_app  # noqa: PLC0415 - the package imports this module first

    Server(create_app, options).run()
