"""The API's write limits: every limit of a request counted at once, in the
shared storage when it answers, in the process's memory when it does not."""

import random

import pytest
import redis
from limits import parse
from limits.storage import MemoryStorage

from service import write_limits
from service.extensions import app_limiter

from .conftest import REDIS_URL, Reader, add_site, make_app
from .test_rate_limits import REDIS_DOWN, STORAGES, fresh_ip

needs_redis = pytest.mark.skipif(not REDIS_URL, reason="needs Redis (CAUSERIE_TEST_REDIS_URL)")


def limited_app(database_url, tmp_path, storage, **settings):
    """An app with low write limits on ``storage``, and a site of its own
    (Redis keeps a site's counts from one test run to the next)."""
    app = make_app(database_url, tmp_path, RATELIMIT_STORAGE_URI=storage, **settings)
    site = add_site(app, f"limited-{random.randrange(10**9)}", mode="post")
    return app, site


def counter(app) -> write_limits.SharedCounter:
    with app.app_context():
        return write_limits.counter_of(app)


@pytest.mark.parametrize("storage", STORAGES)
def test_a_request_refused_per_address_spends_nothing_of_its_sites_limit(database_url, tmp_path, storage):
    app, site = limited_app(database_url, tmp_path, storage,
                            CAUSERIE_RATELIMIT_POST="1/minute", CAUSERIE_RATELIMIT_SITE_POST="3/minute")
    client = app.test_client()
    eager = Reader(client, site, ip=fresh_ip())
    assert [eager.post(f"n{i}").status_code for i in range(3)] == [201, 429, 429]
    others = [Reader(client, site, ip=fresh_ip()).post("mine").status_code for _ in range(3)]
    assert others == [201, 201, 429]


@pytest.mark.parametrize("storage", STORAGES)
def test_a_refusal_tells_where_the_client_stands_when_headers_are_on(database_url, tmp_path, storage):
    app, site = limited_app(database_url, tmp_path, storage, CAUSERIE_RATELIMIT_POST="1/minute",
                            RATELIMIT_HEADERS_ENABLED=True)
    reader = Reader(app.test_client(), site, ip=fresh_ip())
    assert reader.post("first").status_code == 201
    refused = reader.post("second")
    assert refused.status_code == 429
    assert refused.headers["X-RateLimit-Limit"] == "1"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert int(refused.headers["X-RateLimit-Reset"]) >= int(refused.headers["Retry-After"])


def test_an_edit_counts_against_the_edit_limit(database_url, tmp_path):
    app, site = limited_app(database_url, tmp_path, "memory://", CAUSERIE_RATELIMIT_EDIT="1/minute")
    reader = Reader(app.test_client(), site, ip=fresh_ip())
    posted = reader.post("to be edited").get_json()
    comment_id, token = posted["comment"]["id"], posted["edit_token"]
    assert reader.patch(comment_id, token, text="edited once").status_code == 200
    assert reader.patch(comment_id, token, text="edited twice").status_code == 429


@needs_redis
def test_all_of_a_posts_limits_are_counted_in_one_round_trip_to_redis(database_url, tmp_path, monkeypatch):
    app, site = limited_app(database_url, tmp_path, REDIS_URL)
    reader = Reader(app.test_client(), site, ip=fresh_ip())
    assert reader.post("loads the script into Redis").status_code == 201
    commands = []
    send = redis.connection.AbstractConnection.send_command
    monkeypatch.setattr(redis.connection.AbstractConnection, "send_command",
                        lambda self, *args, **kw: commands.append(args[0]) or send(self, *args, **kw))
    assert reader.post("counted at once").status_code == 201
    assert commands == ["EVALSHA"]


@needs_redis
def test_a_post_refused_by_its_limit_stores_nothing(database_url, tmp_path):
    app, site = limited_app(database_url, tmp_path, REDIS_URL, CAUSERIE_RATELIMIT_POST="1/minute")
    reader = Reader(app.test_client(), site, ip=fresh_ip())
    assert reader.post("the one allowed").status_code == 201
    assert reader.post("one too many").status_code == 429
    assert ["the one allowed" in c["html"] for c in reader.read().get_json()["comments"]] == [True]


@needs_redis
def test_a_post_is_counted_under_the_keys_flask_limiter_gives_it(database_url, tmp_path):
    app, site = limited_app(database_url, tmp_path, REDIS_URL, CAUSERIE_RATELIMIT_POST="3/minute")
    ip = fresh_ip()
    assert Reader(app.test_client(), site, ip=ip).post("counted").status_code == 201
    shared = redis.Redis.from_url(REDIS_URL)
    assert shared.get(f"LIMITS:LIMITER/causerie/{ip}/api.create_comment/3/1/minute") == b"1"
    assert shared.get(f"LIMITS:LIMITER/causerie/site:{site}/api.create_comment/1000/1/minute") == b"1"


def test_a_storage_that_failed_is_asked_again_only_after_a_pause(database_url, tmp_path):
    app, site = limited_app(database_url, tmp_path, REDIS_DOWN)
    shared = counter(app)
    reader = Reader(app.test_client(), site, ip=fresh_ip())
    assert [reader.post(f"n{i}").status_code for i in range(3)] == [201, 201, 201]
    assert shared.failures == 1
    shared.retry_at = 0.0  # the pause is over
    assert reader.post("asks again").status_code == 201
    assert shared.failures == 2


@needs_redis
def test_counting_goes_back_to_the_storage_once_it_answers_again(database_url, tmp_path, monkeypatch):
    app, site = limited_app(database_url, tmp_path, REDIS_URL, CAUSERIE_RATELIMIT_POST="3/minute")
    shared = counter(app)
    pool = app_limiter(app).storage.get_connection().connection_pool

    def down(*args, **kwargs):
        raise redis.ConnectionError("Redis restarts")

    monkeypatch.setattr(pool, "get_connection", down)
    ip = fresh_ip()
    reader = Reader(app.test_client(), site, ip=ip)
    assert reader.post("counted in memory").status_code == 201
    monkeypatch.undo()
    shared.retry_at = 0.0
    assert reader.post("counted in Redis").status_code == 201
    assert redis.Redis.from_url(REDIS_URL).get(f"LIMITS:LIMITER/causerie/{ip}/api.create_comment/3/1/minute") == b"1"
    assert shared.failures == 0


@needs_redis
def test_a_redis_that_forgot_the_script_is_given_it_again(database_url, tmp_path):
    app, site = limited_app(database_url, tmp_path, REDIS_URL, CAUSERIE_RATELIMIT_POST="1/minute")
    reader = Reader(app.test_client(), site, ip=fresh_ip())
    assert reader.post("loads the script").status_code == 201
    redis.Redis.from_url(REDIS_URL).script_flush()  # as a restarted Redis would
    assert reader.post("counted after the flush").status_code == 429
    assert counter(app).failures == 0


def test_counting_one_by_one_stops_at_the_first_limit_used_up():
    memory = MemoryStorage()
    counters = [(parse("1/minute"), "address"), (parse("5/minute"), "site")]
    assert not write_limits.count_one_by_one(memory, counters).refused
    refused = write_limits.count_one_by_one(memory, counters)
    assert refused.refused and refused.item.amount == 1
    assert memory.get("site") == 1


def test_nothing_is_counted_with_rate_limiting_off(database_url, tmp_path, monkeypatch):
    app, site = limited_app(database_url, tmp_path, "memory://", CAUSERIE_RATELIMIT_POST="1/minute",
                            RATELIMIT_ENABLED=False)
    reader = Reader(app.test_client(), site, ip=fresh_ip())
    assert [reader.post(f"n{i}").status_code for i in range(3)] == [201, 201, 201]

