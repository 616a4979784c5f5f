"""What a change to a comment calls for: the deliveries each event queues.

:func:`enqueue` runs inside the write path's transaction and only adds
outbox rows, so that nothing is announced that was not committed.
"""

from __future__ import annotations

from typing import Any

from .. import mailer
from ..choices import Digest, Status
from ..extensions import db
from ..models import Comment, Outbox, Site
from . import emails, follow, outbox

MODERATOR_TOPICS = ("comment.created", "comment.reported", "comment.edited")
WEBHOOK_TOPICS = ("comment.created", "comment.reported", "comment.moderated")


def expected(site: Site) -> bool:
    """Whether any change on ``site`` may call for a delivery: every one
    goes to its webhook or by email.  When not, :func:`enqueue` asks nothing
    of the database."""
    return bool(site.webhook_url) or mailer.configured()


def enqueue(topic: str, comment: Comment, *, site: Site | None = None, **extra: Any) -> list[Outbox]:
    """Queue the deliveries ``topic`` (``comment.created``, ``comment.moderated`` ...) calls for.

    The rows are part of the caller's transaction.  ``site`` spares a lookup
    when the caller holds the comment's site already.
    """
    if comment.id is None:
        db.session.flush()
    site = site or comment.site or db.session.get_one(Site, comment.site_id)
    if not expected(site):
        return []
    entries: list[Outbox] = []

    def add(channel: str, **more: Any) -> None:
        entries.append(outbox.add(site.id, topic, channel, comment_id=comment.id, event=topic, **extra, **more))

    if (topic in MODERATOR_TOPICS and comment.status == Status.PENDING and site.digest == Digest.INSTANT
            and mailer.configured()):
        for address in emails.recipients(site):
            add("moderators", to=address)
    if topic in WEBHOOK_TOPICS and site.webhook_url:
        add("webhook")
    if topic in ("comment.created", "comment.moderated") and emails.reply_to_notify(comment) and mailer.configured():
        add("reply")
    if topic in ("comment.created", "comment.moderated") and mailer.configured():
        follow.schedule(comment, site)
    return entries
