"""Helpers and fixtures shared by the moderation tests.

Import the fixtures by name in a test module (``from tests.moderation_helpers
import admin, ...``) to use them.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from service import hashing, sanitize
from service.extensions import db
from service.models import Comment, Moderator, Site, Thread, utcnow
from tests.access_table import csrf_token
from tests.conftest import ORIGIN, add_site

PASSWORD = "correct horse battery"
_hashes: dict[str, str] = {}


def password_hash(password: str) -> str:
    """A scrypt hash of a test password, made once per run.

    The work factor is a sixteenth of the service's (N=2**11 rather than
    2**15): checking the service's own hash takes ~120 ms, and every signed-in
    moderator of the suite is one such check.  The hash is still scrypt and is
    checked by the same code; the service's own strength is tested where
    passwords are set through it (test_moderation_auth, test_cli).
    """
    if password not in _hashes:
        _hashes[password] = generate_password_hash(password, method="scrypt:2048:8:1")
    return _hashes[password]


def add_moderator(app, email, sites=(), admin=False, password=PASSWORD, name="") -> int:
    """Create a moderator of ``sites`` (keys); returns the id."""
    with app.app_context():
        site_rows = [db.session.scalar(sa.select(Site).where(Site.key == key)) for key in sites]
        moderator = Moderator(email=email, name=name or email.split("@")[0], is_admin=admin, sites=site_rows,
                              password_hash=password_hash(password))
        db.session.add(moderator)
        db.session.commit()
        return moderator.id


def add_comment(app, site_key, text="A comment worth a look.", *, status="pending", url=f"{ORIGIN}/post",
                parent=None, email="reader@example.org", ip="203.0.113.9", age=timedelta(0), **fields) -> int:
    """Store a comment directly (thread created on demand); returns its id."""
    with app.app_context():
        site = db.session.scalar(sa.select(Site).where(Site.key == site_key))
        thread = db.session.scalar(sa.select(Thread).where(Thread.site_id == site.id, Thread.url == url))
        if thread is None:
            thread = Thread(site_id=site.id, url=url, title="A post")
            db.session.add(thread)
            db.session.flush()
        fields.setdefault("author", "Camille")
        fields.setdefault("created_at", utcnow() - age)
        comment = Comment(site_id=site.id, thread=thread, parent_id=parent, text=text, html=sanitize.render(text),
                          text_hash=hashing.text_fingerprint(text), status=status, email=email,
                          email_hash=hashing.email_hash(email), ip_hash=hashing.ip_hash(ip), **fields)
        db.session.add(comment)
        db.session.commit()
        return comment.id


def get(app, model, ident):
    """A fresh copy of a row, read in its own context."""
    with app.app_context():
        row = db.session.get(model, ident)
        if row is not None:
            db.session.expunge(row)
        return row


class Session:
    """A signed-in moderator's browser: adds the CSRF token to every form."""

    def __init__(self, client):
        self.client = client
        self.token = None

    def sign_in(self, email, password=PASSWORD):
        """Sign in through the real form."""
        token = csrf_token(self.client)
        response = self.client.post("/moderate/login", data={"email": email, "password": password,
                                                              "csrf_token": token})
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        self.token = csrf_token(self.client, "/moderate/")
        return self

    def get(self, path, **kw):
        """GET a page."""
        return self.client.get(path, **kw)

    def post(self, path, data=None, *, json=False, **kw):
        """POST a form with the CSRF token; ``json=True`` asks for the script's JSON answer."""
        data = dict(data or {})
        data.setdefault("csrf_token", self.token)
        headers = kw.pop("headers", {})
        if json:
            headers["Accept"] = "application/json"
        return self.client.post(path, data=data, headers=headers, **kw)


@pytest.fixture
def two_sites(app):
    """Two sites, ``blog`` and ``other``, both holding every comment."""
    add_site(app, "blog", mode="pre")
    add_site(app, "other", origins=("https://other.example",), mode="pre")
    return "blog", "other"


@pytest.fixture
def admin(app, two_sites):
    """A signed-in admin."""
    add_moderator(app, "admin@example.org", admin=True, name="Ada")
    return Session(app.test_client()).sign_in("admin@example.org")


@pytest.fixture
def mod(app, two_sites):
    """A signed-in moderator of ``blog`` only."""
    add_moderator(app, "mod@example.org", sites=["blog"], name="Mo")
    return Session(app.test_client()).sign_in("mod@example.org")
