"""Notifications, through an outbox written with the change that causes them.

:func:`enqueue` runs inside the write path's transaction and only adds rows:
a notification exists if and only if the change it announces was committed,
and a reader's post never waits for a mail server.  Each row is one delivery
(one email to one address, or one webhook call), so a failure retries only
what failed.  :func:`run_once` (the ``causerie worker`` command) claims due
rows, delivers them and, on failure, retries with exponential backoff; a dead
SMTP server delays mail, it loses none.

Channels:

``moderators``  an email per held or reported comment, or published comment
                its author's edit sent back to the queue (site digest "instant")
``digest``      an hourly or daily summary of what is waiting
``reply``       tells a commenter who asked for it that someone answered
``confirm``     asks an address whether it wants those emails (see subscriptions)
``follow``      a followed page's new comments: one row per page and hour, which
                becomes one ``followed`` email per follower when it is due
``webhook``     a signed JSON POST for new and moderated comments
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale, gettext, ngettext

from .. import hashing, links, mailer, netguard
from . import subscriptions
from ..extensions import db
from ..models import Comment, ModerationEvent, Moderator, Outbox, Site, UsedToken, moderator_sites, utcnow

MODERATOR_TOPICS = ("comment.created", "comment.reported", "comment.edited")
WEBHOOK_TOPICS = ("comment.created", "comment.reported", "comment.moderated")
DIGEST_PERIODS = {"hourly": timedelta(hours=1), "daily": timedelta(days=1)}
MAX_ATTEMPTS = 15
FIRST_RETRY = 60  # seconds; doubles on each failure
MAX_RETRY = 6 * 3600
LEASE = timedelta(minutes=5)
KEEP_SENT = timedelta(days=30)
# A followed page's new comments are grouped: at most one email per page in this time.
FOLLOW_EVERY = timedelta(hours=1)
FOLLOW_LIMIT = 50
HOUSEKEEPING_EVERY = timedelta(hours=1)
DIGEST_LIMIT = 50
WEBHOOK_TIMEOUT = 10  # seconds for a whole delivery, however slowly the receiver answers
SIGNATURE_HEADER = "Causerie-Signature"


class PermanentError(Exception):
    """A delivery that can never succeed (unknown channel): not retried."""


# --------------------------------------------------------------------- enqueue


def enqueue(topic: str, comment: Comment, *, site: Site | None = None, **extra) -> list[Outbox]:
    """Queue the deliveries ``topic`` (``comment.created``, ``comment.moderated`` ...) calls for.

    The rows are part of the caller's transaction.  ``site`` spares a lookup
    when the caller holds the comment's site already.
    """
    if comment.id is None:
        db.session.flush()
    site = site or comment.site or db.session.get(Site, comment.site_id)
    base = {"comment_id": comment.id, "event": topic, **extra}
    entries: list[Outbox] = []

    def add(channel: str, **more) -> None:
        entries.append(Outbox(site_id=site.id, topic=topic, payload={**base, "channel": channel, **more}))

    if topic in MODERATOR_TOPICS and comment.status == "pending" and site.digest == "instant" and mailer.configured():
        for address in recipients(site):
            add("moderators", to=address)
    if topic in WEBHOOK_TOPICS and site.webhook_url:
        add("webhook")
    if topic in ("comment.created", "comment.moderated") and _reply_to_notify(comment) and mailer.configured():
        add("reply")
    db.session.add_all(entries)
    if topic in ("comment.created", "comment.moderated") and mailer.configured():
        _schedule_follow(comment, site)
    return entries


def recipients(site: Site) -> list[str]:
    """Who hears about held comments: the site's addresses, else its moderators."""
    if site.notify_emails:
        return sorted({e.strip().lower() for e in site.notify_emails if e and "@" in e})
    return list(db.session.scalars(
        sa.select(Moderator.email).join(moderator_sites, moderator_sites.c.moderator_id == Moderator.id)
        .where(moderator_sites.c.site_id == site.id).order_by(Moderator.email)
    ))


def _parent_to_notify(comment: Comment) -> Comment | None:
    """The parent whose author asked to hear about replies such as this published one."""
    if comment.status != "approved" or comment.parent_id is None:
        return None
    parent = comment.parent or db.session.get(Comment, comment.parent_id)
    if parent is None or not parent.notify or not parent.email or parent.status != "approved":
        return None
    if parent.notify_confirmed_at is None:
        return None  # the address never said yes (see subscriptions)
    if parent.email_hash and parent.email_hash == comment.email_hash:
        return None  # nobody needs telling that they answered themselves
    return parent


def _reply_to_notify(comment: Comment) -> Comment | None:
    """:func:`_parent_to_notify`, on the reply's first publication only."""
    parent = _parent_to_notify(comment)
    if parent is None:
        return None
    approvals = db.session.scalar(
        sa.select(sa.func.count(ModerationEvent.id))
        .where(ModerationEvent.comment_id == comment.id, ModerationEvent.to_status == "approved")
    )
    # A comment approved, rejected and approved again has been announced already.
    return parent if approvals <= 1 else None


def _followers(thread_id: int):
    """The comments through which confirmed addresses follow a page."""
    return sa.select(Comment).where(Comment.thread_id == thread_id, Comment.follow.is_(True),
                                    Comment.notify_confirmed_at.is_not(None), Comment.email.is_not(None),
                                    Comment.status.in_(subscriptions.ASKING_STATUSES))


def _first_publication(comment: Comment) -> bool:
    if comment.status != "approved":
        return False
    approvals = db.session.scalar(
        sa.select(sa.func.count(ModerationEvent.id))
        .where(ModerationEvent.comment_id == comment.id, ModerationEvent.to_status == "approved"))
    return approvals <= 1


def _schedule_follow(comment: Comment, site: Site) -> None:
    """A comment was published: make sure the page's followers will hear of
    it, in the page's next grouped email (at most one per FOLLOW_EVERY)."""
    others = _followers(comment.thread_id).where(
        sa.or_(Comment.email_hash.is_(None), Comment.email_hash != comment.email_hash)
        if comment.email_hash else sa.true())
    if not db.session.scalar(sa.select(sa.exists(others))) or not _first_publication(comment):
        return
    topic = f"follow:{comment.thread_id}"
    if db.session.scalar(sa.select(sa.exists().where(Outbox.topic == topic, Outbox.status == "pending"))):
        return  # the next email of this page will tell about it too
    last = db.session.scalar(sa.select(sa.func.max(Outbox.created_at)).where(Outbox.topic == topic))
    now = utcnow()
    db.session.add(Outbox(site_id=site.id, topic=topic, next_attempt_at=max(now, last + FOLLOW_EVERY) if last else now,
                          payload={"channel": "follow", "thread_id": comment.thread_id}))


# --------------------------------------------------------------------- worker


@dataclass
class RunResult:
    """What one pass of the worker did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    digests: int = 0


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after ``attempts`` failures: 1, 2, 4 ... minutes, at most 6 hours."""
    return timedelta(seconds=min(FIRST_RETRY * 2 ** max(0, attempts - 1), MAX_RETRY))


_last_housekeeping: list[datetime] = []


def run_once(now: datetime | None = None, batch: int = 100) -> RunResult:
    """Schedule due digests, then deliver every due outbox row once."""
    now = now or utcnow()
    if not _last_housekeeping or now - _last_housekeeping[0] >= HOUSEKEEPING_EVERY:
        housekeeping(now)
        _last_housekeeping[:] = [now]
    result = RunResult(digests=schedule_digests(now))
    # A followed page's row turns into one email per follower: those go out in the same run.
    if _deliver_due(now, batch, result):
        _deliver_due(now, batch, result)
    return result


def _deliver_due(now: datetime, batch: int, result: RunResult) -> bool:
    """Deliver the rows due now; whether a followed page's emails were queued meanwhile."""
    fanned_out = False
    due = db.session.scalars(
        sa.select(Outbox.id).where(Outbox.status == "pending", Outbox.next_attempt_at <= now)
        .order_by(Outbox.next_attempt_at, Outbox.id).limit(batch)
    ).all()
    db.session.commit()
    for entry_id in due:
        if not _claim(entry_id, now):
            continue  # another worker has it
        entry = db.session.get(Outbox, entry_id)
        try:
            deliver(entry)
        except PermanentError as exc:
            entry.status, entry.last_error = "failed", str(exc)[:2000]
            result.failed += 1
        except Exception as exc:  # noqa: BLE001 - any failure of a delivery is retried later
            db.session.rollback()
            entry = db.session.get(Outbox, entry_id)
            entry.attempts += 1
            entry.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if entry.attempts >= MAX_ATTEMPTS:
                entry.status = "failed"
                result.failed += 1
                current_app.logger.error("Outbox %s failed for good: %s", entry.id, entry.last_error)
            else:
                entry.next_attempt_at = now + backoff(entry.attempts)
                result.retried += 1
                current_app.logger.warning("Outbox %s will be retried: %s", entry.id, entry.last_error)
        else:
            entry.status, entry.sent_at, entry.last_error = "sent", utcnow(), None
            result.sent += 1
            fanned_out = fanned_out or entry.payload.get("channel") == "follow"
        db.session.commit()
    return fanned_out


def _claim(entry_id: int, now: datetime) -> bool:
    """Take a lease on a row so that parallel workers never send it twice.

    A worker that dies mid-delivery leaves the lease to expire, and the row
    is tried again.
    """
    claimed = db.session.execute(
        sa.update(Outbox)
        .where(Outbox.id == entry_id, Outbox.status == "pending", Outbox.next_attempt_at <= now)
        .values(next_attempt_at=now + LEASE)
    ).rowcount
    db.session.commit()
    return claimed == 1


def housekeeping(now: datetime) -> None:
    """Forget deliveries sent long ago, and spent link ids whose links have expired anyway."""
    db.session.execute(sa.delete(Outbox).where(Outbox.status == "sent", Outbox.sent_at < now - KEEP_SENT))
    db.session.execute(sa.delete(UsedToken).where(
        UsedToken.used_at < now - timedelta(seconds=links.MODERATION_MAX_AGE + 3600)))
    db.session.commit()


def retry_failed() -> int:
    """Put every failed delivery back in the queue (after fixing the mail server, say)."""
    count = db.session.execute(
        sa.update(Outbox).where(Outbox.status == "failed")
        .values(status="pending", attempts=0, next_attempt_at=utcnow())
    ).rowcount
    db.session.commit()
    return count


def schedule_digests(now: datetime) -> int:
    """Queue the hourly and daily digests that are due; return how many emails were queued."""
    if not mailer.configured():
        return 0
    queued = 0
    for site in db.session.scalars(sa.select(Site).where(Site.digest.in_(tuple(DIGEST_PERIODS)))).all():
        since = site.last_digest_at
        if since is not None and now - since < DIGEST_PERIODS[site.digest]:
            continue
        # The conditional update makes one worker (of many) the one that sends it.
        taken = db.session.execute(
            sa.update(Site).where(Site.id == site.id,
                                  Site.last_digest_at.is_(None) if since is None else Site.last_digest_at == since)
            .values(last_digest_at=now)
        ).rowcount
        if taken != 1:
            db.session.rollback()
            continue
        waiting = db.session.scalar(_held_query(site.id, since, now).with_only_columns(sa.func.count(Comment.id)))
        if waiting:
            for address in recipients(site):
                db.session.add(Outbox(site_id=site.id, topic="digest", next_attempt_at=now, payload={
                    "channel": "digest", "to": address, "since": since.isoformat() if since else None,
                    "until": now.isoformat()}))
                queued += 1
        db.session.commit()
    return queued


def _held_query(site_id: int, since: datetime | None, until: datetime):
    """Pending comments that arrived, or were sent back by readers' reports
    or their author's edit, in the period."""
    query = sa.select(Comment).where(Comment.site_id == site_id, Comment.status == "pending",
                                     Comment.created_at <= until)
    if since is None:
        return query
    sends_back = sa.or_(ModerationEvent.action == "reported",
                        sa.and_(ModerationEvent.action == "edited", ModerationEvent.from_status == "approved",
                                ModerationEvent.to_status == "pending"))
    sent_back = sa.select(ModerationEvent.comment_id).where(
        ModerationEvent.site_id == site_id, sends_back,
        ModerationEvent.created_at > since, ModerationEvent.created_at <= until)
    return query.where(sa.or_(Comment.created_at > since, Comment.id.in_(sent_back)))


# --------------------------------------------------------------------- deliveries


def deliver(entry: Outbox) -> None:
    """Perform one delivery; raise to have it retried."""
    channel = entry.payload.get("channel")
    handler = {"moderators": _email_moderator, "digest": _email_digest, "reply": _email_reply,
               "confirm": _email_confirm, "follow": _follow_page, "followed": _email_followed,
               "webhook": _post_webhook}.get(channel)
    if handler is None:
        raise PermanentError(f"unknown channel {channel!r}")
    handler(entry)


def _comment(entry: Outbox) -> Comment | None:
    comment_id = entry.payload.get("comment_id")
    return db.session.get(Comment, comment_id) if isinstance(comment_id, int) else None


def _queue_url(comment: Comment | None = None) -> str:
    base = current_app.config["CAUSERIE_PUBLIC_URL"] + "/moderate/"
    return f"{base}comments/{comment.id}" if comment else base


def _email_moderator(entry: Outbox) -> None:
    comment = _comment(entry)
    if comment is None or comment.status != "pending":
        return  # decided before the mail went out: nothing left to ask
    address = entry.payload["to"]
    with force_locale(comment.site.language):
        body = render_template(
            "moderation/email/held.txt", comment=comment, site=comment.site, event=entry.topic,
            links=links.moderation_links(comment.id, address), queue_url=_queue_url(comment),
            reports=[r for r in comment.reports if not r.resolved],
        )
        names = {"site": _site_name(comment.site), "author": comment.author or gettext("Anonymous"),
                 "title": _title(comment)}
        if entry.topic == "comment.reported":
            subject = gettext("[%(site)s] Reported: %(author)s on “%(title)s”", **names)
        else:
            subject = gettext("[%(site)s] Held: %(author)s on “%(title)s”", **names)
    mailer.send(mailer.build(address, subject, body))


def _email_digest(entry: Outbox) -> None:
    site = db.session.get(Site, entry.site_id)
    if site is None:
        return
    since = datetime.fromisoformat(entry.payload["since"]) if entry.payload.get("since") else None
    until = datetime.fromisoformat(entry.payload["until"])
    held = db.session.scalars(_held_query(site.id, since, until).order_by(Comment.created_at)
                              .limit(DIGEST_LIMIT)).all()
    if not held:
        return  # all decided meanwhile
    backlog = db.session.scalar(sa.select(sa.func.count(Comment.id))
                                .where(Comment.site_id == site.id, Comment.status == "pending"))
    address = entry.payload["to"]
    items = [(c, links.moderation_links(c.id, address)) for c in held]
    with force_locale(site.language):
        body = render_template("moderation/email/digest.txt", site=site, items=items, backlog=backlog,
                               queue_url=_queue_url(), more=max(0, backlog - len(held)))
        subject = ngettext("[%(site)s] %(num)s comment waiting", "[%(site)s] %(num)s comments waiting",
                           len(held), site=_site_name(site))
    mailer.send(mailer.build(address, subject, body))


def _email_reply(entry: Outbox) -> None:
    reply = _comment(entry)
    parent = _parent_to_notify(reply) if reply is not None else None
    # Checked again at delivery: the reply may have been removed, or the
    # author may have unsubscribed, since it was queued.
    if reply is None or reply.status != "approved" or parent is None:
        return
    unsubscribe = links.unsubscribe_link(parent.id)
    # In the language the reader read the page in, else the site's.
    with force_locale(parent.language or reply.site.language):
        body = render_template("moderation/email/reply.txt", reply=reply, parent=parent, site=reply.site,
                               url=reply.thread.url, unsubscribe=unsubscribe)
        subject = gettext("%(author)s replied to you on “%(title)s”", author=reply.author or gettext("Someone"),
                          title=_title(reply))
    headers = {"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    mailer.send(mailer.build(parent.email, subject, body, headers))


def _email_confirm(entry: Outbox) -> None:
    comment = _comment(entry)
    # Nothing to ask any more: removed, rejected by a moderator, unsubscribed
    # or erased, or confirmed meanwhile through an earlier email.
    if (comment is None or comment.status not in subscriptions.ASKING_STATUSES
            or not (comment.notify or comment.follow) or not comment.email or comment.notify_confirmed_at is not None):
        return
    site = comment.site
    # Only what the site's owner wrote and the page's address: the rest of a
    # comment is whatever the person who typed this address wanted to send.
    with force_locale(comment.language or site.language):
        body = render_template("moderation/email/confirm.txt", site=site, url=comment.thread.url,
                               confirm=links.confirm_link(comment.id), follow=comment.follow)
        subject = gettext("[%(site)s] Confirm emails about replies", site=_site_name(site))
    mailer.send(mailer.build(comment.email, subject, body))


def _follow_page(entry: Outbox) -> None:
    """A followed page's grouped email is due: one delivery per follower,
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
            .where(Comment.thread_id == thread_id, Comment.status == "approved",
                   ModerationEvent.to_status == "approved", ModerationEvent.created_at > since,
                   ModerationEvent.created_at <= until,
                   sa.or_(Comment.email_hash.is_(None), Comment.email_hash != address))
            .group_by(Comment.id).order_by(Comment.id).limit(FOLLOW_LIMIT)
        )
        ids = list(db.session.scalars(published))
        for comment in comments:
            comment.followed_until = until
        if ids:
            # Due as long as the page's row: sent in this same run of the worker.
            db.session.add(Outbox(site_id=entry.site_id, topic="follow.email", next_attempt_at=entry.created_at,
                                  payload={"channel": "followed", "comment_id": comments[-1].id, "ids": ids}))


def _email_followed(entry: Outbox) -> None:
    follower = _comment(entry)
    # Checked again at delivery: unsubscribed, erased or removed meanwhile.
    if follower is None or not follower.follow or follower.notify_confirmed_at is None or not follower.email:
        return
    comments = db.session.scalars(sa.select(Comment).where(Comment.id.in_(entry.payload["ids"]),
                                                           Comment.status == "approved")
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
    headers = {"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    mailer.send(mailer.build(follower.email, subject, body, headers))


def _title(comment: Comment) -> str:
    return comment.thread.title or comment.thread.url


def _site_name(site: Site) -> str:
    return site.name or site.key


def unsubscribe(comment: Comment) -> int:
    """Stop reply notifications (and followed pages) for every comment of
    this author on the site; asking again later needs a new confirmation."""
    if comment.email_hash:
        match = sa.and_(Comment.site_id == comment.site_id, Comment.email_hash == comment.email_hash)
    else:
        match = Comment.id == comment.id
    return db.session.execute(
        sa.update(Comment).where(match, subscriptions.ASKED)
        .values(notify=False, follow=False, notify_confirmed_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount


def webhook_secret(site: Site) -> str:
    """The key a site's webhook receiver verifies signatures with (derived, stable)."""
    return hashing.keyed("webhook", site.key)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``t=...,v1=...``: HMAC-SHA256 over ``"{timestamp}." + body``.

    The timestamp is signed too, so a receiver can refuse replays of old
    deliveries.
    """
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def webhook_body(entry: Outbox, site: Site, comment: Comment | None) -> dict:
    """The JSON a webhook receives: never an email or an IP hash."""
    body = {"id": entry.id, "event": entry.topic, "site": site.key, "created_at": entry.created_at.isoformat() + "Z"}
    for key in ("action", "from_status", "to_status"):
        if key in entry.payload:
            body[key] = entry.payload[key]
    if comment is not None:
        body["comment"] = {
            "id": comment.id, "parent_id": comment.parent_id, "thread_url": comment.thread.url,
            "thread_title": comment.thread.title, "author": comment.author, "website": comment.website,
            "text": comment.text, "html": comment.html, "status": comment.status, "reasons": comment.reasons,
            "staff": comment.staff, "created_at": comment.created_at.isoformat() + "Z",
            "moderation_url": _queue_url(comment),
        }
    return body


def _post_webhook(entry: Outbox) -> None:
    site = db.session.get(Site, entry.site_id)
    if site is None or not site.webhook_url:
        return
    try:
        target = netguard.check(site.webhook_url, allow_private=current_app.config["CAUSERIE_WEBHOOK_ALLOW_PRIVATE"])
    except netguard.RefusedURL as exc:
        raise PermanentError(f"webhook refused: {exc}") from exc
    body = json.dumps(webhook_body(entry, site, _comment(entry)), ensure_ascii=False).encode()
    status = netguard.post(target, body, deadline=WEBHOOK_TIMEOUT, headers={
        "Content-Type": "application/json",
        "User-Agent": "Causerie-Webhook/1",
        "Causerie-Event": entry.topic,
        "Causerie-Delivery": str(entry.id),
        SIGNATURE_HEADER: sign(webhook_secret(site), int(time.time()), body),
    })
    if not 200 <= status < 300:  # a redirect too: it is not followed
        raise RuntimeError(f"webhook answered HTTP {status}")
