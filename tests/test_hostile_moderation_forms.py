"""Naughty strings in every form field and query parameter of the moderation UI.

A moderator's browser is a client too: nothing it can send may produce a
5xx, on SQLite or on PostgreSQL (which refuses NUL characters that SQLite
would store).  A staff edit or reply that is accepted is stored exactly; one
that is refused is refused with a 4xx and changes nothing.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from werkzeug.security import generate_password_hash

from service.extensions import db
from service.models import Comment, Moderator

from .access_table import csrf_token, sign_in
from .conftest import Reader, add_site
from .test_hostile_naughty_strings import EXTRA, NAUGHTY

PASSWORD = "correct horse battery staple"
STRINGS = [s for s in dict.fromkeys(EXTRA + NAUGHTY[::8]) if "\x00" not in s]
NUL_STRINGS = [s for s in EXTRA if "\x00" in s]
# Signing in checks a password hash (slow on purpose): a few of the worst strings are enough.
LOGIN_STRINGS = [s for s in EXTRA if len(s) < 200 and "\x00" not in s][:12]


@pytest.fixture
def desk(app):
    add_site(app, "blog", mode="post")
    comment = Reader(app.test_client(), "blog").post("A comment to moderate").get_json()["comment"]["id"]
    with app.app_context():
        db.session.add(Moderator(email="admin@example.org", is_admin=True,
                                 password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")))
        db.session.commit()
    client = app.test_client()
    assert sign_in(client, "admin@example.org", PASSWORD).status_code == 303
    return client, csrf_token(client, "/moderate/"), comment


def encoded(values: dict) -> bytes:
    """A form body as a hostile browser may send it: a lone surrogate becomes invalid UTF-8."""
    pairs = [(k, v) for k, vs in values.items() for v in (vs if isinstance(vs, list) else [vs])]
    return urlencode([(k, v.encode("utf-8", "surrogatepass")) for k, v in pairs]).encode("ascii")


def post(client, path, data):
    return client.post(path, data=encoded(data), content_type="application/x-www-form-urlencoded")


def valid_unicode(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def stored_text(app, comment_id):
    with app.app_context():
        return db.session.get(Comment, comment_id).text


def test_naughty_strings_in_moderation_pages_and_forms_never_cause_a_5xx(app, desk):
    accepted_edits = exercise_forms(app, desk, STRINGS)
    assert accepted_edits > len(STRINGS) // 2


def test_nul_characters_in_moderation_pages_and_forms_never_cause_a_5xx(app, desk):
    # PostgreSQL cannot store or even compare text holding NUL: it must be refused with a 4xx.
    exercise_forms(app, desk, NUL_STRINGS)
    exercise_login(app, NUL_STRINGS)


def test_naughty_strings_in_the_sign_in_form_never_cause_a_5xx(app, desk):
    exercise_login(app, LOGIN_STRINGS)


def exercise_forms(app, desk, strings) -> int:
    """Every string in every query parameter and form field; returns how many staff edits were accepted."""
    client, token, comment = desk
    accepted_edits = 0
    for n, value in enumerate(strings):
        for path, args in (
            ("/moderate/", {"q": value, "site": value, "view": value, "sort": value, "page": value}),
            ("/moderate/audit", {"site": value, "action": value, "actor": value, "comment": value, "page": value}),
            ("/moderate/stats", {"site": value, "days": value}),
            ("/moderate/stats.csv", {"site": value, "days": value}),
        ):
            response = client.get(path, query_string={k: v.encode("utf-8", "surrogatepass") for k, v in args.items()})
            assert response.status_code < 500, (path, repr(value[:60]), response.status_code)

        before = stored_text(app, comment)
        response = post(client, f"/moderate/comments/{comment}/edit", {"text": value, "csrf_token": token})
        assert response.status_code < 500, ("edit", repr(value[:60]), response.status_code)
        if response.status_code < 400:
            accepted_edits += 1
            # Stored as typed (a browser sends form line breaks as CRLF; the form may fold them).
            # Invalid UTF-8 (a lone surrogate) is kept percent-encoded by Werkzeug: not compared.
            folded = value.replace("\r\n", "\n")
            assert not valid_unicode(value) or stored_text(app, comment) in (
                value, folded, value.strip(), folded.strip()), repr(value[:60])
        else:
            assert stored_text(app, comment) == before, repr(value[:60])

        for path, data in (
            (f"/moderate/comments/{comment}/reply", {"text": value}),
            (f"/moderate/comments/{comment}/ban", {"reason": value, "duration": value, "by_email": "y"}),
            ("/moderate/bulk", {"action": value, "ids": [value, str(comment)]}),
            ("/moderate/sites/blog", {"name": value, "mode": "post", "origins": value, "banned_words": value,
                                      "suspect_words": value, "max_links": "3", "report_threshold": "3",
                                      "notify_emails": value, "digest": "instant", "language": "en",
                                      "webhook_url": value}),
            ("/moderate/sites/blog", {"name": f"Blog {n}", "mode": "post", "origins": "https://blog.example",
                                      "banned_words": value, "suspect_words": value, "max_links": "3",
                                      "report_threshold": "3", "digest": "instant", "language": "en"}),
        ):
            response = post(client, path, {**data, "csrf_token": token})
            assert response.status_code < 500, (path, repr(value[:60]), response.status_code)
        # A ban made by one string must not keep the next one from being tried.
        post(client, f"/moderate/comments/{comment}/unban", {"csrf_token": token})
    return accepted_edits


def exercise_login(app, strings) -> None:
    for value in strings:
        client = app.test_client()
        token = csrf_token(client)
        response = post(client, "/moderate/login", {"email": value, "password": value, "csrf_token": token,
                                                     "next": value})
        assert response.status_code in (400, 401), (repr(value[:60]), response.status_code)
