"""The worker's pass over the outbox (``causerie worker``): schedule the
digests that are due, then deliver every due row once, each by the module
of its channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from ..choices import Delivery
from ..extensions import db
from ..models import Outbox, utcnow
from . import digests, emails, follow, outbox, webhooks

HOUSEKEEPING_EVERY = timedelta(hours=1)
CHANNELS = {
    "moderators": emails.held,
    "digest": digests.deliver,
    "reply": emails.reply,
    "confirm": emails.confirmation,
    "follow": follow.fan_out,
    "followed": follow.deliver,
    "webhook": webhooks.deliver,
}


@dataclass
class RunResult:
    """What one pass of the worker did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    digests: int = 0


_last_housekeeping: list[datetime] = []


def run_once(now: datetime | None = None, batch: int = 100) -> RunResult:
    """Schedule due digests, then deliver every due outbox row once."""
    now = now or utcnow()
    if not _last_housekeeping or now - _last_housekeeping[0] >= HOUSEKEEPING_EVERY:
        outbox.housekeeping(now)
        _last_housekeeping[:] = [now]
    result = RunResult(digests=digests.schedule(now))
    # A followed page's row turns into one email per follower: those go out in the same run.
    if _deliver_due(now, batch, result):
        _deliver_due(now, batch, result)
    return result


def deliver(entry: Outbox) -> None:
    """Perform one delivery; raise to have it retried."""
    channel = entry.payload.get("channel")
    handler = CHANNELS.get(str(channel))
    if handler is None:
        raise outbox.PermanentError(f"unknown channel {channel!r}")
    handler(entry)


def _deliver_due(now: datetime, batch: int, result: RunResult) -> bool:
    """Deliver the rows due now; whether a followed page's emails were queued meanwhile."""
    fanned_out = False
    due = db.session.scalars(
        sa.select(Outbox.id).where(Outbox.status == Delivery.PENDING, Outbox.next_attempt_at <= now)
        .order_by(Outbox.next_attempt_at, Outbox.id).limit(batch)
    ).all()
    db.session.commit()
    for entry_id in due:
        if not outbox.claim(entry_id, now):
            continue  # another worker has it
        entry = db.session.get_one(Outbox, entry_id)
        try:
            deliver(entry)
        except outbox.PermanentError as exc:
            entry.status, entry.last_error = Delivery.FAILED, str(exc)[:2000]
            result.failed += 1
        except Exception as exc:  # noqa: BLE001 - any failure of a delivery is retried later
            db.session.rollback()
            entry = db.session.get_one(Outbox, entry_id)
            entry.attempts += 1
            entry.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if entry.attempts >= outbox.MAX_ATTEMPTS:
                entry.status = Delivery.FAILED
                result.failed += 1
                current_app.logger.error("Outbox %s failed for good: %s", entry.id, entry.last_error)
            else:
                entry.next_attempt_at = now + outbox.backoff(entry.attempts)
                result.retried += 1
                current_app.logger.warning("Outbox %s will be retried: %s", entry.id, entry.last_error)
        else:
            entry.status, entry.sent_at, entry.last_error = Delivery.SENT, utcnow(), None
            result.sent += 1
            fanned_out = fanned_out or entry.payload.get("channel") == "follow"
        db.session.commit()
    return fanned_out
