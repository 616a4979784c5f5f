"""The hourly or daily digest: one email per recipient listing the comments
that came to wait in the queue since the last one (a site's ``digest``
setting; "instant" sends an email per comment instead, see emails)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import render_template
from flask_babel import force_locale, ngettext

from .. import links, mailer
from ..choices import Digest, Status
from ..extensions import db, rowcount
from ..models import Comment, ModerationEvent, Outbox, Site
from . import emails, outbox

PERIODS: dict[str, timedelta] = {Digest.HOURLY: timedelta(hours=1), Digest.DAILY: timedelta(days=1)}
LIMIT = 50


def schedule(now: datetime) -> int:
    """Queue the hourly and daily digests that are due; return how many emails were queued."""
    if not mailer.configured():
        return 0
    queued = 0
    for site in db.session.scalars(sa.select(Site).where(Site.digest.in_(tuple(PERIODS)))).all():
        since = site.last_digest_at
        if since is not None and now - since < PERIODS[site.digest]:
            continue
        # The conditional update makes one worker (of many) the one that sends it.
        taken = rowcount(db.session.execute(
            sa.update(Site).where(Site.id == site.id,
                                  Site.last_digest_at.is_(None) if since is None else Site.last_digest_at == since)
            .values(last_digest_at=now)
        ))
        if taken != 1:
            db.session.rollback()
            continue
        waiting = db.session.scalar(_held_query(site.id, since, now).with_only_columns(sa.func.count(Comment.id)))
        if waiting:
            for address in emails.recipients(site):
                outbox.add(site.id, "digest", "digest", due=now, to=address,
                           since=since.isoformat() if since else None, until=now.isoformat())
                queued += 1
        db.session.commit()
    return queued


def _held_query(site_id: int, since: datetime | None, until: datetime) -> sa.Select[Any]:
    """Pending comments that arrived, or were sent back by readers' reports
    or their author's edit, in the period."""
    query = sa.select(Comment).where(Comment.site_id == site_id, Comment.status == Status.PENDING,
                                     Comment.created_at <= until)
    if since is None:
        return query
    sends_back = sa.or_(ModerationEvent.action == "reported",
                        sa.and_(ModerationEvent.action == "edited", ModerationEvent.from_status == Status.APPROVED,
                                ModerationEvent.to_status == Status.PENDING))
    sent_back = sa.select(ModerationEvent.comment_id).where(
        ModerationEvent.site_id == site_id, sends_back,
        ModerationEvent.created_at > since, ModerationEvent.created_at <= until)
    return query.where(sa.or_(Comment.created_at > since, Comment.id.in_(sent_back)))


def deliver(entry: Outbox) -> None:
    """Deliver a ``digest`` row: what is still waiting of the period's comments."""
    site = db.session.get(Site, entry.site_id)
    if site is None:
        return
    since = datetime.fromisoformat(entry.payload["since"]) if entry.payload.get("since") else None
    until = datetime.fromisoformat(entry.payload["until"])
    held = db.session.scalars(_held_query(site.id, since, until).order_by(Comment.created_at)
                              .limit(LIMIT)).all()
    if not held:
        return  # all decided meanwhile
    backlog = db.session.scalar(sa.select(sa.func.count(Comment.id))
                                .where(Comment.site_id == site.id, Comment.status == Status.PENDING)) or 0
    address = entry.payload["to"]
    items = [(c, links.moderation_links(c.id, address)) for c in held]
    with force_locale(site.language):
        body = render_template("moderation/email/digest.txt", site=site, items=items, backlog=backlog,
                               queue_url=emails.queue_url(), more=max(0, backlog - len(held)))
        subject = ngettext("[%(site)s] %(num)s comment waiting", "[%(site)s] %(num)s comments waiting",
                           len(held), site=emails.site_name(site))
    mailer.send(mailer.build(address, subject, body))
