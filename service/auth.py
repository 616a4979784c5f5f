"""Moderator accounts: password hashing, sign-in, and the session.

Passwords are hashed with Werkzeug's scrypt.  The session holds the
moderator's id and a fingerprint of their password hash, so changing a
password signs out every other browser.  Sign-in attempts are rate-limited
per client address and per account name (see the moderation views).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import abort, g, redirect, request, session, url_for
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import db
from .models import Moderator, utcnow

# Checked against when the email is unknown, so that a wrong address costs
# the same time as a wrong password and does not reveal who has an account.
_DUMMY_HASH = generate_password_hash("causerie-timing-equaliser", method="scrypt")
SESSION_KEY = "moderator_id"
FINGERPRINT_KEY = "auth"


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password``."""
    return generate_password_hash(password, method="scrypt")


def authenticate(email: str, password: str) -> Moderator | None:
    """The moderator with this email and password, or None."""
    email = (email or "").strip().lower()
    moderator = db.session.scalar(sa.select(Moderator).where(Moderator.email == email)) if email else None
    if moderator is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    return moderator if check_password_hash(moderator.password_hash, password or "") else None


def _fingerprint(moderator: Moderator) -> str:
    return hashlib.sha256(moderator.password_hash.encode()).hexdigest()[:16]


def login(moderator: Moderator) -> None:
    """Start a fresh session for ``moderator`` (a new session defeats fixation)."""
    session.clear()
    session[SESSION_KEY] = moderator.id
    session[FINGERPRINT_KEY] = _fingerprint(moderator)
    session.permanent = True
    moderator.last_login_at = utcnow()
    db.session.commit()


def logout() -> None:
    """Forget the signed-in moderator."""
    session.clear()


def current_moderator() -> Moderator | None:
    """The signed-in moderator of this request, or None."""
    if "moderator" not in g:
        g.moderator = None
        moderator_id = session.get(SESSION_KEY)
        if isinstance(moderator_id, int):
            moderator = db.session.get(Moderator, moderator_id)
            if moderator is not None and hmac.compare_digest(
                str(session.get(FINGERPRINT_KEY, "")), _fingerprint(moderator)
            ):
                g.moderator = moderator
    return g.moderator


def login_required(view):
    """Send signed-out visitors to the sign-in page, remembering where they were going."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if current_moderator() is None:
            target = request.full_path if request.method == "GET" else None
            return redirect(url_for("moderation.login", next=safe_next(target)), code=303)
        return view(*args, **kwargs)

    return wrapped


def admin_required(view):
    """Site settings and the site list are for admins only."""

    @functools.wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_moderator().is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path inside the moderation area, else None.

    Only local /moderate paths are followed after sign-in or an action, so a
    crafted link can never bounce a moderator to another site.
    """
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/moderate") or "\\" in target:
        return None
    return target.rstrip("?")
