"""Moderation actions as plain functions.

Each action checks that the moderator may act on the comment's site, makes
its change, writes an audit event (who, what, from which status to which) and
queues the notifications it causes, all in the caller's transaction: the
caller commits once, so a bulk action is all-or-nothing.

``moderator`` is None when the authority comes from elsewhere, such as a
signed one-click link; ``actor`` then names who acted in the audit log.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask_babel import format_number
from flask_babel import lazy_gettext as _l

from .. import audit, hashing, sanitize, spam
from ..choices import Status
from ..extensions import db
from ..limits import MAX_REASON, MAX_STAFF_TEXT
from ..models import Ban, Comment, ModerationEvent, Moderator, Thread, utcnow
from ..notifications import events

# The action a moderator names, and the status it leads to.
STATUS_ACTIONS = {"approve": Status.APPROVED, "reject": Status.REJECTED, "spam": Status.SPAM,
                  "delete": Status.DELETED, "requeue": Status.PENDING}
# The action that undoes a change from each status (the queue's "Undo").
UNDO: dict[str, str] = {
    Status.PENDING: "requeue",
    Status.APPROVED: "approve",
    Status.REJECTED: "reject",
    Status.SPAM: "spam",
}
# Actions that apply to one comment or a selection of them.
ACTIONS = (*STATUS_ACTIONS, "pin", "unpin", "resolve")
BAN_DURATIONS = {"1": 1, "7": 7, "30": 30, "365": 365, "forever": None}


class ActionError(Exception):
    """An action that cannot be done, with the HTTP status that says why."""

    def __init__(self, status: int, message):
        super().__init__(str(message))
        self.status = status
        self.message = message  # maybe a lazy translation, resolved when shown


def check_access(moderator: Moderator | None, site_id: int) -> None:
    """Another site's comment is answered as if it did not exist."""
    if moderator is not None and not moderator.can_moderate(site_id):
        raise ActionError(404, _l("There is no such comment."))


def _actor(moderator: Moderator | None, actor: str | None) -> str | None:
    return actor or (moderator.email if moderator else None)


def set_status(comment: Comment, to_status: str, moderator: Moderator | None, *, actor: str | None = None,
               action: str | None = None) -> bool:
    """Move ``comment`` to ``to_status``; False if it already was there.

    Any decision settles the comment's open reports: the moderator has now
    looked at it.  The decision teaches the site's spam filter, in the same
    transaction (sending back to the queue, as an undo does, takes the
    lesson back).
    """
    check_access(moderator, comment.site_id)
    before = comment.status
    _resolve_open_reports(comment)
    if before == to_status:
        return False
    comment.status = to_status
    comment.moderated_at = utcnow()
    if to_status != Status.APPROVED:
        comment.pinned = False
    spam.teach(comment, before)
    name = action or next(k for k, v in STATUS_ACTIONS.items() if v == to_status)
    audit.record(comment, name, from_status=before, to_status=to_status, moderator=moderator,
                 actor=_actor(moderator, actor))
    events.enqueue("comment.moderated", comment, action=name, from_status=before, to_status=to_status)
    return True


def _resolve_open_reports(comment: Comment) -> int:
    open_reports = [r for r in comment.reports if not r.resolved]
    for report in open_reports:
        report.resolved = True
    return len(open_reports)


def resolve_reports(comment: Comment, moderator: Moderator | None) -> bool:
    """Dismiss the reports: the comment stays (or goes back) online."""
    check_access(moderator, comment.site_id)
    if comment.status == Status.PENDING and "reported" in (comment.reasons or []):
        return set_status(comment, Status.APPROVED, moderator, action="resolve")
    count = _resolve_open_reports(comment)
    if count:
        audit.record(comment, "resolve", from_status=comment.status, to_status=comment.status,
                     moderator=moderator, detail=f"{count} reports dismissed")
    return bool(count)


def pin(comment: Comment, moderator: Moderator | None) -> bool:
    """Feature a published top-level comment at the top of its thread."""
    check_access(moderator, comment.site_id)
    if comment.status != Status.APPROVED or comment.parent_id is not None:
        raise ActionError(409, _l("Only published top-level comments can be pinned."))
    return _set_pinned(comment, True, moderator)


def unpin(comment: Comment, moderator: Moderator | None) -> bool:
    """Stop featuring the comment."""
    check_access(moderator, comment.site_id)
    return _set_pinned(comment, False, moderator)


def _set_pinned(comment: Comment, value: bool, moderator: Moderator | None) -> bool:
    if comment.pinned == value:
        return False
    comment.pinned = value
    audit.record(comment, "pin" if value else "unpin", from_status=comment.status, to_status=comment.status,
                 moderator=moderator)
    return True


def perform(action: str, comment: Comment, moderator: Moderator | None, **kw) -> bool:
    """Apply a named action (one of :data:`ACTIONS`); True if anything changed."""
    if action in STATUS_ACTIONS:
        return set_status(comment, STATUS_ACTIONS[action], moderator, action=action, **kw)
    if action == "pin":
        return pin(comment, moderator)
    if action == "unpin":
        return unpin(comment, moderator)
    if action == "resolve":
        return resolve_reports(comment, moderator)
    raise ActionError(400, _l("Unknown action."))


def _clean_text(text: str | None) -> str:
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise ActionError(400, _l("The text cannot be empty."))
    if len(text) > MAX_STAFF_TEXT:
        raise ActionError(413, _l("The text is too long (at most %(num)s characters).",
                                  num=format_number(MAX_STAFF_TEXT)))
    return text


def edit(comment: Comment, moderator: Moderator | None, text: str) -> bool:
    """Change the comment's text; readers see it marked as edited by staff."""
    check_access(moderator, comment.site_id)
    text = _clean_text(text)
    if comment.status == Status.DELETED:
        raise ActionError(409, _l("A deleted comment cannot be edited."))
    if text == comment.text:
        return False
    comment.text = text
    comment.html = sanitize.render(text)
    comment.text_hash = hashing.text_fingerprint(text)
    comment.edited_at = utcnow()
    comment.edited_by_staff = True
    audit.record(comment, "edit", from_status=comment.status, to_status=comment.status, moderator=moderator)
    events.enqueue("comment.moderated", comment, action="edit", from_status=comment.status,
                   to_status=comment.status)
    return True


def reply(parent: Comment, moderator: Moderator, text: str) -> Comment:
    """Post a staff reply under ``parent``, published at once with the staff badge.

    Replying to a held comment approves it first: a reply under a comment
    readers cannot see would make no sense.
    """
    check_access(moderator, parent.site_id)
    text = _clean_text(text)
    if parent.status == Status.PENDING:
        set_status(parent, Status.APPROVED, moderator)
    elif parent.status != Status.APPROVED:
        raise ActionError(409, _l("Only a published comment can be answered."))
    now = utcnow()
    comment = Comment(
        site_id=parent.site_id,
        thread_id=parent.thread_id,
        thread=parent.thread,
        parent_id=parent.id,
        author=staff_name(moderator),
        text=text,
        html=sanitize.render(text),
        text_hash=hashing.text_fingerprint(text),
        status=Status.APPROVED,
        reasons=[],
        staff=True,
        moderator_id=moderator.id,
        created_at=now,
        moderated_at=now,
    )
    db.session.add(comment)
    db.session.flush()
    audit.record(comment, "staff_reply", to_status=Status.APPROVED, moderator=moderator,
                 detail=f"reply to #{parent.id}")
    events.enqueue("comment.created", comment)
    return comment


def ban(comment: Comment, moderator: Moderator | None, *, duration: str, reason: str = "",
        by_email: bool = True, by_ip: bool = True) -> Ban:
    """Refuse the comment's author on this site, by email hash and/or IP hash.

    ``duration`` is a key of :data:`BAN_DURATIONS` (days, or ``forever``).
    """
    check_access(moderator, comment.site_id)
    if duration not in BAN_DURATIONS:
        raise ActionError(400, _l("Choose how long the ban lasts."))
    email_hash = comment.email_hash if by_email else None
    ip_hash = comment.ip_hash if by_ip else None
    if not email_hash and not ip_hash:
        raise ActionError(409, _l("There is no email or address to ban this commenter by."))
    days = BAN_DURATIONS[duration]
    entry = Ban(
        site_id=comment.site_id,
        email_hash=email_hash,
        ip_hash=ip_hash,
        reason=(reason or "").strip()[:MAX_REASON],
        expires_at=utcnow() + timedelta(days=days) if days else None,
        moderator_id=moderator.id if moderator else None,
    )
    db.session.add(entry)
    what = " + ".join(k for k, v in (("email", email_hash), ("IP", ip_hash)) if v)
    span = f"{days} days" if days else "forever"
    audit.record(comment, "ban", from_status=comment.status, to_status=comment.status, moderator=moderator,
                 detail=f"{what}, {span}{': ' + entry.reason if entry.reason else ''}")
    return entry


def active_ban(comment: Comment) -> Ban | None:
    """The ban that currently refuses this comment's author, if any."""
    keys = [c for c in (Ban.email_hash == comment.email_hash if comment.email_hash else None,
                        Ban.ip_hash == comment.ip_hash if comment.ip_hash else None) if c is not None]
    if not keys:
        return None
    return db.session.scalar(
        sa.select(Ban).where(Ban.site_id == comment.site_id, sa.or_(*keys))
        .where(sa.or_(Ban.expires_at.is_(None), Ban.expires_at > utcnow())).limit(1)
    )


def lift_ban(ban_entry: Ban, moderator: Moderator | None, comment: Comment) -> None:
    """End a ban now (kept in the table, expired, for the record)."""
    check_access(moderator, ban_entry.site_id)
    ban_entry.expires_at = utcnow()
    audit.record(comment, "unban", from_status=comment.status, to_status=comment.status, moderator=moderator)


def set_locked(thread: Thread, locked: bool, moderator: Moderator | None) -> bool:
    """Close (or reopen) a thread to new comments."""
    check_access(moderator, thread.site_id)
    if thread.locked == locked:
        return False
    thread.locked = locked
    db.session.add(ModerationEvent(
        site_id=thread.site_id, thread_id=thread.id, moderator_id=moderator.id if moderator else None,
        actor=moderator.email if moderator else "system", action="lock" if locked else "unlock",
        detail=thread.title or thread.url,
    ))
    return True


def staff_name(moderator: Moderator) -> str:
    """How a moderator signs staff replies."""
    return moderator.name or moderator.email.split("@")[0]
