"""Moderator accounts: password hashing, sign-in, and the session.

Passwords are hashed with Werkzeug's scrypt.  A sign-in creates a
:class:`~service.models.ModeratorSession` row, and the signed session cookie
carries only a random token naming it.  Every request looks the row up, so a
session ends on the server when its moderator signs out, changes their
password (their other sessions), is signed out everywhere
(``causerie moderators revoke``) or removed, or when it reaches its lifetime
(``CAUSERIE_SESSION_LIFETIME``): a copy of the cookie is worth nothing after
that.  Sign-in attempts are rate-limited (see the moderation views).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import abort, current_app, g, redirect, request, session, url_for
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db, rowcount
from ..limits import MAX_PASSWORD, MIN_PASSWORD
from ..models import Moderator, ModeratorSession, utcnow

# Checked against when the email is unknown, so that a wrong address costs
# the same time as a wrong password and does not reveal who has an account.
_DUMMY_HASH = generate_password_hash("causerie-timing-equaliser", method="scrypt")
SESSION_KEY = "session_token"


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password``."""
    return generate_password_hash(password, method="scrypt")


def password_problem(password: str) -> str | None:
    """Why ``password`` cannot be a moderator's password (English, for the command line), or None."""
    if len(password) < MIN_PASSWORD:
        return f"The password must have at least {MIN_PASSWORD} characters."
    if len(password) > MAX_PASSWORD:
        return f"The password must have at most {MAX_PASSWORD} characters."
    return None


def authenticate(email: str, password: str) -> Moderator | None:
    """The moderator with this email and password, or None."""
    email = (email or "").strip().lower()
    moderator = db.session.scalar(sa.select(Moderator).where(Moderator.email == email)) if email else None
    if moderator is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    return moderator if check_password_hash(moderator.password_hash, password or "") else None


def _session_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def login(moderator: Moderator) -> None:
    """Start a fresh session for ``moderator`` (a new session defeats fixation)."""
    session.clear()
    now = utcnow()
    token = secrets.token_urlsafe(32)
    # The moderator's sessions that ran out are forgotten as a new one starts.
    db.session.execute(sa.delete(ModeratorSession).where(ModeratorSession.moderator_id == moderator.id,
                                                         ModeratorSession.expires_at <= now))
    db.session.add(ModeratorSession(id=_session_id(token), moderator_id=moderator.id, created_at=now,
                                    expires_at=now + current_app.permanent_session_lifetime))
    session[SESSION_KEY] = token
    session.permanent = True
    moderator.last_login_at = now
    db.session.commit()


def _current_session_id() -> str | None:
    token = session.get(SESSION_KEY)
    return _session_id(token) if isinstance(token, str) else None


def logout() -> None:
    """End this browser's session, on the server too, and forget it."""
    session_id = _current_session_id()
    if session_id is not None:
        db.session.execute(sa.delete(ModeratorSession).where(ModeratorSession.id == session_id))
        db.session.commit()
    session.clear()


def end_sessions(moderator: Moderator, keep_current: bool = False) -> int:
    """Sign ``moderator`` out everywhere (but in this browser, if ``keep_current``);
    returns how many sessions ended.  The caller commits."""
    query = sa.delete(ModeratorSession).where(ModeratorSession.moderator_id == moderator.id)
    current = _current_session_id() if keep_current else None
    if current is not None:
        query = query.where(ModeratorSession.id != current)
    return rowcount(db.session.execute(query))


def other_sessions(moderator: Moderator) -> int:
    """How many unexpired sessions ``moderator`` has besides this browser's."""
    return db.session.scalar(
        sa.select(sa.func.count(ModeratorSession.id))
        .where(ModeratorSession.moderator_id == moderator.id, ModeratorSession.expires_at > utcnow(),
               ModeratorSession.id != (_current_session_id() or ""))) or 0


def set_password(moderator: Moderator, password: str, keep_current: bool = False) -> int:
    """Give ``moderator`` a new password and end their sessions (but this
    browser's, if ``keep_current``); returns how many ended.  The caller commits."""
    moderator.password_hash = hash_password(password)
    return end_sessions(moderator, keep_current=keep_current)


def change_own_password(moderator: Moderator, current: str, new: str) -> bool:
    """The signed-in ``moderator`` changes their password, proving they know
    the current one; their other sessions end.  False if ``current`` is wrong."""
    if not check_password_hash(moderator.password_hash, current or ""):
        return False
    set_password(moderator, new, keep_current=True)
    return True


def current_moderator() -> Moderator | None:
    """The signed-in moderator of this request, or None."""
    if "moderator" not in g:
        g.moderator = None
        session_id = _current_session_id()
        if session_id is not None:
            g.moderator = db.session.scalar(
                sa.select(Moderator).join(ModeratorSession)
                .where(ModeratorSession.id == session_id, ModeratorSession.expires_at > utcnow()))
    return g.moderator


def signed_in_moderator() -> Moderator:
    """The signed-in moderator, in a view that :func:`login_required` guards."""
    moderator = current_moderator()
    assert moderator is not None, "a view that needs a moderator is guarded by login_required"
    return moderator


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
        if not signed_in_moderator().is_admin:
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
