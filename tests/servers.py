"""Real server processes for end-to-end tests: gunicorn serving ``wsgi:app``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import closing, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def silent_server():
    """A TCP server that accepts connections and never says a word; yields its port."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def returned(call, patience: float = 60) -> list:
    """``[call()]``, or ``[]`` if it has not returned after ``patience`` seconds.

    A guard for calls that would otherwise hang the suite, not a timing check.
    """
    results: list = []
    worker = threading.Thread(target=lambda: results.append(call()), daemon=True)
    worker.start()
    worker.join(timeout=patience)
    return results


def service_env(database_url: str, instance: Path, **settings) -> dict:
    """Environment for a Causerie process: the test's database, its own instance folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAUSERIE_")}
    env.update({
        "CAUSERIE_DATABASE_URL": database_url,
        "CAUSERIE_SECRET_KEY": "test-secret",
        "CAUSERIE_MIN_SUBMIT_SECONDS": "0",
        "PYTHONPATH": str(ROOT),
    })
    env.update({f"CAUSERIE_{k}": str(v) for k, v in settings.items()})
    instance.mkdir(parents=True, exist_ok=True)
    return env


def migrate(env: dict) -> None:
    """``causerie init`` against the environment's database."""
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "init"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=120)


class Gunicorn:
    """A gunicorn process serving Causerie on a free local port."""

    def __init__(self, env: dict, workers: int = 2, port: int | None = None):
        self.env = env
        self.workers = workers
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> Gunicorn:
        return self.launch().ready(timeout)

    def launch(self) -> Gunicorn:
        """Start the process without waiting for it to answer (see ``running``)."""
        self.process = subprocess.Popen(
            [str(GUNICORN), "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}", "--graceful-timeout", "2",
             "--log-level", "warning", "wsgi:app"],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        return self

    def ready(self, timeout: float = 30) -> Gunicorn:
        """Wait until the launched server answers its health check."""
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.process.stderr.read().decode()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                # Asked again soon: start-up takes about a second, each look costs next to nothing.
                time.sleep(0.02)
        self.stop()
        raise RuntimeError("gunicorn did not answer in time")

    def kill(self) -> None:
        """SIGKILL the master and every worker, as a crash would."""
        if self.process and self.process.poll() is None:
            for pid in _children(self.process.pid):
                _signal(pid, signal.SIGKILL)
            _signal(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        self.terminate()
        self.wait_stopped()

    def terminate(self) -> None:
        """Ask the server to shut down (SIGTERM), without waiting for it."""
        if self.process and self.process.poll() is None:
            self.process.terminate()

    def wait_stopped(self) -> None:
        """Wait for a terminated server to exit; SIGKILL it if it takes too long."""
        if self.process and self.process.poll() is None:
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


@contextmanager
def running(*servers: Gunicorn):
    """Several servers at once: started side by side and stopped side by side,
    so that their start-ups (about a second each) and shutdowns overlap."""
    try:
        for server in servers:
            server.launch()
        for server in servers:
            server.ready()
        yield servers
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait_stopped()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _signal(pid: int, sig) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
