"""deploy/nginx/causerie.conf, run by Debian's nginx in front of gunicorn.

With ``CAUSERIE_TRUSTED_PROXIES=1`` rate limits count each reader's own
address (not nginx's), and an ``X-Forwarded-For`` a client makes up changes
nothing; the versioned widget is cached; ``causerie doctor`` agrees.
Readers are told apart by their source address on the loopback network
(127.0.0.2, 127.0.0.3, ...).  ``scripts/test`` installs nginx; without it
the test is skipped only when it could not be installed (not root).
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.servers import ROOT, Gunicorn, free_port, migrate, returned, service_env

pytestmark = pytest.mark.slow
SITE_CONF = ROOT / "deploy" / "nginx" / "causerie.conf"
NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)
PAGE = "/api/threads?site=nosuchsite&url=https%3A%2F%2Fblog.example%2Fpost"
KEY = "nginx-test-secret-key-0123456789abcdef"


def _nginx() -> str:
    if NGINX:
        return NGINX
    if os.geteuid() != 0:
        pytest.skip("nginx is not installed and cannot be without root: sudo apt-get install -y nginx-light")
    pytest.fail("nginx is missing: scripts/test installs it (apt-get install -y nginx-light)")


class Nginx:
    """nginx running the repository's site file, rewritten only where a test machine differs."""

    def __init__(self, folder: Path, upstream_port: int):
        self.folder = folder
        self.port = free_port()
        self.cert, self.key = folder / "cert.pem", folder / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-keyout", str(self.key), "-out", str(self.cert), "-subj", "/CN=comments.example.org",
                        "-addext", "subjectAltName=DNS:comments.example.org,IP:127.0.0.1"],
                       check=True, capture_output=True)
        site = SITE_CONF.read_text()
        replacements = {
            "listen 443 ssl http2;": f"listen 127.0.0.1:{self.port} ssl http2;",
            "listen 80;": f"listen 127.0.0.1:{free_port()};",
            "server 127.0.0.1:8000;": f"server 127.0.0.1:{upstream_port};",
            "/etc/letsencrypt/live/comments.example.org/fullchain.pem": str(self.cert),
            "/etc/letsencrypt/live/comments.example.org/privkey.pem": str(self.key),
            "/var/cache/nginx/causerie": str(folder / "cache"),
        }
        for placeholder, value in replacements.items():
            assert placeholder in site, placeholder
            site = site.replace(placeholder, value)
        # This machine may have no IPv6.
        site = "\n".join(line for line in site.splitlines() if "[::]" not in line)
        (folder / "causerie.conf").write_text(site)
        temp = "\n".join(f"    {kind}_temp_path {folder / kind};" for kind in
                         ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (folder / "nginx.conf").write_text(f"""
{"user root;" if os.geteuid() == 0 else ""}
worker_processes 1;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"};
events {{ worker_connections 64; }}
http {{
    access_log {folder / "access.log"};
{temp}
    include {folder / "causerie.conf"};
}}
""")
        self.process: subprocess.Popen | None = None

    def start(self) -> Nginx:
        self.process = subprocess.Popen(
            [_nginx(), "-p", str(self.folder), "-c", str(self.folder / "nginx.conf"), "-e",
             str(self.folder / "error.log"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.process.stderr.read().decode()
            try:
                self.get("/healthz")
                return self
            except OSError:
                time.sleep(0.2)
        raise AssertionError("nginx did not answer")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful
            if not returned(self.process.wait, patience=20):
                self.process.kill()

    def get(self, path: str, source: str = "127.0.0.1", headers: dict | None = None):
        """GET over TLS from ``source``: (status, headers)."""
        context = ssl.create_default_context(cafile=str(self.cert))
        connection = http.client.HTTPSConnection("127.0.0.1", self.port, source_address=(source, 0),
                                                 context=context, timeout=10)
        try:
            connection.request("GET", path, headers={"Host": "comments.example.org", **(headers or {})})
            response = connection.getresponse()
            response.read()
            return response.status, response.headers
        finally:
            connection.close()


@pytest.fixture
def deployed(tmp_path):
    _nginx()
    env = service_env(f"sqlite:///{tmp_path / 'nginx.db'}", tmp_path / "instance", TRUSTED_PROXIES=1,
                      RATELIMIT_READ="3/minute", SECRET_KEY=KEY)
    migrate(env)
    # One worker: rate limits are counted in its memory.
    with Gunicorn(env, workers=1) as gunicorn:
        nginx = Nginx(tmp_path, gunicorn.port).start()
        try:
            yield nginx, env
        finally:
            nginx.stop()


def test_nginx_passes_the_readers_address_to_rate_limits_and_ignores_a_forged_one(deployed):
    nginx, _ = deployed
    reader, other, forger = "127.0.0.2", "127.0.0.3", "127.0.0.4"
    assert [nginx.get(PAGE, reader)[0] for _ in range(3)] == [404, 404, 404]
    assert nginx.get(PAGE, reader)[0] == 429
    # Another reader behind the same proxy has their own allowance.
    assert nginx.get(PAGE, other)[0] == 404
    # Claiming to be someone else gets a limited reader nothing...
    assert nginx.get(PAGE, reader, {"X-Forwarded-For": "203.0.113.50"})[0] == 429
    # ...and cannot spend another reader's allowance.
    for _ in range(3):
        assert nginx.get(PAGE, forger, {"X-Forwarded-For": other})[0] == 404
    assert nginx.get(PAGE, other)[0] == 404


def test_nginx_keeps_the_versioned_widget_for_a_year(deployed):
    nginx, _ = deployed
    status, headers = nginx.get("/widget.js", headers={"Accept-Encoding": "gzip"})
    assert status == 200
    version = headers["ETag"].strip('"').removesuffix("-gz")
    first = nginx.get(f"/widget.js?v={version}", headers={"Accept-Encoding": "gzip"})[1]
    second = nginx.get(f"/widget.js?v={version}", headers={"Accept-Encoding": "gzip"})[1]
    assert "max-age=31536000" in second["Cache-Control"] and "immutable" in second["Cache-Control"]
    assert (first["X-Cache-Status"], second["X-Cache-Status"]) == ("MISS", "HIT")


def test_causerie_doctor_finds_the_proxy_and_the_trusted_count_agreeing(deployed):
    nginx, env = deployed
    env = {**env, "CAUSERIE_PUBLIC_URL": f"https://127.0.0.1:{nginx.port}", "SSL_CERT_FILE": str(nginx.cert)}
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "doctor"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK    proxies: 1 proxy in front and CAUSERIE_TRUSTED_PROXIES=1" in result.stdout
    assert "over https" in result.stdout
