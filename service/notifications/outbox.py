"""The outbox: one row per delivery, written in the transaction of the change
that causes it.

Each row is one delivery (one email to one address, or one webhook call), so
a failure retries only what failed.  :func:`add` is the only writer of new
rows.  A worker claims a due row with a lease, delivers it (see delivery)
and, on failure, retries with exponential backoff; a dead SMTP server delays
mail, it loses none.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from .. import links
from ..choices import Delivery
from ..extensions import db, rowcount
from ..models import Comment, Outbox, UsedToken, utcnow

MAX_ATTEMPTS = 15
FIRST_RETRY = 60  # seconds; doubles on each failure
MAX_RETRY = 6 * 3600
LEASE = timedelta(minutes=5)
KEEP_SENT = timedelta(days=30)


class PermanentError(Exception):
    """A delivery that can never succeed (unknown channel): not retried."""


def add(site_id: int | None, topic: str, channel: str, *, due: datetime | None = None, **payload: Any) -> Outbox:
    """Queue one delivery on ``channel`` in the caller's transaction.

    ``due``: when the worker may send it (now, by default); ``payload``: what
    the channel's delivery reads.
    """
    entry = Outbox(site_id=site_id, topic=topic, payload={**payload, "channel": channel})
    if due is not None:
        entry.next_attempt_at = due
    db.session.add(entry)
    return entry


def comment_of(entry: Outbox) -> Comment | None:
    """The comment an outbox row is about, if it still exists."""
    comment_id = entry.payload.get("comment_id")
    return db.session.get(Comment, comment_id) if isinstance(comment_id, int) else None


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after ``attempts`` failures: 1, 2, 4 ... minutes, at most 6 hours."""
    return timedelta(seconds=min(FIRST_RETRY * 2 ** max(0, attempts - 1), MAX_RETRY))


def claim(entry_id: int, now: datetime) -> bool:
    """Take a lease on a row so that parallel workers never send it twice.

    A worker that dies mid-delivery leaves the lease to expire, and the row
    is tried again.
    """
    claimed = rowcount(db.session.execute(
        sa.update(Outbox)
        .where(Outbox.id == entry_id, Outbox.status == Delivery.PENDING, Outbox.next_attempt_at <= now)
        .values(next_attempt_at=now + LEASE)
    ))
    db.session.commit()
    return claimed == 1


def housekeeping(now: datetime) -> None:
    """Forget deliveries sent long ago, and spent link ids whose links have expired anyway."""
    db.session.execute(sa.delete(Outbox).where(Outbox.status == Delivery.SENT, Outbox.sent_at < now - KEEP_SENT))
    db.session.execute(sa.delete(UsedToken).where(
        UsedToken.used_at < now - timedelta(seconds=links.MODERATION_MAX_AGE + 3600)))
    db.session.commit()


def retry_failed() -> int:
    """Put every failed delivery back in the queue (after fixing the mail server, say)."""
    count = rowcount(db.session.execute(
        sa.update(Outbox).where(Outbox.status == Delivery.FAILED)
        .values(status=Delivery.PENDING, attempts=0, next_attempt_at=utcnow())
    ))
    db.session.commit()
    return count
