"""Emails about replies (and a followed page's new comments) go only to an
address whose owner said yes.

Anyone can type anyone's address into the comment form.  Ticking "notify me"
therefore only asks: the address gets one email with a confirmation link,
and replies are emailed once its owner has followed it (double opt-in).  An
address that confirmed on a site is not asked again there for its later
comments, until it unsubscribes (the link in every such email, see
:func:`unsubscribe`).  One confirmation email a day at most goes to an
address per site, whatever is posted with it; its link confirms every
comment of that address on the site still waiting for a yes.

"The address confirmed" is only ever believed of the browser that holds the
proof: the commenter key (see hashing.commenter_key) of a comment whose
owner followed the link.  A stranger typing a confirmed address is asked
like anyone new, and a link confirms only the comments of the browser it
was sent for, never what a stranger posted with the same address.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from .. import mailer
from ..choices import Status
from ..extensions import db, rowcount
from ..models import Comment, Site, utcnow
from . import outbox

ASK_AGAIN_AFTER = timedelta(days=1)
# Rejected and spam comments get no answer, so no email goes out for them.
ASKING_STATUSES = (Status.APPROVED, Status.PENDING)
# A comment asks for email when it wants replies, or the page's new comments (it "follows" the page).
ASKED = sa.or_(Comment.notify.is_(True), Comment.follow.is_(True))


def asked(comment: Comment) -> bool:
    """Whether ``comment`` asks for reply or follow emails that :func:`ask` may
    have to start (otherwise it answers ``"off"`` and writes nothing)."""
    return bool((comment.notify or comment.follow) and comment.email_hash and comment.status in ASKING_STATUSES)


def ask(comment: Comment, site: Site) -> str:
    """Start reply notifications for a new comment that asked for them.

    Runs in the write path's transaction, after the comment is stored.
    Returns what the author is told: ``"on"`` (the address had confirmed on
    this site), ``"confirm"`` (an email asks, or asked less than a day ago) or
    ``"off"`` (nothing asked, no address, no email service, or a comment
    nobody will answer).
    """
    if not asked(comment):
        return "off"
    same_address = sa.and_(Comment.site_id == site.id, Comment.email_hash == comment.email_hash,
                           ASKED, Comment.id != comment.id)
    same_commenter = _same_commenter(comment)
    if db.session.scalar(sa.select(sa.exists().where(same_address, same_commenter,
                                                     Comment.notify_confirmed_at.is_not(None)))):
        comment.notify_confirmed_at = utcnow()
        db.session.execute(sa.update(Comment).where(Comment.id == comment.id)
                           .values(notify_confirmed_at=comment.notify_confirmed_at))
        return "on"
    if not mailer.configured():
        return "off"
    asked_lately = sa.exists().where(same_address, Comment.notify_confirmed_at.is_(None),
                                     Comment.status.in_(ASKING_STATUSES),
                                     Comment.created_at > comment.created_at - ASK_AGAIN_AFTER)
    if not db.session.scalar(sa.select(asked_lately)):
        # Delivered by the worker like every email (the "confirm" channel, see emails).
        outbox.add(site.id, "subscription.requested", "confirm", comment_id=comment.id,
                   event="subscription.requested")
    return "confirm"


def _same_commenter(comment: Comment) -> sa.ColumnElement[bool]:
    # Comments from before commenter keys existed (or imported) have none:
    # they go together by address, as they did then, but never with a
    # comment that has a key.
    if comment.commenter_hash is None:
        return Comment.commenter_hash.is_(None)
    return Comment.commenter_hash == comment.commenter_hash


def confirm(comment: Comment) -> int:
    """The address behind ``comment`` said yes: reply notifications start for
    every comment of it on the site, from the same browser, that asked for
    them.  Returns how many."""
    match = (sa.and_(Comment.site_id == comment.site_id, Comment.email_hash == comment.email_hash,
                     _same_commenter(comment))
             if comment.email_hash else Comment.id == comment.id)
    return rowcount(db.session.execute(
        sa.update(Comment).where(match, ASKED, Comment.notify_confirmed_at.is_(None))
        .values(notify_confirmed_at=utcnow()).execution_options(synchronize_session=False)
    ))


def unsubscribe(comment: Comment) -> int:
    """Stop reply notifications (and followed pages) for every comment of
    this author on the site; asking again later needs a new confirmation."""
    if comment.email_hash:
        match = sa.and_(Comment.site_id == comment.site_id, Comment.email_hash == comment.email_hash)
    else:
        match = Comment.id == comment.id
    return rowcount(db.session.execute(
        sa.update(Comment).where(match, ASKED)
        .values(notify=False, follow=False, notify_confirmed_at=None)
        .execution_options(synchronize_session=False)
    ))
