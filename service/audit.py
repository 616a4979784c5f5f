"""The audit log: every change of a comment's status is written down."""

from __future__ import annotations

from .extensions import db
from .models import Comment, ModerationEvent, Moderator


def record(
    comment: Comment,
    action: str,
    *,
    from_status: str | None = None,
    to_status: str | None = None,
    moderator: Moderator | None = None,
    actor: str | None = None,
    detail: str = "",
) -> ModerationEvent:
    """Add an event for ``comment`` to the current transaction."""
    event = ModerationEvent(
        site_id=comment.site_id,
        comment=comment,
        # The thread object, not its id: a first comment's thread has no id
        # until the flush.
        thread=comment.thread,
        moderator_id=moderator.id if moderator else None,
        actor=actor or (moderator.email if moderator else "system"),
        action=action,
        from_status=from_status,
        to_status=to_status,
        detail=detail,
    )
    db.session.add(event)
    return event
