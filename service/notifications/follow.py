"""Following a page: its new comments, grouped into at most one email per
page and hour for each confirmed follower.

A published comment schedules one ``follow`` row per page (:func:`schedule`);
when it is due, :func:`fan_out` turns it into one ``followed`` email per
follower, each with what was published since they were last told.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import render_template
from flask_babel import force_locale, ngettext

from .. import links, mailer
from ..choices import Delivery, Status
from ..extensions import db
from ..models import Comment, ModerationEvent, Outbox, Site, utcnow
from . import emails, outbox, subscriptions

# A followed page's new comments are grouped: at most one email per page in this time.
EVERY = timedelta(hours=1)
LIMIT = 50


def _followers(thread_id: int) -> sa.Select[Any]:
    """The comments through which confirmed addresses follow a page."""
    return sa.select(Comment).where(Comment.thread_id == thread_id, Comment.follow.is_(True),
                                    Comment.notify_confirmed_at.is_not(None), Comment.email.is_not(None),
                                    Comment.status.in_(subscriptions.ASKING_STATUSES))


def _first_publication(comment: Comment) -> bool:
    if comment.status != Status.APPROVED:
        return False
    approvals = db.session.scalar(
        sa.select(sa.func.count(ModerationEvent.id))
        .where(ModerationEvent.comment_id == comment.id, ModerationEvent.to_status == Status.APPROVED)) or 0
    return approvals <= 1


def schedule(comment: Comment, site: Site) -> None:
    """A comment was published: make sure the page's followers will hear of
    it, in the page's next grouped email (at most one per :data:`EVERY`)."""
    others = _followers(comment.thread_id).where(
        sa.or_(Comment.email_hash.is_(None), Comment.email_hash != comment.email_hash)
        if comment.email_hash else sa.true())
    if not db.session.scalar(sa.select(sa.exists(others))) or not _first_publication(comment):
        return
    topic = f"follow:{comment.thread_id}"
    if db.session.scalar(sa.select(sa.exists().where(Outbox.topic == topic, Outbox.status == Delivery.PENDING))):
        return  # the next email of this page will tell about it too
    last = db.session.scalar(sa.select(sa.func.max(Outbox.created_at)).where(Outbox.topic == topic))
    now = utcnow()
    outbox.add(site.id, topic, "follow", due=max(now, last + EVERY) if last else now, thread_id=comment.thread_id)


def fan_out(entry: Outbox) -> None:
    """Deliver a ``follow`` row: one ``followed`` delivery per follower,
    each with what was published since they were last told (in the same
    transaction as the mark, so nothing is told twice or missed)."""
    thread_id = entry.payload["thread_id"]
    until = utcnow()
    by_address: dict[str, list[Comment]] = {}
    for follower in db.session.scalars(_followers(thread_id).order_by(Comment.id)):
        by_address.setdefault(follower.email_hash or follower.email.lower(), []).append(follower)
    for address, comments in by_address.items():
        since = max(c.followed_until or c.created_at for c in comments)
        published = (
            sa.select(Comment.id).join(ModerationEvent, ModerationEvent.comment_id == Comment.id)
            .where(Comment.thread_id == thread_id, Comment.status == Status.APPROVED,
                   ModerationEvent.to_status == Status.APPROVED, ModerationEvent.created_at > since,
                   ModerationEvent.created_at <= until,
                   sa.or_(Comment.email_hash.is_(None), Comment.email_hash != address))
            .group_by(Comment.id).order_by(Comment.id).limit(LIMIT)
        )
        ids = list(db.session.scalars(published))
        for comment in comments:
            comment.followed_until = until
        if ids:
            # Due as long as the page's row: sent in this same run of the worker.
            outbox.add(entry.site_id, "follow.email", "followed", due=entry.created_at,
                       comment_id=comments[-1].id, ids=ids)


def deliver(entry: Outbox) -> None:
    """Deliver a ``followed`` row: one follower's email of a page's new comments."""
    follower = outbox.comment_of(entry)
    # Checked again at delivery: unsubscribed, erased or removed meanwhile.
    if follower is None or not follower.follow or follower.notify_confirmed_at is None or not follower.email:
        return
    comments = db.session.scalars(sa.select(Comment).where(Comment.id.in_(entry.payload["ids"]),
                                                           Comment.status == Status.APPROVED)
                                  .order_by(Comment.created_at, Comment.id)).all()
    if not comments:
        return
    site, thread = follower.site, follower.thread
    unsubscribe = links.unsubscribe_link(follower.id)
    with force_locale(follower.language or site.language):
        body = render_template("moderation/email/followed.txt", comments=comments, site=site, url=thread.url,
                               unsubscribe=unsubscribe)
        subject = ngettext("%(num)s new comment on “%(title)s”", "%(num)s new comments on “%(title)s”",
                           len(comments), title=thread.title or thread.url)
    mailer.send(mailer.build(follower.email, subject, body, emails.unsubscribe_headers(unsubscribe)))
