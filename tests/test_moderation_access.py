"""Who may reach the moderation routes: the whole URL map, site by site."""

from __future__ import annotations

import re

import pytest
from werkzeug.routing import AnyConverter, IntegerConverter

from service.models import Comment
from tests.access_table import csrf_token
from tests.moderation_helpers import PASSWORD, add_comment, add_moderator, get

# Reachable without a session: their own protection is a form, a signature or nothing to hide.
PUBLIC = {"moderation.login", "moderation.static", "moderation.one_click", "moderation.unsubscribe",
          "moderation.confirm_replies"}


def _moderation_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/moderate")]


def _example_path(rule) -> str:
    """A concrete URL for a rule: 1 for integers, a plausible word for the rest."""
    values = {}
    for name, converter in rule._converters.items():  # noqa: SLF001 - reading the map is the point
        if isinstance(converter, IntegerConverter):
            values[name] = 1
        else:
            values[name] = "lock" if isinstance(converter, AnyConverter) else "approve"
    if "key" in rule.arguments:
        values["key"] = "blog"
    return rule.build(values)[1]


def test_every_moderation_page_but_sign_in_links_and_assets_redirects_a_signed_out_visitor(app, client, two_sites):
    add_comment(app, "blog")
    checked = 0
    for rule in _moderation_rules(app):
        if rule.endpoint in PUBLIC or "GET" not in rule.methods:
            continue
        response = client.get(_example_path(rule))
        assert response.status_code == 303, (rule.rule, response.status_code)
        assert "/moderate/login" in response.headers["Location"]
        checked += 1
    assert checked >= 7


def test_every_moderation_post_route_redirects_a_signed_out_visitor_even_with_a_valid_csrf_token(app, client,
                                                                                                 two_sites):
    add_comment(app, "blog")
    token = csrf_token(client)
    checked = 0
    for rule in _moderation_rules(app):
        if rule.endpoint in PUBLIC or rule.endpoint == "moderation.logout" or "POST" not in rule.methods:
            continue
        response = client.post(_example_path(rule), data={"csrf_token": token, "action": "approve", "ids": "1",
                                                          "text": "x"})
        assert response.status_code == 303 and "/moderate/login" in response.headers["Location"], rule.endpoint
        checked += 1
    assert checked >= 8
    assert get(app, Comment, 1).status == "pending"


def test_public_moderation_routes_are_exactly_sign_in_links_and_assets(app):
    endpoints = {rule.endpoint for rule in _moderation_rules(app)}
    assert endpoints >= PUBLIC
    assert {"moderation.queue_view", "moderation.act", "moderation.bulk"} <= endpoints


def test_moderator_of_one_site_gets_404_on_another_sites_comment(app, mod):
    theirs = add_comment(app, "other")
    assert mod.get(f"/moderate/comments/{theirs}").status_code == 404
    assert mod.post(f"/moderate/comments/{theirs}/approve").status_code == 404
    assert mod.post(f"/moderate/comments/{theirs}/reply", {"text": "hello"}).status_code == 404
    assert mod.post(f"/moderate/comments/{theirs}/ban", {"duration": "7"}).status_code == 404
    assert get(app, Comment, theirs).status == "pending"


def test_bulk_action_including_another_sites_comment_changes_nothing(app, mod):
    mine = add_comment(app, "blog")
    theirs = add_comment(app, "other")
    response = mod.post("/moderate/bulk", {"action": "approve", "ids": [str(mine), str(theirs)]})
    assert response.status_code == 404
    assert get(app, Comment, mine).status == "pending"


def test_moderator_cannot_lock_another_sites_thread(app, mod):
    theirs = add_comment(app, "other")
    thread_id = get(app, Comment, theirs).thread_id
    assert mod.post(f"/moderate/threads/{thread_id}/lock").status_code == 404


def test_queue_shows_only_the_moderators_own_sites(app, mod):
    add_comment(app, "blog", "Mine to moderate")
    add_comment(app, "other", "Someone else's business")
    page = mod.get("/moderate/").get_data(as_text=True)
    assert "Mine to moderate" in page and "Someone else" not in page


def test_filtering_the_queue_by_another_sites_key_is_404(app, mod):
    assert mod.get("/moderate/?site=other").status_code == 404


def test_audit_log_hides_other_sites_events(app, admin, mod):
    theirs = add_comment(app, "other", "Their comment")
    admin.post(f"/moderate/comments/{theirs}/approve")
    page = mod.get("/moderate/audit").get_data(as_text=True)
    assert "admin@example.org" not in page


def test_site_settings_are_for_admins_only(app, mod):
    assert mod.get("/moderate/sites/blog").status_code == 403
    assert mod.get("/moderate/sites").status_code == 403


def test_admin_reaches_any_sites_comment(app, admin):
    theirs = add_comment(app, "other")
    assert admin.get(f"/moderate/comments/{theirs}").status_code == 200


def test_moderation_pages_send_strict_security_headers(app, mod):
    response = mod.get("/moderate/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"]
    assert "no-store" in response.headers["Cache-Control"]


def test_sign_in_page_sends_security_headers_too(client, two_sites):
    assert "default-src 'none'" in client.get("/moderate/login").headers["Content-Security-Policy"]


def test_moderation_pages_contain_no_inline_script(app, mod):
    add_comment(app, "blog", "<script>alert(1)</script> hello")
    for path in ("/moderate/", "/moderate/comments/1", "/moderate/stats", "/moderate/audit", "/moderate/login"):
        html = mod.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert " on" + "click=" not in html


def test_post_without_csrf_token_is_refused_with_a_clear_page(app, mod):
    comment_id = add_comment(app, "blog")
    response = mod.client.post(f"/moderate/comments/{comment_id}/approve")
    assert response.status_code == 400
    assert "form has expired" in response.get_data(as_text=True)
    assert get(app, Comment, comment_id).status == "pending"


def test_post_with_a_forged_csrf_token_is_refused(app, mod):
    comment_id = add_comment(app, "blog")
    response = mod.post(f"/moderate/comments/{comment_id}/approve", {"csrf_token": "forged"})
    assert response.status_code == 400


def test_public_api_needs_no_csrf_token(app, client, two_sites):
    from tests.conftest import Reader

    assert Reader(client, "blog").post().status_code == 201


def test_signing_out_ends_the_session(app, mod):
    response = mod.post("/moderate/logout")
    assert response.status_code == 303
    assert mod.get("/moderate/").status_code == 303


def test_changing_the_password_signs_out_other_sessions(app, mod):
    from service.extensions import db
    from service.models import Moderator
    from service.moderation import auth

    with app.app_context():
        moderator = db.session.scalar(db.select(Moderator).where(Moderator.email == "mod@example.org"))
        auth.set_password(moderator, "another long password")
        db.session.commit()
    assert mod.get("/moderate/").status_code == 303


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/api/threads", "/\\evil.example"])
def test_sign_in_never_redirects_outside_the_moderation_area(app, client, two_sites, target):
    add_moderator(app, "someone@example.org", sites=["blog"])
    response = client.post("/moderate/login", data={"email": "someone@example.org", "password": PASSWORD,
                                                    "next": target, "csrf_token": csrf_token(client)})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/moderate/")
