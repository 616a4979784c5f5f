"""Several processes, one truth: gunicorn instances sharing a database and Redis."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
import uuid

import pytest
import sqlalchemy as sa

from service.extensions import db
from service.models import Comment

from .conftest import ORIGIN, PG_URL, REDIS_URL, add_site, make_app
from .servers import Gunicorn, migrate, service_env

pytestmark = pytest.mark.slow
URL = f"{ORIGIN}/article"


def call(base, method, path, body=None, headers=None):
    """One HTTP request; returns (status, headers, parsed body or None)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{base}{path}", data=data, method=method, headers={
        "Origin": ORIGIN, **({"Content-Type": "application/json"} if data else {}), **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, response.headers, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, error.headers, json.loads(raw) if raw else None


def post(base, text, ticket=None):
    return call(base, "POST", "/api/comments", {"site": "blog", "url": URL, "author": "Ana", "text": text,
                                                 **({"ticket": ticket} if ticket else {})})


def read(base, etag=None):
    return call(base, "GET", f"/api/threads?site=blog&url={URL}", headers={"If-None-Match": etag} if etag else {})


@pytest.fixture
def shared_backend(empty_database_url, tmp_path):
    """A database (SQLite file or PostgreSQL schema) migrated by `causerie init`, with a site."""
    database_url = empty_database_url
    env = service_env(database_url, tmp_path / "instance", RATELIMIT_KEY_PREFIX=f"t{uuid.uuid4().hex}")
    migrate(env)
    app = make_app(database_url, tmp_path)
    add_site(app, "blog", mode="pre")
    yield app, env
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


@pytest.mark.skipif(not (PG_URL and REDIS_URL), reason="needs PostgreSQL and Redis (CI provides both)")
@pytest.mark.parametrize("empty_database_url", ["postgresql"], indirect=True)
class TestTwoInstancesOnPostgresAndRedis:
    @pytest.fixture
    def pair(self, shared_backend):
        app, env = shared_backend
        env = {**env, "CAUSERIE_RATELIMIT_STORAGE_URI": REDIS_URL, "CAUSERIE_RATELIMIT_POST": "4/minute"}
        with Gunicorn(env, workers=1) as one, Gunicorn(env, workers=1) as two:
            yield app, one.url, two.url

    def test_a_comment_approved_through_one_is_served_by_the_other_at_once(self, pair):
        app, one, two = pair
        status, _, body = post(one, "Bonjour depuis l’instance un")
        assert (status, body["status"]) == (201, "pending")
        assert read(two)[2]["comments"] == []
        with app.app_context():
            db.session.get(Comment, body["comment"]["id"]).status = "approved"
            db.session.commit()
        assert [c["id"] for c in read(two)[2]["comments"]] == [body["comment"]["id"]]

    def test_etags_agree_between_instances(self, pair):
        _, one, two = pair
        post(one, "hello")
        etag = read(one)[1]["ETag"]
        assert read(two)[1]["ETag"] == etag
        assert read(two, etag)[0] == 304

    def test_the_rate_limit_is_shared(self, pair):
        _, one, two = pair
        codes = [post(base, f"message {i}")[0] for i, base in enumerate([one, two, one, two])]
        assert codes == [201] * 4
        assert post(one, "one too many")[0] == 429
        assert post(two, "one too many")[0] == 429


@pytest.mark.parametrize("empty_database_url", ["sqlite"], indirect=True)
def test_concurrent_writers_on_sqlite_lose_nothing(shared_backend):
    app, env = shared_backend
    env = {**env, "CAUSERIE_RATELIMIT_POST": "100000/minute", "CAUSERIE_RATELIMIT_SITE_POST": "100000/minute"}
    results: list[int] = []
    lock = threading.Lock()

    def writer(n):
        for i in range(20):
            status, _, _ = post(server.url, f"writer {n} message {i}")
            with lock:
                results.append(status)

    with Gunicorn(env, workers=4) as server:
        threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert results.count(201) == len(results) == 160
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Comment.id))) == 160
