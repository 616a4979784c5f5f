"""Signed one-click links sent by email.

A moderation link approves, rejects or marks a held comment as spam without
signing in; a confirmation link starts reply notifications that a reader
asked for, and an unsubscribe link stops them.  Links are signed
with the secret key (itsdangerous) and expire; moderation links are also
single-use: the three links of one email share an id that is written to
``UsedToken`` when one of them acts.  Opening a link (GET) only shows a
confirmation page: mail scanners fetch links, so only the button (POST) acts.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .extensions import db
from .models import UsedToken

SALT = "causerie-one-click"
MODERATION_ACTIONS = ("approve", "reject", "spam")
MODERATION_MAX_AGE = 7 * 24 * 3600
CONFIRM_MAX_AGE = 7 * 24 * 3600
UNSUBSCRIBE_MAX_AGE = 365 * 24 * 3600
MAX_AGES = {"moderate": MODERATION_MAX_AGE, "confirm": CONFIRM_MAX_AGE, "unsubscribe": UNSUBSCRIBE_MAX_AGE}


class LinkError(Exception):
    """A link that cannot act: forged (404), expired (410), already used (410),
    or asking about something withdrawn since (410)."""

    def __init__(self, status: int, reason: str, kind: str = "moderate"):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.kind = kind


@dataclass
class Link:
    """What a verified link says."""

    kind: str  # "moderate", "confirm" or "unsubscribe"
    comment_id: int
    action: str = ""
    recipient: str = ""
    jti: str = ""


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _base() -> str:
    base: str = current_app.config["CAUSERIE_PUBLIC_URL"]
    return base


def moderation_links(comment_id: int, recipient: str) -> dict[str, str]:
    """Approve / reject / spam URLs for one email, sharing one single-use id."""
    jti = secrets.token_urlsafe(12)
    serializer = _serializer()
    return {
        action: f"{_base()}/moderate/link/"
        + serializer.dumps({"k": "moderate", "c": comment_id, "a": action, "r": recipient, "j": jti})
        for action in MODERATION_ACTIONS
    }


def unsubscribe_link(comment_id: int) -> str:
    """The URL that stops reply notifications for the author of ``comment_id``."""
    return f"{_base()}/moderate/unsubscribe/" + _serializer().dumps({"k": "unsubscribe", "c": comment_id})


def confirm_link(comment_id: int) -> str:
    """The URL that starts reply notifications for the author of ``comment_id``."""
    return f"{_base()}/moderate/confirm/" + _serializer().dumps({"k": "confirm", "c": comment_id})


def read(token: str, kind: str) -> Link:
    """Verify ``token`` as a link of ``kind``; raise :class:`LinkError` if it cannot act."""
    max_age = MAX_AGES[kind]
    try:
        data = _serializer().loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise LinkError(410, "expired", kind) from exc
    except (BadSignature, ValueError, TypeError) as exc:
        raise LinkError(404, "invalid", kind) from exc
    if not isinstance(data, dict) or data.get("k") != kind or not isinstance(data.get("c"), int):
        raise LinkError(404, "invalid", kind)
    link = Link(kind=kind, comment_id=data["c"], action=str(data.get("a", "")),
                recipient=str(data.get("r", "")), jti=str(data.get("j", "")))
    if kind == "moderate":
        if link.action not in MODERATION_ACTIONS or not link.jti:
            raise LinkError(404, "invalid", kind)
        if db.session.get(UsedToken, link.jti) is not None:
            raise LinkError(410, "used", kind)
    return link


def spend(link: Link) -> None:
    """Mark a single-use link as used, in the caller's transaction.

    The primary key makes two concurrent clicks collide: the second one's
    commit fails instead of acting twice.
    """
    try:
        with db.session.begin_nested():
            db.session.add(UsedToken(jti=link.jti))
    except sa.exc.IntegrityError as exc:
        raise LinkError(410, "used") from exc
