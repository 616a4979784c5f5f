"""Every route in the URL map has a rule in ``tests/access_table.py``, and keeps it.

Each endpoint is called as every kind of caller the table names: the ones
it must refuse (no origin, a foreign origin, another site's origin, no or
someone else's edit token, signed out, a moderator of another site, a
non-admin, a forged link) and the one it must serve.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import url_for
from werkzeug.security import generate_password_hash

from service import links
from service.extensions import db
from service.models import Comment, Moderator, Site

from .access_table import (
    ADMIN,
    ANYONE,
    AUTHOR,
    MODERATOR,
    SIGNED_LINK,
    SITE_MODERATOR,
    SITE_ORIGIN,
    TABLE,
    csrf_token,
    is_login_redirect,
    sign_in,
)
from .conftest import ORIGIN, Reader, add_site

OTHER_ORIGIN = "https://other-blog.example"
EVIL_ORIGIN = "https://evil.example"
MARKER = "ALPHA-ONLY-7f3a"
PASSWORD = "correct horse battery staple"
IGNORED_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture
def database_url(tmp_path):
    """Access control does not depend on the database engine: SQLite only."""
    return f"sqlite:///{tmp_path / 'causerie.db'}"


@dataclass
class World:
    """Two sites, a comment with its edit token in each, and three moderators."""

    app: object
    comment: int
    token: str
    other_comment: int
    other_token: str
    thread: int

    def client(self, who: str | None = None):
        """A browser: signed out, or signed in as ``alpha``, ``beta`` (moderators) or ``admin``."""
        client = self.app.test_client()
        if who:
            assert sign_in(client, f"{who}@example.org", PASSWORD).status_code == 303
        return client


@pytest.fixture
def world(app):
    add_site(app, "alpha", mode="post")
    add_site(app, "beta", origins=(OTHER_ORIGIN,), mode="post")
    # Asking for reply emails, so that its confirmation link has something to confirm.
    alpha = Reader(app.test_client(), "alpha").post(f"Hello from alpha {MARKER}", email="reader@example.org",
                                                    notify=True).get_json()
    beta = app.test_client().post("/api/comments", headers={"Origin": OTHER_ORIGIN}, json={
        "site": "beta", "url": f"{OTHER_ORIGIN}/post", "author": "Bea", "text": "Hello from beta"}).get_json()
    with app.app_context():
        sites = {s.key: s for s in db.session.scalars(db.select(Site))}
        # A fast hash: these accounts only need to sign in, not to resist cracking.
        hashed = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
        db.session.add_all([
            Moderator(email="alpha@example.org", password_hash=hashed, sites=[sites["alpha"]]),
            Moderator(email="beta@example.org", password_hash=hashed, sites=[sites["beta"]]),
            Moderator(email="admin@example.org", password_hash=hashed, is_admin=True),
        ])
        # A second alpha comment waiting in the queue, so the queue has something to hide.
        first = db.session.get(Comment, alpha["comment"]["id"])
        db.session.add(Comment(site_id=first.site_id, thread_id=first.thread_id, author="Pending",
                               text=f"Held {MARKER}", html=f"<p>Held {MARKER}</p>", status="pending"))
        thread = first.thread_id
        db.session.commit()
    return World(app, alpha["comment"]["id"], alpha["edit_token"], beta["comment"]["id"], beta["edit_token"],
                 thread)


def sample_args(world: World, rule) -> dict:
    """Values for a rule's URL arguments, all pointing at site alpha."""
    with world.app.test_request_context():
        samples = {
            "comment_id": world.comment,
            "thread_id": world.thread,
            "action": "pin",
            "change": "lock",
            "key": "alpha",
            "filename": {"static": "openapi.json", "demo.static": "demo.css",
                         "moderation.static": "moderation.css"}.get(rule.endpoint, "missing.css"),
            "token": _link(rule.endpoint, world.comment, "alpha@example.org"),
        }
    missing = set(rule.arguments) - set(samples)
    assert not missing, f"{rule.rule}: add a sample value for {missing} in sample_args()"
    return {name: samples[name] for name in rule.arguments}


def _link(endpoint: str, comment_id: int, recipient: str) -> str:
    if endpoint == "moderation.unsubscribe":
        return links.unsubscribe_link(comment_id).rsplit("/", 1)[1]
    if endpoint == "moderation.confirm_replies":
        return links.confirm_link(comment_id).rsplit("/", 1)[1]
    return links.moderation_links(comment_id, recipient)["approve"].rsplit("/", 1)[1]


BODIES = {
    "api.create_comment": {"site": "alpha", "url": f"{ORIGIN}/post", "author": "Zoé", "text": "An access probe"},
    "api.report_comment": {"reason": "An access probe"},
    "api.edit_comment": {"text": "Edited by the access probe"},
    "moderation.bulk": lambda w: {"action": "pin", "ids": str(w.comment)},
    "moderation.edit": {"text": "Edited by staff"},
    "moderation.reply": {"text": "A staff reply"},
    "moderation.ban": {"duration": "30", "reason": "probe", "by_email": "y", "by_ip": "y"},
    # A wrong current password: the probe must not change anyone's password.
    "moderation.account": {"current": "not the password", "new": "a new password", "confirm": "a new password"},
}


def routes(app):
    return {rule.endpoint: rule for rule in app.url_map.iter_rules()}


def methods(rule) -> list[str]:
    return sorted(rule.methods - IGNORED_METHODS)


def call(world: World, client, endpoint: str, method: str, url: str, *, origin=None, token=None):
    """One request as a browser would send it: JSON to the API, forms with a CSRF token elsewhere."""
    body = BODIES.get(endpoint)
    body = body(world) if callable(body) else body
    headers = {}
    if origin:
        headers["Origin"] = origin
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if url.startswith("/api/"):
        return client.open(url, method=method, json=body if method != "GET" else None, headers=headers)
    data = None
    if method == "POST":
        page = "/moderate/" if client.get("/moderate/").status_code == 200 else "/moderate/login"
        data = {**(body or {}), "csrf_token": csrf_token(client, page)}
    return client.open(url, method=method, data=data, headers=headers)


def test_every_route_in_the_url_map_has_a_rule(app):
    unlisted = sorted(set(routes(app)) - set(TABLE))
    assert not unlisted, (f"routes without an access rule: {unlisted}; add each to tests/access_table.py "
                          "with who may call it")


def test_every_rule_names_a_route_that_exists(app):
    stale = sorted(set(TABLE) - set(routes(app)))
    assert not stale, f"rules for routes that no longer exist: {stale}; remove them from tests/access_table.py"


def test_every_rule_names_a_known_kind_of_caller():
    kinds = {ANYONE, SITE_ORIGIN, AUTHOR, MODERATOR, SITE_MODERATOR, ADMIN, SIGNED_LINK}
    assert {endpoint: rule.who for endpoint, rule in TABLE.items() if rule.who not in kinds} == {}


def refused(response) -> bool:
    return response.status_code in (401, 403, 404) or is_login_redirect(response)


def served(response) -> bool:
    return response.status_code < 500 and not refused(response)


@pytest.mark.parametrize("endpoint", sorted(TABLE))
def test_route_serves_only_the_callers_its_rule_names(world, endpoint):
    rule = routes(world.app).get(endpoint)
    if rule is None:
        pytest.skip(f"{endpoint} is not routed (see test_every_rule_names_a_route_that_exists)")
    with world.app.test_request_context():
        url = url_for(endpoint, **sample_args(world, rule))
    who = TABLE[endpoint].who
    for method in methods(rule):
        probe = PROBES[who]
        probe(world, endpoint, method, url)


def probe_anyone(world, endpoint, method, url):
    response = call(world, world.client(), endpoint, method, url)
    assert response.status_code < 500, (method, url, response.status_code)
    if method == "GET" and endpoint.endswith("static"):
        assert response.status_code == 200, (url, "the sample file of a static route should exist")
    assert response.status_code not in (401, 403), (method, url)
    # Signing out lands on the sign-in page; no other public route may send anyone there.
    assert method != "GET" or not is_login_redirect(response), (method, url)


def probe_site_origin(world, endpoint, method, url):
    for origin in (None, EVIL_ORIGIN, OTHER_ORIGIN):
        response = call(world, world.client(), endpoint, method, url, origin=origin)
        assert response.status_code == 403, (method, url, origin, response.status_code, response.get_data(True))
    response = call(world, world.client(), endpoint, method, url, origin=ORIGIN)
    assert 200 <= response.status_code < 300, (method, url, response.status_code, response.get_data(True))


def probe_author(world, endpoint, method, url):
    for token in (None, "not-a-token", world.other_token):
        response = call(world, world.client(), endpoint, method, url, origin=ORIGIN, token=token)
        assert response.status_code in (401, 403), (method, url, token, response.status_code)
    if method != "GET":
        for origin in (None, EVIL_ORIGIN, OTHER_ORIGIN):
            response = call(world, world.client(), endpoint, method, url, origin=origin, token=world.token)
            assert response.status_code == 403, (method, url, origin, response.status_code)
    response = call(world, world.client(), endpoint, method, url, origin=ORIGIN, token=world.token)
    assert 200 <= response.status_code < 300, (method, url, response.status_code, response.get_data(True))


def probe_moderator(world, endpoint, method, url):
    assert is_login_redirect(call(world, world.client(), endpoint, method, url)), (method, url)
    other = call(world, world.client("beta"), endpoint, method, url)
    assert other.status_code == 200 if method == "GET" else served(other), (method, url, other.status_code)
    assert MARKER not in other.get_data(as_text=True), f"{url} shows site alpha to beta's moderator"
    own = call(world, world.client("alpha"), endpoint, method, url)
    assert own.status_code == 200 if method == "GET" else served(own), (method, url, own.status_code)
    if endpoint == "moderation.queue_view":
        assert MARKER in own.get_data(as_text=True), "the queue hides alpha's comments from alpha's moderator"


def probe_site_moderator(world, endpoint, method, url):
    assert is_login_redirect(call(world, world.client(), endpoint, method, url)), (method, url)
    other = call(world, world.client("beta"), endpoint, method, url)
    assert other.status_code in (403, 404), (method, url, other.status_code)
    for who in ("alpha", "admin"):
        response = call(world, world.client(who), endpoint, method, url)
        assert served(response), (who, method, url, response.status_code, response.get_data(True)[:500])


def probe_admin(world, endpoint, method, url):
    assert is_login_redirect(call(world, world.client(), endpoint, method, url)), (method, url)
    for who in ("alpha", "beta"):
        response = call(world, world.client(who), endpoint, method, url)
        assert response.status_code == 403, (who, method, url, response.status_code)
    response = call(world, world.client("admin"), endpoint, method, url)
    assert served(response), (method, url, response.status_code)


def probe_signed_link(world, endpoint, method, url):
    base, token = url.rsplit("/", 1)
    other_kind = "moderation.one_click" if endpoint == "moderation.unsubscribe" else "moderation.unsubscribe"
    with world.app.test_request_context():
        wrong_kind = _link(other_kind, world.comment, "alpha@example.org")
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for bad in ("forged", tampered, wrong_kind):
        response = call(world, world.client(), endpoint, method, f"{base}/{bad}")
        assert response.status_code in (404, 410), (method, bad, response.status_code)
    if method == "GET":
        response = call(world, world.client(), endpoint, method, url)
        assert response.status_code == 200, (method, url, response.status_code)


PROBES = {
    ANYONE: probe_anyone,
    SITE_ORIGIN: probe_site_origin,
    AUTHOR: probe_author,
    MODERATOR: probe_moderator,
    SITE_MODERATOR: probe_site_moderator,
    ADMIN: probe_admin,
    SIGNED_LINK: probe_signed_link,
}


def test_a_moderator_of_another_site_cannot_act_on_a_comment_in_bulk(world):
    client = world.client("beta")
    token = csrf_token(client, "/moderate/")
    response = client.post("/moderate/bulk", data={"action": "approve", "ids": [str(world.comment)],
                                                   "csrf_token": token})
    assert response.status_code in (403, 404)
    with world.app.app_context():
        assert db.session.get(Comment, world.comment).pinned is False


def test_moderation_forms_refuse_a_post_without_csrf_token(world):
    client = world.client("alpha")
    response = client.post(f"/moderate/comments/{world.comment}/reject")
    assert response.status_code == 400
    with world.app.app_context():
        assert db.session.get(Comment, world.comment).status == "approved"


def test_every_state_changing_route_outside_the_api_is_in_the_csrf_checked_blueprint(world):
    # CSRF is checked by the moderation blueprint, not app-wide: a form
    # route registered anywhere else would be open to cross-site posts.
    unchecked = sorted(rule.rule for rule in world.app.url_map.iter_rules()
                       if rule.methods & {"POST", "PUT", "PATCH", "DELETE"}
                       and not rule.endpoint.startswith(("api.", "moderation.")))
    assert unchecked == []
