"""Crash safety: gunicorn on SQLite is killed with SIGKILL under a load of posts, twice.

Every post that was answered 201 must be in the database afterwards, exactly
as sent; the database must pass SQLite's integrity check; and the restarted
service must answer and accept posts again.  A worker killed alone is
replaced by the master without losing anything either.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import sqlite3
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest

from .conftest import ORIGIN, add_site, make_app
from .servers import Gunicorn, _children, service_env

pytestmark = pytest.mark.slow
URL = f"{ORIGIN}/article"
WRITERS = 6


class Load:
    """Writers posting comments as fast as the server takes them, until stopped."""

    def __init__(self, base: str):
        self.base = base
        self.acknowledged: dict[int, str] = {}
        self.attempts = 0
        self.failures = 0
        self.statuses: dict[int, int] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._write, args=(n,), daemon=True) for n in range(WRITERS)]

    def _ticket(self) -> str | None:
        """A load-time ticket, as the widget has, so posts are published rather than held."""
        try:
            with urllib.request.urlopen(f"{self.base}/api/threads?site=blog&url={URL}", timeout=5) as response:
                return response.headers["Causerie-Ticket"]
        except OSError:
            return None

    def _write(self, writer: int) -> None:
        n = 0
        ticket = self._ticket()
        while not self.stopping.is_set():
            n += 1
            # Awkward but valid text: multi-byte characters, quotes, a newline.
            text = f"writer {writer} post {n} — «{uuid.uuid4().hex}» 💬\nline two"
            body = json.dumps({"site": "blog", "url": URL, "author": f"Writer {writer}", "text": text,
                               "ticket": ticket}).encode()
            request = urllib.request.Request(f"{self.base}/api/comments", data=body, method="POST", headers={
                "Origin": ORIGIN, "Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    status, answer = response.status, json.loads(response.read())
            except urllib.error.HTTPError as error:
                status, answer = error.code, None
            except (OSError, ValueError, http.client.HTTPException):
                # Refused, reset or cut off mid-answer: not acknowledged.
                with self.lock:
                    self.attempts += 1
                    self.failures += 1
                time.sleep(0.01)
                continue
            with self.lock:
                self.attempts += 1
                self.statuses[status] = self.statuses.get(status, 0) + 1
                if status == 201:
                    self.acknowledged[answer["comment"]["id"]] = text

    def start(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def wait_for(self, count: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acknowledged) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(self.acknowledged) >= count, f"only {len(self.acknowledged)} posts acknowledged"

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=15)


def stored(db_path) -> dict[int, str]:
    with sqlite3.connect(db_path) as conn:
        return dict(conn.execute("SELECT id, text FROM comment").fetchall())


def integrity(db_path) -> list[str]:
    with sqlite3.connect(db_path) as conn:
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check").fetchall()]
        problems += [repr(row) for row in conn.execute("PRAGMA foreign_key_check").fetchall()]
    return problems


@pytest.fixture
def deployment(tmp_path):
    db_path = tmp_path / "causerie.db"
    database_url = f"sqlite:///{db_path}"
    app = make_app(database_url, tmp_path)
    add_site(app, "blog", mode="post")
    env = service_env(database_url, tmp_path / "instance", RATELIMIT_POST="1000000/minute",
                      RATELIMIT_SITE_POST="1000000/minute", RATELIMIT_KEY_PREFIX=uuid.uuid4().hex)
    return db_path, env


def check(db_path, acknowledged: dict[int, str]) -> tuple[int, int]:
    """The database is sound and holds every acknowledged post as sent; returns (lost, stored)."""
    assert integrity(db_path) == ["ok"]
    after = stored(db_path)
    lost = {cid for cid in acknowledged if cid not in after}
    changed = {cid for cid, text in acknowledged.items() if cid in after and after[cid] != text}
    assert lost == set() and changed == set(), (lost, changed)
    return len(lost), len(after)


def answers(server, acknowledged: dict[int, str]) -> None:
    """The restarted service is healthy and serves every acknowledged comment."""
    with urllib.request.urlopen(f"{server.url}/healthz", timeout=5) as response:
        assert json.loads(response.read())["status"] == "ok"
    with urllib.request.urlopen(f"{server.url}/api/threads?site=blog&url={URL}", timeout=10) as response:
        served = {c["id"] for c in json.loads(response.read())["comments"]}
    assert set(acknowledged) <= served


def test_posts_acknowledged_before_a_sigkill_survive_it(deployment):
    db_path, env = deployment
    acknowledged: dict[int, str] = {}
    figures = []
    # Round 1: one worker dies mid-load (the master replaces it), then the whole server.
    # Round 2: the restarted server is killed mid-load again.  Round 3: it comes back.
    for round_, workers in ((1, 3), (2, 2)):
        server = Gunicorn(env, workers=workers).start()
        if acknowledged:
            answers(server, acknowledged)
        load = Load(server.url).start()
        try:
            load.wait_for(50)
            if round_ == 1:
                os.kill(_children(server.process.pid)[0], signal.SIGKILL)
                load.wait_for(len(load.acknowledged) + 70)
            else:
                load.wait_for(80)
            server.kill()  # SIGKILL to the master and every worker, mid-load
            time.sleep(0.3)  # writers hit a dead port for a while
        finally:
            load.stop()
            server.kill()
        assert set(load.statuses) == {201}, load.statuses  # no error answers, even while a worker died
        acknowledged.update(load.acknowledged)
        lost, count = check(db_path, acknowledged)
        figures.append(f"round {round_}: {load.attempts} posts tried, {len(load.acknowledged)} acknowledged, "
                       f"{load.failures} cut off by the kill, {lost} lost, {count} stored in all")

    with Gunicorn(env, workers=2) as restarted:
        answers(restarted, acknowledged)
        again = Load(restarted.url).start()
        try:
            again.wait_for(10)
        finally:
            again.stop()
    acknowledged.update(again.acknowledged)
    check(db_path, acknowledged)
    print("\ncrash test: " + "; ".join(figures) + f"; {len(acknowledged)} acknowledged in all, 0 lost")
