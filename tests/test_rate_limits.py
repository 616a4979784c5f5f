"""Rate limits: per client address on writes, looser on reads, shared storage."""

import random

import pytest

from service.extensions import address_key, app_limiter

from .access_table import sign_in
from .conftest import ORIGIN, REDIS_URL, Reader, add_site, make_app
from .servers import returned, silent_server

# Nothing listens on port 1: a Redis that is down.  Every test below holds
# there too, each process counting on its own until Redis answers again.
REDIS_DOWN = "redis://127.0.0.1:1/0"
STORAGES = ["memory://", REDIS_DOWN] + ([REDIS_URL] if REDIS_URL else [])


def fresh_ip():
    """A client address no earlier run has used: Redis counters outlive a test."""
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


@pytest.fixture(params=STORAGES, ids=lambda uri: {REDIS_DOWN: "redis-down"}.get(uri, uri.split(":")[0]))
def app_settings(request):
    return {"RATELIMIT_STORAGE_URI": request.param, "CAUSERIE_RATELIMIT_POST": "3/minute",
            "CAUSERIE_RATELIMIT_READ": "5/minute", "CAUSERIE_RATELIMIT_EDIT": "2/minute",
            "CAUSERIE_RATELIMIT_REPORT": "2/minute"}


def test_posting_past_the_limit_is_429_with_retry_after(client, site):
    ip = fresh_ip()
    reader = Reader(client, site, ip=ip)
    ticket = reader.ticket()
    body = {"site": site, "url": f"{ORIGIN}/post", "author": "A", "ticket": ticket}
    codes = [client.post("/api/comments", json={**body, "text": f"n{i}"}, headers={"Origin": ORIGIN},
                         environ_base={"REMOTE_ADDR": ip}).status_code for i in range(4)]
    assert codes == [201, 201, 201, 429]
    response = client.post("/api/comments", json={**body, "text": "again"}, headers={"Origin": ORIGIN},
                           environ_base={"REMOTE_ADDR": ip})
    assert response.get_json()["error"]["code"] == "rate_limited"
    assert 0 < int(response.headers["Retry-After"]) <= 60


def test_another_address_is_served_while_one_is_limited(client, site):
    noisy, quiet = Reader(client, site, ip=fresh_ip()), Reader(client, site, ip=fresh_ip())
    body = {"site": site, "url": f"{ORIGIN}/post", "author": "A", "text": "x"}
    for i in range(4):
        client.post("/api/comments", json={**body, "text": f"x{i}"}, headers={"Origin": ORIGIN},
                    environ_base={"REMOTE_ADDR": noisy.ip})
    response = client.post("/api/comments", json=body, headers={"Origin": ORIGIN},
                           environ_base={"REMOTE_ADDR": quiet.ip})
    assert response.status_code == 201


def test_building_another_app_leaves_an_apps_counts_as_they_were(client, site, database_url, tmp_path):
    reader = Reader(client, site, ip=fresh_ip())
    assert [reader.post(f"n{i}").status_code for i in range(3)] == [201, 201, 201]
    make_app(database_url, tmp_path)
    assert reader.post("one more").status_code == 429


def test_addresses_of_one_ipv6_64_share_one_posting_limit(client, site):
    group, subnet = random.randrange(65536), random.randrange(65535)
    codes = [Reader(client, site, ip=f"2001:db8:{group:x}:{subnet:x}::{i + 1:x}").post(f"n{i}").status_code
             for i in range(4)]
    assert codes == [201, 201, 201, 429]
    next_network = Reader(client, site, ip=f"2001:db8:{group:x}:{subnet + 1:x}::1")
    assert next_network.post("another network").status_code == 201


@pytest.mark.parametrize(("address", "key"), [
    ("203.0.113.7", "203.0.113.7"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("2001:DB8:1:2::", "2001:db8:1:2::/64"),
    ("::ffff:203.0.113.7", "203.0.113.7"),
    ("2001:db8:1:2::/64", "2001:db8:1:2::/64"),
    ("unknown", "unknown"),
])
def test_an_address_key_is_the_ipv4_address_or_the_ipv6_64(address, key):
    assert address_key(address) == key


def test_reads_have_their_own_limit(client, site):
    reader = Reader(client, site, ip=fresh_ip())
    codes = [reader.read().status_code for _ in range(6)]
    assert codes[:5] == [200] * 5 and codes[5] == 429


def test_reports_are_limited(client, site):
    reader = Reader(client, site, ip=fresh_ip())
    codes = [reader.report(1).status_code for _ in range(3)]
    assert codes[-1] == 429


def test_the_site_wide_limit_holds_across_addresses(app, database_url, tmp_path):
    app = make_app(database_url, tmp_path, CAUSERIE_RATELIMIT_SITE_POST="2/minute")
    client = app.test_client()
    busy = add_site(app, f"busy-{random.randrange(10**9)}", mode="post")
    codes = [Reader(client, busy, ip=fresh_ip()).post(f"text {i}").status_code for i in range(3)]
    assert codes == [201, 201, 429]


def test_a_post_carries_no_rate_limit_headers_by_default(client, site):
    response = Reader(client, site, ip=fresh_ip()).post("counted, not told")
    assert response.status_code == 201
    assert not [name for name, _ in response.headers if name.lower().startswith("x-ratelimit")]


def test_rate_limit_headers_say_what_is_left_when_switched_on(database_url, tmp_path, app_settings):
    app = make_app(database_url, tmp_path, **app_settings, RATELIMIT_HEADERS_ENABLED=True)
    # A site of its own: Redis keeps the per-site counts from run to run.
    told = add_site(app, f"told-{random.randrange(10**9)}", mode="post")
    response = Reader(app.test_client(), told, ip=fresh_ip()).post("counted and told")
    assert response.status_code == 201
    assert int(response.headers["X-RateLimit-Remaining"]) == int(response.headers["X-RateLimit-Limit"]) - 1


def test_client_address_comes_from_the_trusted_proxy(database_url, tmp_path):
    app = make_app(database_url, tmp_path, CAUSERIE_RATELIMIT_POST="1/minute", CAUSERIE_TRUSTED_PROXIES=1)
    client = app.test_client()
    add_site(app, "proxied", mode="post")

    def post(forwarded):
        return client.post("/api/comments", json={"site": "proxied", "url": f"{ORIGIN}/p", "author": "A",
                                                  "text": f"from {forwarded}"},
                           headers={"Origin": ORIGIN, "X-Forwarded-For": forwarded})

    assert post("192.0.2.1").status_code == 201
    assert post("192.0.2.2").status_code == 201
    assert post("192.0.2.1").status_code == 429


def test_without_trusted_proxies_forwarded_for_is_ignored(client, site):
    body = {"site": site, "url": f"{ORIGIN}/p", "author": "A"}
    codes = [client.post("/api/comments", json={**body, "text": f"t{i}"},
                         headers={"Origin": ORIGIN, "X-Forwarded-For": f"192.0.2.{i}"}).status_code for i in range(4)]
    assert codes[-1] == 429


def test_a_limit_storage_that_never_answers_is_given_up_on(database_url, tmp_path):
    with silent_server() as port:
        app = make_app(database_url, tmp_path, RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{port}/0")
        add_site(app, "blog")
        # Without socket timeouts the read would wait forever.
        assert returned(lambda: Reader(app.test_client(), "blog").read().status_code) == [200]


def test_reads_are_counted_in_the_process_and_never_in_the_shared_storage(app, client, site, monkeypatch):
    def shared(*args, **kwargs):
        raise AssertionError("a read was counted in the shared storage")

    monkeypatch.setattr(app_limiter(app).limiter, "hit", shared)
    reader = Reader(client, site, ip=fresh_ip())
    counts = lambda: client.get("/api/counts", query_string={"site": site, "url": f"{ORIGIN}/post"},  # noqa: E731
                                headers={"Origin": ORIGIN}, environ_base={"REMOTE_ADDR": reader.ip}).status_code
    codes = [reader.read().status_code for _ in range(3)] + [counts() for _ in range(3)]
    assert codes == [200] * 5 + [429]


def test_a_read_past_the_limit_says_when_to_come_back(client, site):
    reader = Reader(client, site, ip=fresh_ip())
    for _ in range(5):
        reader.read()
    response = reader.read()
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "rate_limited"
    assert 0 < int(response.headers["Retry-After"]) <= 60


def test_one_address_reading_too_much_leaves_another_reading(client, site):
    noisy, quiet = Reader(client, site, ip=fresh_ip()), Reader(client, site, ip=fresh_ip())
    for _ in range(6):
        noisy.read()
    assert noisy.read().status_code == 429
    assert quiet.read().status_code == 200


def test_the_read_limit_follows_a_change_of_setting(app, client, site):
    reader = Reader(client, site, ip=fresh_ip())
    for _ in range(5):
        reader.read()
    app.config["CAUSERIE_RATELIMIT_READ"] = "7/minute"
    assert reader.read().status_code == 200


def test_flask_limiter_looks_at_neither_reads_nor_the_apis_writes(app, client, site, monkeypatch):
    looked = []
    limiter = app_limiter(app)
    identify = limiter.identify_request
    monkeypatch.setattr(limiter, "identify_request", lambda: looked.append(1) or identify())
    reader = Reader(client, site, ip=fresh_ip())
    assert reader.read().status_code == 200
    assert client.get("/api/counts", query_string={"site": site, "url": f"{ORIGIN}/post"},
                      headers={"Origin": ORIGIN}).status_code == 200
    posted = reader.post("Bonjour")
    assert posted.status_code == 201
    assert reader.report(posted.get_json()["comment"]["id"]).status_code == 202
    assert looked == []


def test_flask_limiter_still_counts_failed_sign_ins(app, client, monkeypatch):
    looked = []
    limiter = app_limiter(app)
    identify = limiter.identify_request
    monkeypatch.setattr(limiter, "identify_request", lambda: looked.append(1) or identify())
    sign_in(client, "nobody@example.org", "wrong password")
    assert looked
