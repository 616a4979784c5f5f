"""Privacy tools: what we hold about an email address, erasing it, purging IP hashes.

* :func:`personal_data` gathers every comment and datum tied to an address
  (the right of access);
* :func:`erase` removes the name, email, website and IP hash from that
  person's comments, and either deletes the comments (placeholders keep the
  replies in place) or keeps their text, anonymous (the right to erasure);
* :func:`purge` forgets IP hashes older than ``CAUSERIE_IP_RETENTION_DAYS``
  and bans that ended that long ago (storage limitation); it is meant to
  run daily from cron or a timer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from . import audit, hashing
from .choices import Status
from .extensions import db, rowcount
from .models import Ban, Comment, ModerationEvent, Moderator, Report, Site, Thread, utcnow
from .spam import filter as spam_filter

ERASE_MODES = ("keep-text", "delete")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None


def _matching(email: str, site_key: str | None) -> sa.ColumnElement[bool]:
    """The condition for an address's comments: by keyed hash, and by the
    address itself for rows stored before hashing (imports keep both)."""
    address = email.strip().lower()
    condition = sa.or_(Comment.email_hash == hashing.email_hash(address),
                       sa.func.lower(Comment.email) == address)
    if site_key is not None:
        condition = sa.and_(condition, Comment.site_id == sa.select(Site.id).where(Site.key == site_key)
                            .scalar_subquery())
    return condition


def comment_count(email: str, site_key: str | None = None) -> int:
    """How many comments are held for ``email``."""
    return db.session.scalar(sa.select(sa.func.count(Comment.id)).where(_matching(email, site_key))) or 0


def personal_data(email: str, site_key: str | None = None) -> dict[str, Any]:
    """Everything held about ``email``, as a JSON-ready document."""
    rows = db.session.execute(
        sa.select(Comment, Site.key, Thread.url, Thread.title)
        .join(Site, Site.id == Comment.site_id).join(Thread, Thread.id == Comment.thread_id)
        .where(_matching(email, site_key)).order_by(Comment.created_at, Comment.id)
    ).all()
    comments = [c for c, *_ in rows]
    ids = [c.id for c in comments]
    ip_hashes = {c.ip_hash for c in comments if c.ip_hash}
    email_hashes = {hashing.email_hash(email)} | {c.email_hash for c in comments if c.email_hash}

    reports: dict[int, list[dict[str, Any]]] = {}
    events: dict[int | None, list[dict[str, Any]]] = {}
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        for report in db.session.scalars(sa.select(Report).where(Report.comment_id.in_(chunk))):
            reports.setdefault(report.comment_id, []).append(
                {"reason": report.reason, "created_at": _iso(report.created_at), "resolved": report.resolved})
        for event in db.session.scalars(sa.select(ModerationEvent).where(ModerationEvent.comment_id.in_(chunk))
                                        .order_by(ModerationEvent.created_at, ModerationEvent.id)):
            events.setdefault(event.comment_id, []).append(
                {"action": event.action, "from_status": event.from_status, "to_status": event.to_status,
                 "at": _iso(event.created_at)})

    ban_condition = sa.or_(Ban.email_hash.in_(email_hashes), Ban.ip_hash.in_(ip_hashes or {""}))
    bans = db.session.execute(
        sa.select(Ban, Site.key).join(Site, Site.id == Ban.site_id).where(ban_condition)
        .order_by(Ban.created_at)).all()
    moderator = db.session.scalar(sa.select(Moderator).where(sa.func.lower(Moderator.email) == email.strip().lower()))

    return {
        "email": email.strip(),
        "generated_at": _iso(utcnow()),
        "comments": [{
            "site": key, "page": url, "page_title": title,
            "id": c.id, "parent_id": c.parent_id, "author": c.author, "email": c.email,
            "email_hash": c.email_hash, "website": c.website, "text": c.text, "html": c.html,
            "status": c.status, "reasons": c.reasons or [], "created_at": _iso(c.created_at),
            "edited_at": _iso(c.edited_at), "moderated_at": _iso(c.moderated_at), "ip_hash": c.ip_hash,
            "commenter_hash": c.commenter_hash, "notify_on_replies": c.notify, "follows_the_page": c.follow,
            "notify_confirmed_at": _iso(c.notify_confirmed_at),
            "email_language": c.language, "staff": c.staff, "pinned": c.pinned, "imported_from": c.import_ref,
            "reports": reports.get(c.id, []), "moderation": events.get(c.id, []),
        } for c, key, url, title in rows],
        "bans": [{"site": key, "reason": ban.reason, "by_email": ban.email_hash in email_hashes,
                  "by_ip": ban.ip_hash in ip_hashes, "created_at": _iso(ban.created_at),
                  "expires_at": _iso(ban.expires_at)} for ban, key in bans],
        "moderator_account": None if moderator is None else {
            "email": moderator.email, "name": moderator.name, "is_admin": moderator.is_admin,
            "sites": sorted(s.key for s in moderator.sites), "created_at": _iso(moderator.created_at),
            "last_login_at": _iso(moderator.last_login_at)},
        "about": {
            "ip_addresses": "never stored; a keyed hash is kept for "
                            f"{current_app.config['CAUSERIE_IP_RETENTION_DAYS']} days, then erased",
            "email": "stored to notify you of replies (if asked) and to recognise your later comments",
        },
    }


@dataclass
class Erasure:
    """What :func:`erase` changed."""

    comments: int
    deleted: int
    bans_lifted: int
    bans_kept: int
    moderator_account: bool


def erase(email: str, mode: str, *, site_key: str | None = None, lift_bans: bool = False,
          actor: str = "cli") -> Erasure:
    """Remove ``email``'s personal data from their comments, in one transaction.

    ``mode`` is ``keep-text`` (the comments stay, anonymous) or ``delete``
    (the comments become deleted placeholders: replies keep their place).
    Bans on the address are kept unless ``lift_bans``: a ban is the site's
    record of abuse, and lifting it is a moderator's decision.
    """
    if mode not in ERASE_MODES:
        raise ValueError(f"mode must be one of {ERASE_MODES}")
    comments = db.session.scalars(sa.select(Comment).where(_matching(email, site_key))).all()
    hashes = {hashing.email_hash(email)} | {c.email_hash for c in comments if c.email_hash}
    deleted = 0
    for comment in comments:
        before = comment.status
        comment.author = ""
        comment.email = None
        comment.email_hash = None
        comment.commenter_hash = None
        comment.website = None
        comment.ip_hash = None
        comment.notify = comment.follow = False
        comment.notify_confirmed_at = None
        comment.edit_token_hash = None
        if mode == "delete":
            comment.status = Status.DELETED
            comment.text = ""
            comment.html = ""
            comment.text_hash = None
            comment.pinned = False
            deleted += 1
        audit.record(comment, "erased" if mode == "delete" else "anonymised", from_status=before,
                     to_status=comment.status, actor=actor, detail="personal data erased on request")
    # What each comment taught the spam filter names its author's words and
    # website; the site's aggregated counts keep no link to the person.
    spam_filter.forget([c.id for c in comments])
    ban_query = sa.select(Ban).where(Ban.email_hash.in_(hashes))
    if site_key is not None:
        ban_query = ban_query.join(Site, Site.id == Ban.site_id).where(Site.key == site_key)
    bans = db.session.scalars(ban_query).all()
    if lift_bans:
        for ban in bans:
            db.session.delete(ban)
    moderator = db.session.scalar(
        sa.select(Moderator.id).where(sa.func.lower(Moderator.email) == email.strip().lower()))
    db.session.commit()
    return Erasure(len(comments), deleted, len(bans) if lift_bans else 0, 0 if lift_bans else len(bans),
                   moderator is not None)


@dataclass
class Purge:
    """What :func:`purge` forgot (or, in a dry run, would forget)."""

    cutoff: datetime
    comments: int
    reports: int
    bans: int


def purge(days: int | None = None, *, dry_run: bool = False) -> Purge:
    """Forget what is older than the retention period, in one transaction:
    the IP hashes of comments and reports, and bans that ended that long ago.

    A ban still in force keeps its hashes: it is deliberate and has its own expiry.
    """
    if days is None:
        days = current_app.config["CAUSERIE_IP_RETENTION_DAYS"]
    cutoff = utcnow() - timedelta(days=days)
    conditions = [
        (Comment, sa.and_(Comment.ip_hash.is_not(None), Comment.created_at < cutoff)),
        (Report, sa.and_(Report.ip_hash.is_not(None), Report.created_at < cutoff)),
        (Ban, sa.and_(Ban.expires_at.is_not(None), Ban.expires_at < cutoff)),
    ]
    counts: list[int] = []
    for model, condition in conditions:
        if dry_run:
            counts.append(db.session.scalar(sa.select(sa.func.count()).select_from(model).where(condition)) or 0)
        elif model is Ban:
            counts.append(rowcount(db.session.execute(sa.delete(Ban).where(condition)
                                                       .execution_options(synchronize_session=False))))
        else:
            counts.append(rowcount(db.session.execute(sa.update(model).where(condition).values(ip_hash=None)
                                                       .execution_options(synchronize_session=False))))
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    return Purge(cutoff, *counts)
