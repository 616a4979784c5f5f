"""Notifications go through the outbox, written with the change that causes them."""

from __future__ import annotations

from .extensions import db
from .models import Comment, Outbox


def enqueue(topic: str, comment: Comment, **extra) -> Outbox:
    """Queue ``topic`` (``comment.created``, ``comment.moderated`` ...) for delivery.

    The row is part of the caller's transaction, so a notification exists if
    and only if the change it announces was committed.
    """
    if comment.id is None:
        db.session.flush()
    entry = Outbox(site_id=comment.site_id, topic=topic, payload={"comment_id": comment.id, **extra})
    db.session.add(entry)
    return entry
