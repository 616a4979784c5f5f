"""The audit log: every change of a comment's status is written down."""

from __future__ import annotations

from typing import Any

from .extensions import db
from .models import Comment, ModerationEvent, Moderator, utcnow

_EVENTS = ModerationEvent.__table__


def row(
    comment: Comment,
    action: str,
    *,
    from_status: str | None = None,
    to_status: str | None = None,
    moderator: Moderator | None = None,
    actor: str | None = None,
    detail: str = "",
) -> dict[str, Any]:
    """The audit event of ``action`` on ``comment``, as the columns of its row
    (but the comment's id, which a new comment gets from the database)."""
    return {
        "site_id": comment.site_id,
        "thread_id": comment.thread_id,
        "moderator_id": moderator.id if moderator else None,
        "actor": actor or (moderator.email if moderator else "system"),
        "action": action,
        "from_status": from_status,
        "to_status": to_status,
        "detail": detail,
        "created_at": utcnow(),
    }


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
    event afterwards, so the unit of work has nothing to track.
    """
    if comment.id is None:
        db.session.flush()  # a comment added just now gets its id
    write(row(comment, action, from_status=from_status, to_status=to_status, moderator=moderator, actor=actor,
              detail=detail), comment.id)


def write(event: dict[str, Any], comment_id: int | None) -> None:
    """Insert the event ``event`` (see :func:`row`) of the comment ``comment_id``."""
    db.session.execute(_EVENTS.insert(), {**event, "comment_id": comment_id})
