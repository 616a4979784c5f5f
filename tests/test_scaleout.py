"""Several processes, one truth: gunicorn instances sharing a database and Redis."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager

import pytest
import redis
import sqlalchemy as sa

from service.extensions import db
from service.models import Comment, Site

from .conftest import ORIGIN, PG_URL, REDIS_URL, _pg_schema, _pg_schema_url, add_site, make_app
from .servers import Gunicorn, running, service_env

pytestmark = pytest.mark.slow
URL = f"{ORIGIN}/article"
# Far longer than the promised second: only a broken promise waits this long.
PATIENCE = 30


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


def post(base, text, ticket=None, url=URL):
    return call(base, "POST", "/api/comments", {"site": "blog", "url": url, "author": "Ana", "text": text,
                                                 **({"ticket": ticket} if ticket else {})})


def read(base, etag=None, url=URL):
    return call(base, "GET", f"/api/threads?site=blog&url={url}", headers={"If-None-Match": etag} if etag else {})


@contextmanager
def backend(database_url, folder):
    """A database (SQLite file or PostgreSQL schema) migrated by `causerie init`,
    with a site; the app on it and the environment of its instances."""
    env = service_env(database_url, folder / "instance", RATELIMIT_KEY_PREFIX=f"t{uuid.uuid4().hex}")
    # `causerie init` run here rather than in a process of its own, which
    # spent a second and more importing the service before migrating.
    app = make_app(database_url, folder, create_tables=False)
    migrated = app.test_cli_runner().invoke(args=["init"])
    assert migrated.exit_code == 0, migrated.output
    add_site(app, "blog", mode="pre")
    try:
        yield app, env
    finally:
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture
def shared_backend(empty_database_url, tmp_path):
    """A database of the test's own migrated by `causerie init`, with a site."""
    with backend(empty_database_url, tmp_path) as (app, env):
        yield app, env


def seen_on(base, condition, patience: float = PATIENCE, url=URL):
    """Read the thread of ``url`` on ``base`` until ``condition(comments)``
    holds; the seconds it took, or None if it never did."""
    started = time.monotonic()
    while time.monotonic() - started < patience:
        status, _, body = read(base, url=url)
        if status == 200 and condition(body["comments"]):
            return time.monotonic() - started
        time.sleep(0.005)
    return None


def schema_of(database_url: str) -> str:
    """The PostgreSQL schema a test's database URL points into."""
    return sa.engine.make_url(database_url).query["options"].partition("search_path=")[2]


@pytest.fixture(scope="module")
def instances(tmp_path_factory):
    """Two instances of one worker each on a schema of their own, shared by
    the tests of ``pair``: migrating and starting them was most of each
    test's time, and these tests change nothing but rows."""
    with _pg_schema() as schema, backend(_pg_schema_url(schema), tmp_path_factory.mktemp("pair")) as (app, env):
        env = {**env, "CAUSERIE_RATELIMIT_STORAGE_URI": REDIS_URL, "CAUSERIE_RATELIMIT_POST": "4/minute",
               "CAUSERIE_RATELIMIT_READ": "100000/minute"}
        with running(Gunicorn(env, workers=1), Gunicorn(env, workers=1)) as (one, two):
            yield app, env["CAUSERIE_RATELIMIT_KEY_PREFIX"], one.url, two.url


on_postgres = pytest.mark.parametrize("empty_database_url", ["postgresql"], indirect=True)


@pytest.mark.skipif(not (PG_URL and REDIS_URL), reason="needs PostgreSQL and Redis (CI provides both)")
class TestTwoInstancesOnPostgresAndRedis:
    @pytest.fixture
    def pair(self, instances):
        """The shared instances as new to this test: a page no test has read
        or written, and the instances' rate-limit counters (in Redis) reset."""
        app, prefix, one, two = instances
        storage = redis.Redis.from_url(REDIS_URL)
        try:
            counters = list(storage.scan_iter(match=f"LIMITS:LIMITER/{prefix}/*"))
            if counters:
                storage.delete(*counters)
        finally:
            storage.close()
        return app, one, two, f"{ORIGIN}/article-{uuid.uuid4().hex[:12]}"

    @pytest.fixture
    def publishing_pair(self, shared_backend, empty_database_url):
        """Two instances on a site that publishes at once, each with two
        workers, their connections named so the test can cut them; and a
        function posting with a load-time ticket."""
        app, env = shared_backend
        with app.app_context():
            db.session.execute(sa.update(Site).values(mode="post"))
            db.session.commit()
        name = f"causerie-test-{uuid.uuid4().hex[:12]}"
        url = sa.engine.make_url(empty_database_url).update_query_dict({"application_name": name})
        env = {**env, "CAUSERIE_DATABASE_URL": url.render_as_string(hide_password=False),
               "CAUSERIE_RATELIMIT_STORAGE_URI": REDIS_URL, "CAUSERIE_RATELIMIT_POST": "1000/minute",
               "CAUSERIE_RATELIMIT_READ": "100000/minute"}
        with running(Gunicorn(env, workers=2), Gunicorn(env, workers=2)) as (one, two):
            ticket = read(one.url)[1]["Causerie-Ticket"]
            yield (app, lambda base, text: post(base, text, ticket), one.url, two.url, name,
                   f"causerie listener {schema_of(empty_database_url)}")

    def test_a_comment_approved_through_one_is_served_by_the_other_within_a_second(self, pair):
        app, one, two, url = pair
        status, _, body = post(one, "Bonjour depuis l’instance un", url=url)
        assert (status, body["status"]) == (201, "pending")
        assert read(two, url=url)[2]["comments"] == []
        with app.app_context():
            db.session.get(Comment, body["comment"]["id"]).status = "approved"
            db.session.commit()
        assert seen_on(two, lambda comments: [c["id"] for c in comments] == [body["comment"]["id"]],
                       url=url) is not None

    def test_etags_agree_between_instances(self, pair):
        _, one, two, url = pair
        post(one, "hello", url=url)
        etag = read(one, url=url)[1]["ETag"]
        assert read(two, url=url)[1]["ETag"] == etag
        assert read(two, etag, url=url)[0] == 304

    def test_the_rate_limit_is_shared(self, pair):
        _, one, two, url = pair
        codes = [post(base, f"message {i}", url=url)[0] for i, base in enumerate([one, two, one, two])]
        assert codes == [201] * 4
        assert post(one, "one too many", url=url)[0] == 429
        assert post(two, "one too many", url=url)[0] == 429

    @on_postgres
    def test_a_comment_posted_on_one_is_read_on_the_other_after_its_notification(self, publishing_pair):
        _, post, one, two, _, _ = publishing_pair
        for number in range(1, 6):
            # The other instance's workers have read (and kept) the thread as it was.
            for _ in range(8):
                assert len(read(two)[2]["comments"]) == number - 1
            assert post(one, f"message {number}")[0] == 201
            took = seen_on(two, lambda comments, n=number: len(comments) == n)
            assert took is not None
            print(f"write on one, seen on two after {took * 1000:.1f} ms")

    @on_postgres
    def test_readers_see_changes_while_the_listeners_are_cut_and_after(self, publishing_pair):
        app, post, one, two, _, listeners = publishing_pair
        assert post(one, "before")[0] == 201
        assert seen_on(two, lambda comments: len(comments) == 1) is not None
        with app.app_context():
            cut = db.session.scalars(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :name"),
                {"name": listeners}).all()
        assert cut and all(cut)
        # Announced to nobody, or to listeners that forget on listening again.
        assert post(one, "while cut")[0] == 201
        assert seen_on(two, lambda comments: len(comments) == 2) is not None
        # Every listener cut listens again (and a worker reading for the first time may add its own).
        assert wait_until(lambda: connections_named(app, listeners) >= len(cut))
        assert post(one, "after")[0] == 201
        assert seen_on(two, lambda comments: len(comments) == 3) is not None

    @on_postgres
    def test_readers_see_changes_after_every_connection_is_cut_as_by_a_restart(self, publishing_pair):
        app, post, one, two, name, listeners = publishing_pair
        assert post(one, "before")[0] == 201
        assert seen_on(two, lambda comments: len(comments) == 1) is not None
        with app.app_context():
            cut = db.session.scalars(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name IN (:a, :b)"),
                {"a": name, "b": listeners}).all()
        assert len(cut) >= 4 and all(cut)
        # The first write after the cut may meet a dead pooled connection (503, nothing stored).
        assert wait_until(lambda: post(one, "after the restart")[0] == 201)
        assert seen_on(two, lambda comments: len(comments) == 2) is not None


def connections_named(app, name: str) -> int:
    """How many connections to the database carry this application name now
    (asked in a transaction of its own: PostgreSQL's view of the activity
    stays the same for the whole of one)."""
    with app.app_context(), db.engine.connect() as connection:
        return connection.scalar(sa.text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"),
                                 {"name": name})


def wait_until(condition, patience: float = PATIENCE) -> bool:
    """Poll ``condition`` until it holds, or patience runs out."""
    deadline = time.monotonic() + patience
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


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
