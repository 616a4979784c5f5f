"""The audit log: every change of a comment's status is written down."""

from __future__ import annotations

from .extensions import db
from .models import Comment, ModerationEvent, Moderator

_EVENTS = ModerationEvent.__table__


def record(
    comment: Comment,
    action: str,
    *,
    from_status: str | None = None,
    to_status: str | None = None,
    moderator: Moderator | None = None,
    actor: str | None = None,
    detail: str = "",
) -> None:
    """Write an event for ``comment`` in the current transaction.

    The row is inserted at once as a Core statement: nothing ever changes an
    event afterwards, so the unit of work has nothing to track, and every
    post writes one.
    """
    if comment.id is None:
        db.session.flush()  # a comment added just now gets its id
    db.session.execute(_EVENTS.insert(), {
        "site_id": comment.site_id,
        "comment_id": comment.id,
        "thread_id": comment.thread_id,
        "moderator_id": moderator.id if moderator else None,
        "actor": actor or (moderator.email if moderator else "system"),
        "action": action,
        "from_status": from_status,
        "to_status": to_status,
        "detail": detail,
    })
