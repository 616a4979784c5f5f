"""Abuse: bursts are throttled per address, sign-in resists brute force,
oversized bodies are refused before they are read.

The burst and body tests run against gunicorn, over real sockets: a second
client address is a second loopback address (127.0.0.x), so nothing relies
on headers a client could forge.
"""

from __future__ import annotations

import http.client
import json
import select
import socket
import threading
import time
import uuid

import pytest
from werkzeug.security import generate_password_hash

from service.extensions import db
from service.models import Moderator

from .access_table import csrf_token
from .conftest import ORIGIN, add_site, make_app
from .servers import Gunicorn, service_env

URL = f"{ORIGIN}/article"
MAX_BODY = 64 * 1024
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One gunicorn worker (limits counted in its memory) on an SQLite file with a site."""
    tmp = tmp_path_factory.mktemp("abuse")
    database_url = f"sqlite:///{tmp / 'causerie.db'}"
    add_site(make_app(database_url, tmp), "blog", mode="post")
    env = service_env(database_url, tmp / "instance", RATELIMIT_POST="5/minute", RATELIMIT_READ="20/minute",
                      RATELIMIT_KEY_PREFIX=uuid.uuid4().hex, MAX_REQUEST_SIZE=MAX_BODY)
    with Gunicorn(env, workers=1) as gunicorn:
        yield gunicorn


def request(server, method, path, body=None, *, source="127.0.0.1", headers=None):
    """One request from the client address ``source``; returns (status, headers, parsed body)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10, source_address=(source, 0))
    data = json.dumps(body).encode() if body is not None else None
    try:
        connection.request(method, path, body=data, headers={
            "Origin": ORIGIN, **({"Content-Type": "application/json"} if data else {}), **(headers or {})})
        response = connection.getresponse()
        raw = response.read()
        return response.status, response.headers, json.loads(raw) if raw else None
    finally:
        connection.close()


def post(server, text, source, **headers):
    return request(server, "POST", "/api/comments", {"site": "blog", "url": URL, "author": "Ana", "text": text},
                   source=source, headers=headers)


# ------------------------------------------------------------------ bursts


def test_a_burst_of_posts_from_one_address_gets_429_while_another_is_served(server):
    results = []
    lock = threading.Lock()

    def one(n):
        status, headers, body = post(server, f"burst {n} {uuid.uuid4()}", "127.0.0.2")
        with lock:
            results.append((status, headers, body))

    threads = [threading.Thread(target=one, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(status for status, _, _ in results)
    assert codes == [201] * 5 + [429] * 7
    for status, headers, body in results:
        if status == 429:
            assert body["error"]["code"] == "rate_limited"
            assert 0 < int(headers["Retry-After"]) <= 60
    # A forged X-Forwarded-For does not buy a new allowance (no trusted proxy).
    assert post(server, "spoofed", "127.0.0.2", **{"X-Forwarded-For": "198.51.100.9"})[0] == 429
    # Meanwhile another reader is served normally, for posting and for reading.
    assert post(server, "A calm reader", "127.0.0.3")[0] == 201
    assert request(server, "GET", f"/api/threads?site=blog&url={URL}", source="127.0.0.3")[0] == 200


def test_a_burst_of_reads_gets_429_while_another_address_reads(server):
    codes = [request(server, "GET", f"/api/threads?site=blog&url={URL}", source="127.0.0.4")[0] for _ in range(25)]
    assert codes.count(200) == 20 and codes[20:] == [429] * 5
    assert request(server, "GET", f"/api/threads?site=blog&url={URL}", source="127.0.0.5")[0] == 200


# ------------------------------------------------------------------ oversized bodies


def raw_connection(server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return sock


def read_status(sock, timeout=5.0) -> tuple[int, float]:
    """The status code of the answer, and how long it took to arrive."""
    start = time.monotonic()
    sock.settimeout(timeout)
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    assert data.startswith(b"HTTP/1."), data[:200]
    return int(data.split()[1]), time.monotonic() - start


@pytest.mark.parametrize("path, content_type", [("/api/comments", "application/json"),
                                                ("/api/comments/1", "application/json"),
                                                ("/moderate/login", "application/x-www-form-urlencoded"),
                                                ("/moderate/sites/blog/import", "multipart/form-data; boundary=x")])
def test_a_huge_content_length_is_refused_at_once_without_waiting_for_the_body(server, path, content_type):
    method = "PATCH" if path == "/api/comments/1" else "POST"
    with raw_connection(server) as sock:
        sock.sendall((f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: {ORIGIN}\r\n"
                      f"Content-Type: {content_type}\r\nAuthorization: Bearer x\r\n"
                      f"Content-Length: {2**30}\r\n\r\n").encode() + b'{"site": "blog", "text": "')
        status, took = read_status(sock)
    # The gigabyte never comes: an answer only after the worker timeout would mean it waited for it.
    # An edit is refused for its missing edit token (or missing comment), and an import
    # (whose own limit is 100 MB) for want of a signed-in admin or for its declared size.
    expected = {"/api/comments/1": (403, 404), "/moderate/sites/blog/import": (303, 413)}.get(path, (413,))
    assert status in expected
    assert took < 3


def test_a_body_just_over_the_limit_is_refused(server):
    text = "x" * MAX_BODY
    status, _, body = post(server, text, "127.0.0.6")
    assert status == 413
    assert body["error"]["code"] == "too_large"


@pytest.mark.parametrize("path", ["/api/comments", "/moderate/login"])
def test_an_endless_chunked_body_is_cut_off_after_the_limit(server, path):
    chunk = b"a" * 16384
    sent = 0
    status = None
    content_type = "application/json" if path.startswith("/api") else "application/x-www-form-urlencoded"
    with raw_connection(server) as sock:
        # A small send buffer, so that "sent" is close to what the server actually took in.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
        sock.sendall((f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: {ORIGIN}\r\n"
                      f"Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n").encode())
        deadline = time.monotonic() + 10
        # Keep streaming, as an attacker would, until the server answers; a server
        # that buffered the whole body would never answer before the 8 MB are sent.
        while sent < 8 * 2**20 and time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock], [], 0.5)
            if readable:
                status, _ = read_status(sock)
                break
            if writable:
                try:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                except (BrokenPipeError, ConnectionResetError):
                    status, _ = read_status(sock)
                    break
                sent += len(chunk)
    assert status == 413, (status, sent)
    assert sent < 2 * 2**20, f"the server took in {sent} bytes before refusing"


def test_the_service_still_answers_after_the_oversized_requests(server):
    assert request(server, "GET", "/healthz", source="127.0.0.7")[0] == 200


# ------------------------------------------------------------------ JSON bombs (in process)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("payload", [
    b"[" * 50_000,
    b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    b'{"site": "blog", "text": "' + b"\\ud800" * 1000 + b'"}',
    b'{"site": "blog", "url": "' + ORIGIN.encode() + b'/p", "author": 1e999, "text": NaN}',
    b"\xff\xfe{}",
])
def test_pathological_json_is_refused_with_400_never_500(app, site, payload):
    response = app.test_client().post("/api/comments", data=payload, content_type="application/json",
                                      headers={"Origin": ORIGIN})
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert "error" in response.get_json()


# ------------------------------------------------------------------ sign-in brute force


@pytest.fixture
def login_app(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'causerie.db'}", tmp_path, CAUSERIE_RATELIMIT_LOGIN="5/minute")
    with app.app_context():
        db.session.add(Moderator(email="mod@example.org",
                                 password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")))
        db.session.commit()
    return app


def attempt(app, password, ip, email="mod@example.org"):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    token = csrf_token(client)
    return client.post("/moderate/login", data={"email": email, "password": password, "csrf_token": token})


def test_sign_in_brute_force_from_one_address_is_refused_even_with_the_right_password(login_app):
    # One address tries many accounts (so no single account reaches its own limit).
    codes = [attempt(login_app, "guess", "198.51.100.1", email=f"user{n}@example.org").status_code
             for n in range(5)]
    assert codes == [401] * 5
    refused = attempt(login_app, PASSWORD, "198.51.100.1")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    # The moderator, elsewhere, still signs in: the account itself was not attacked.
    assert attempt(login_app, PASSWORD, "198.51.100.2").status_code == 303


def test_sign_in_brute_force_spread_over_many_addresses_slows_down_but_never_locks_the_owner_out(login_app):
    codes = [attempt(login_app, f"guess {n}", f"203.0.113.{n + 1}").status_code for n in range(5)]
    assert codes == [401] * 5
    # The account is under attack: each further address gets two guesses on it...
    codes = [attempt(login_app, f"guess {n}", "203.0.113.60").status_code for n in range(2)]
    assert codes == [401, 401]
    assert attempt(login_app, PASSWORD, "203.0.113.60").status_code == 429
    # ... while its owner, typing the right password, still gets in from anywhere else.
    assert attempt(login_app, PASSWORD, "203.0.113.99").status_code == 303
    # Another account is not affected by the attack on this one.
    assert attempt(login_app, "whatever", "203.0.113.50", email="other@example.org").status_code == 401


def test_successful_sign_ins_do_not_use_up_the_allowance(login_app):
    for _ in range(7):
        assert attempt(login_app, PASSWORD, "198.51.100.3").status_code == 303
