"""``causerie run``: gunicorn, not Flask's development server; metrics and JSON logs across workers."""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from service import server
from tests.servers import ROOT, _children, free_port, migrate, returned, service_env

pytestmark = pytest.mark.slow
CAUSERIE = Path(sys.executable).with_name("causerie")
TOKEN = "scrape-me-0123456789"


class Run:
    """``causerie run`` in a process of its own."""

    def __init__(self, env: dict, *args: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen([str(CAUSERIE), "run", "--port", str(self.port), *args], cwd=ROOT, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def wait(self, timeout: float = 60) -> Run:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.process.stderr.read()
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2):
                    return self
            except OSError:
                time.sleep(0.2)
        raise AssertionError("causerie run did not answer")

    def get(self, path: str, headers: dict | None = None):
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode(), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), dict(error.headers)

    def stop(self) -> tuple[int | None, str, str]:
        """SIGTERM, as systemd stops it; its exit status and output."""
        self.process.send_signal(signal.SIGTERM)
        done = returned(self.process.communicate, patience=60)
        if not done:
            self.process.kill()
            return None, "", ""
        out, err = done[0]
        return self.process.returncode, out, err


@pytest.fixture
def env(tmp_path):
    env = service_env(f"sqlite:///{tmp_path / 'run.db'}", tmp_path / "instance")
    migrate(env)
    return env


def test_causerie_run_serves_with_gunicorn_and_stops_gracefully_on_sigterm(env):
    run = Run(env, "--workers", "2", "--threads", "2").wait()
    try:
        assert run.get("/widget.js")[0] == 200
    finally:
        status, out, err = run.stop()
    assert status == 0
    assert "Booting worker" in err and "Shutting down" in err
    assert "development server" not in out + err


def test_metrics_add_up_every_worker_and_json_logs_parse_line_by_line(env, tmp_path):
    env = {**env, "CAUSERIE_METRICS_TOKEN": TOKEN, "CAUSERIE_LOG_FORMAT": "json",
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    run = Run(env, "--workers", "2").wait()
    try:
        for _ in range(15):
            assert run.get("/widget.js")[0] == 200
        # Every worker leaves; gunicorn starts new ones, whose counts add to the old ones'.
        old = set(_children(run.process.pid))
        for pid in old:
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while set(_children(run.process.pid)) & old or len(_children(run.process.pid)) < 2:
            assert time.monotonic() < deadline, "gunicorn did not replace its workers"
            time.sleep(0.1)
        run.wait()
        for _ in range(15):
            assert run.get("/widget.js")[0] == 200
        assert run.get("/metrics")[0] == 401
        status, text, headers = run.get("/metrics", {"Authorization": f"Bearer {TOKEN}"})
    finally:
        code, out, err = run.stop()
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    served = [sample for family in text_string_to_metric_families(text) for sample in family.samples
              if sample.name == "causerie_http_requests_total" and sample.labels["route"] == "/widget.js"]
    assert served[0].value == 30
    assert code == 0
    lines = [json.loads(line) for line in err.splitlines()]
    requests = [line for line in lines if line.get("message") == "request"]
    assert len(requests) >= 32 and len({line["pid"] for line in requests}) >= 2
    assert any(line["logger"] == "gunicorn.error" for line in lines)


@pytest.fixture
def unfrozen():
    """The garbage collector's permanent generation, emptied before and after."""
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen")
def test_a_worker_leaves_what_it_built_at_start_out_of_the_garbage_collectors_passes():
    server.post_worker_init(worker=None)
    assert gc.get_freeze_count() > 0


def test_causerie_run_gives_gunicorn_the_worker_hook():
    configured = server.Server(lambda **_: None, {"workers": 1})
    assert configured.cfg.post_worker_init is server.post_worker_init
