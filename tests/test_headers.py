"""Security headers: a strict policy on every moderation page, CORS only for a site's own origins."""

from __future__ import annotations

import pytest
from flask import url_for
from werkzeug.security import generate_password_hash

from service import links
from service.extensions import db
from service.models import Comment, Moderator

from .access_table import sign_in
from .conftest import ORIGIN, Reader, add_site

OTHER_ORIGIN = "https://other-blog.example"
PASSWORD = "correct horse battery staple"
# Look-alikes of ORIGIN that a careless comparison (prefix, suffix, scheme-less) would let through.
FOREIGN_ORIGINS = [
    "https://evil.example",
    "null",
    "http://blog.example",  # another scheme is another origin
    "https://blog.example:8443",
    "https://blog.example.evil.example",
    "https://evilblog.example",
    "https://sub.blog.example",
    OTHER_ORIGIN,  # a real site's origin, but not this site's
]


@pytest.fixture
def database_url(tmp_path):
    """Headers do not depend on the database engine: SQLite only."""
    return f"sqlite:///{tmp_path / 'causerie.db'}"


@pytest.fixture
def world(app):
    add_site(app, "blog", mode="post")
    add_site(app, "other", origins=(OTHER_ORIGIN,), mode="post")
    posted = Reader(app.test_client(), "blog").post("Headers").get_json()
    with app.app_context():
        db.session.add(Moderator(email="admin@example.org", is_admin=True,
                                 password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")))
        db.session.commit()
        comment = db.session.get(Comment, posted["comment"]["id"])
        with app.test_request_context():
            link = links.moderation_links(comment.id, "admin@example.org")["approve"]
            unsubscribe = links.unsubscribe_link(comment.id)
        pages = [
            f"/moderate/comments/{comment.id}",
            "/moderate/sites/blog",
            link[link.index("/moderate/"):],
            unsubscribe[unsubscribe.index("/moderate/"):],
        ]
    return app, posted, pages


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed[words[0].lower()] = [w.lower() for w in words[1:]]
    return parsed


def assert_strict_page_headers(response, path):
    headers = response.headers
    policy = headers.get("Content-Security-Policy")
    assert policy, f"{path}: no Content-Security-Policy"
    csp = directives(policy)
    assert csp.get("default-src") in (["'none'"], ["'self'"]), (path, policy)
    scripts = csp.get("script-src", csp["default-src"])
    for loose in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:", "blob:"):
        assert loose not in scripts, (path, policy)
    assert "*" not in csp.get("style-src", csp["default-src"]), (path, policy)
    assert csp.get("object-src", csp["default-src"]) == ["'none'"], (path, policy)
    assert csp.get("frame-ancestors") == ["'none'"], (path, policy)
    assert csp.get("base-uri") in (["'none'"], ["'self'"]), (path, policy)
    assert csp.get("form-action") == ["'self'"], (path, policy)
    assert headers.get("X-Frame-Options") == "DENY", path
    assert headers.get("X-Content-Type-Options") == "nosniff", path
    assert headers.get("Referrer-Policy") in ("no-referrer", "same-origin", "strict-origin",
                                               "strict-origin-when-cross-origin"), path
    assert "Access-Control-Allow-Origin" not in headers, path


def test_moderation_pages_send_a_strict_policy_signed_out(world):
    app, _, pages = world
    client = app.test_client()
    for path in ["/moderate/login", "/moderate/", "/moderate/no-such-page", *pages[2:]]:
        response = client.get(path, headers={"Origin": ORIGIN})
        assert_strict_page_headers(response, path)


def test_moderation_pages_send_a_strict_policy_signed_in_and_are_not_cached(world):
    app, _, pages = world
    client = app.test_client()
    assert sign_in(client, "admin@example.org", PASSWORD).status_code == 303
    for path in ["/moderate/?view=approved", *pages, *every_moderation_page(app, pages)]:
        response = client.get(path, headers={"Origin": ORIGIN})
        assert response.status_code == 200, path
        assert_strict_page_headers(response, path)
        assert "no-store" in response.headers.get("Cache-Control", ""), path


def every_moderation_page(app, pages) -> list[str]:
    """Every GET route under /moderate, so that a new page is checked without being listed here."""
    comment_id = int(pages[0].rsplit("/", 1)[1])
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/moderate") or "GET" not in rule.methods or rule.endpoint.endswith("static"):
            continue
        if "token" in rule.arguments:
            continue  # the signed links are in ``pages``
        values = {"comment_id": comment_id, "key": "blog"}
        assert set(rule.arguments) <= set(values), f"{rule.rule}: give its arguments a sample value here"
        with app.test_request_context():
            found.append(url_for(rule.endpoint, **{k: values[k] for k in rule.arguments}))
    assert "/moderate/login" in found and "/moderate/" in found
    return [path for path in found if path != "/moderate/login"]  # a signed-in moderator is sent on


def test_sign_in_errors_and_rate_limited_pages_keep_the_policy(world):
    app, _, _ = world
    client = app.test_client()
    response = client.post("/moderate/login", data={"email": "x@example.org", "password": "x"})
    assert response.status_code == 400  # no CSRF token
    assert_strict_page_headers(response, "/moderate/login (POST)")


def test_the_session_cookie_is_http_only_and_same_site(world):
    app, _, _ = world
    client = app.test_client()
    response = sign_in(client, "admin@example.org", PASSWORD)
    cookies = [value for name, value in response.headers.items() if name == "Set-Cookie"]
    assert cookies
    for cookie in cookies:
        flags = {flag.strip().lower() for flag in cookie.split(";")[1:]}
        assert "httponly" in flags and ("samesite=lax" in flags or "samesite=strict" in flags), cookie


@pytest.mark.parametrize("app_settings", [{"SESSION_COOKIE_SECURE": True}])
def test_the_session_cookie_is_secure_when_configured(world):
    app, _, _ = world
    response = app.test_client().get("/moderate/login")
    assert "secure" in {f.strip().lower() for f in response.headers["Set-Cookie"].split(";")[1:]}


# ------------------------------------------------------------------ CORS on the API


def api_calls(posted):
    comment_id = posted["comment"]["id"]
    return [
        ("GET", f"/api/threads?site=blog&url={ORIGIN}/post", None),
        ("GET", f"/api/counts?site=blog&url={ORIGIN}/post", None),
        ("POST", "/api/comments", {"site": "blog", "url": f"{ORIGIN}/post", "author": "Ana", "text": "cors"}),
        ("POST", f"/api/comments/{comment_id}/report", {"reason": "cors"}),
        ("GET", f"/api/comments/{comment_id}", None),
        ("GET", "/api/threads?site=nope&url=https://nope.example/", None),
    ]


def test_api_answers_its_sites_origin_with_cors_headers_and_no_credentials(world):
    app, posted, _ = world
    client = app.test_client()
    for method, path, body in api_calls(posted):
        response = client.open(path, method=method, json=body, headers={
            "Origin": ORIGIN, "Authorization": f"Bearer {posted['edit_token']}"})
        if response.status_code == 404:
            continue  # an unknown site names no origins
        assert response.headers.get("Access-Control-Allow-Origin") == ORIGIN, (path, response.status_code)
        assert "Access-Control-Allow-Credentials" not in response.headers, path
        assert "Origin" in response.headers.get("Vary", ""), path


@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
def test_api_sends_no_cors_headers_to_another_origin(world, origin):
    app, posted, _ = world
    client = app.test_client()
    calls = api_calls(posted)
    if origin == OTHER_ORIGIN:
        # A registered site's pages may read errors that name no site (an
        # unknown site key), so a misconfigured widget can say why.
        calls = calls[:-1]
    for method, path, body in calls:
        response = client.open(path, method=method, json=body, headers={
            "Origin": origin, "Authorization": f"Bearer {posted['edit_token']}"})
        assert response.status_code < 500, (origin, path)
        names = [name for name, _value in response.headers]  # werkzeug's Headers iterate as pairs
        assert not any(name.lower().startswith("access-control-") for name in names), (
            origin, method, path, response.status_code, dict(response.headers))
        assert "Origin" in response.headers.get("Vary", ""), path


@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
def test_writes_from_another_origin_are_refused(world, origin):
    app, posted, _ = world
    client = app.test_client()
    before = client.get(f"/api/threads?site=blog&url={ORIGIN}/post").get_json()
    for method, path, body in api_calls(posted)[2:4] + [
            ("PATCH", f"/api/comments/{posted['comment']['id']}", {"text": "changed"}),
            ("DELETE", f"/api/comments/{posted['comment']['id']}", None)]:
        response = client.open(path, method=method, json=body, headers={
            "Origin": origin, "Authorization": f"Bearer {posted['edit_token']}"})
        assert response.status_code == 403, (origin, method, path, response.status_code)
        assert response.get_json()["error"]["code"] == "forbidden_origin"
    assert client.get(f"/api/threads?site=blog&url={ORIGIN}/post").get_json() == before


def test_preflight_allows_the_sites_origin_only(world):
    app, _, _ = world
    client = app.test_client()
    ask = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = client.options("/api/comments", headers={"Origin": ORIGIN, **ask})
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    assert "content-type" in allowed.headers["Access-Control-Allow-Headers"].lower()
    for origin in FOREIGN_ORIGINS[:-1]:
        refused = client.options("/api/comments", headers={"Origin": origin, **ask})
        assert "Access-Control-Allow-Origin" not in refused.headers, origin


def test_non_api_routes_never_send_cors_headers(world):
    app, _, pages = world
    client = app.test_client()
    for path in ["/moderate/login", "/healthz", "/feeds/blog.atom", "/demo", *pages[2:]]:
        response = client.get(path, headers={"Origin": ORIGIN})
        assert "Access-Control-Allow-Origin" not in response.headers, path
        assert "Access-Control-Allow-Credentials" not in response.headers, path


def test_the_widget_script_is_served_as_javascript_with_nosniff(world):
    app, _, _ = world
    response = app.test_client().get("/widget.js")
    assert response.status_code == 200
    assert response.mimetype in ("text/javascript", "application/javascript")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
