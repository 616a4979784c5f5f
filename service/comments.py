"""The write path, in one place: validate -> render -> rules -> store -> outbox.

Functions here take already-parsed values (see :mod:`service.validation`)
and either finish the whole change in one transaction or raise an
:class:`~service.errors.APIError` having changed nothing.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app

from . import audit, hashing, rules, sanitize, spam, threads, tickets, writes
from .choices import Status
from .errors import APIError, InvalidInputError
from .extensions import db
from .limits import MAX_ID
from .models import Comment, ModerationEvent, Report, Site, Thread, utcnow
from .notifications import events, subscriptions
from .origins import require_origin

# What a reader is told about their own comment: spam and refusals look the
# same as a rejection, so a spammer learns nothing about which rule fired.
OWNER_STATUS: dict[str, Status] = {
    Status.APPROVED: Status.APPROVED,
    Status.PENDING: Status.PENDING,
    Status.REJECTED: Status.REJECTED,
    Status.SPAM: Status.REJECTED,
    Status.DELETED: Status.REJECTED,
}
EDITABLE = (Status.APPROVED, Status.PENDING)


@dataclass
class Posted:
    """The result of a successful post: the API's answer, and who may read it."""

    answer: dict[str, Any]
    origins: list[str]


def edit_window(site: Site) -> timedelta:
    """How long a reader may edit or delete their own comment."""
    seconds = site.edit_window if site.edit_window is not None else current_app.config["CAUSERIE_EDIT_WINDOW"]
    return timedelta(seconds=seconds)


def post(data: dict[str, Any], origin: str | None, client_ip: str | None, *,
         limit_check: Callable[[], object] | None = None) -> Posted:
    """Store a reader's new comment, judged by the automatic rules.

    ``limit_check``: raises to refuse the post (the API's rate limits, which
    Redis counts while the post is hashed and its features found, see
    write_limits), called before the database is asked anything.
    """
    email_hash = hashing.email_hash(data["email"])
    ip_hash = hashing.ip_hash(client_ip)
    text_hash = hashing.text_fingerprint(data["text"])
    commenter, commenter_hash = _commenter(data["site"], data["commenter"])
    asked = spam.question(data["text"], data["author"], data["website"], commenter_hash)
    if limit_check is not None:
        limit_check()
    # Everything the rules, the spam filter and a reply need to know, with the site: one query.
    site, ref = threads.load_for_write(data["site"], data["url"], data["thread"], extra=_QUESTIONS,
                                       **rules.history_params(text_hash, email_hash, ip_hash), **asked.params,
                                       parent=_parent_param(data["parent_id"]))
    require_origin(ref.origins, origin)
    if ref.locked:
        raise APIError(403, "thread_locked", "This discussion is closed to new comments.", origins=ref.origins)
    parent_id = _parent(ref.thread_id, data["parent_id"], site)
    judgement = spam.judge(site.id, text=data["text"], author=data["author"], website=data["website"],
                           email_hash=email_hash, commenter_hash=commenter_hash, thread_id=ref.thread_id,
                           title=site.thread_title or data["title"], url=ref.url, is_reply=parent_id is not None,
                           asked=(asked, site))
    status, verdicts = rules.judge(
        rules.Submission(
            site=site,
            text=data["text"],
            email_hash=email_hash,
            ip_hash=ip_hash,
            text_hash=text_hash,
            honeypot=data["hp"],
            seconds_since_load=tickets.age(data["ticket"], site.key),
            min_seconds=current_app.config["CAUSERIE_MIN_SUBMIT_SECONDS"],
            commenter_hash=commenter_hash,
            author=data["author"],
            website=data["website"],
            spam=judgement,
            known_past=rules.history_of(site),
        )
    )
    if status == "refuse":
        raise APIError(403, "banned", "You cannot comment on this site.", origins=ref.origins)

    # One line (a U+2028 in it would break an email's subject), at most MAX_TITLE as validated.
    title = " ".join(data["title"].split()) if data["title"] else None
    thread_id = ref.thread_id if ref.thread_id is not None else threads.create(ref, title).id
    token, token_hash = hashing.new_token()
    comment = Comment(
        site_id=site.id,
        thread_id=thread_id,
        parent_id=parent_id,
        author=data["author"],
        email=data["email"],
        email_hash=email_hash,
        commenter_hash=commenter_hash,
        website=data["website"],
        text=data["text"],
        html=sanitize.render(data["text"]),
        text_hash=text_hash,
        status=status,
        reasons=rules.reasons(verdicts),
        ip_hash=ip_hash,
        notify=data["notify"],
        follow=data["follow"],
        language=data["language"],
        edit_token_hash=token_hash,
        spam_score=judgement.score if judgement else None,
        spam_verdict=judgement.verdict if judgement else None,
        spam_reasons=judgement.reasons if judgement else None,
        created_at=utcnow(),
        edited_at=None,
        staff=False,
        pinned=False,
    )
    # Nothing else to write (no thread to create, no delivery, no
    # subscription): the comment's rows go alone, on a connection of their own.
    alone = ref.thread_id is not None and not events.expected(site) and not subscriptions.asked(comment)
    _insert(comment, title, audit.row(comment, "created", to_status=status, actor="rules",
                                      detail=", ".join(comment.reasons)), alone=alone)
    events.enqueue("comment.created", comment, site=site)
    replies = subscriptions.ask(comment, site)
    answer = owner_answer(comment, site.key, edit_token=token,
                          editable_until=threads.iso(comment.created_at + edit_window(site)), notify=replies,
                          commenter=commenter)
    if db.session().in_transaction():  # a post written alone left the session untouched
        db.session.commit()
    return Posted(answer, list(site.origins or []))


def _commenter(site_key: str, sent: str | None) -> tuple[str, str]:
    """The commenter key the browser sent back (or a new one, if it sent
    none this service signed), and its hash for this site."""
    if sent is not None and (known := hashing.commenter_key(site_key, sent)) is not None:
        return sent, known
    fresh = hashing.new_commenter_key()
    signed = hashing.commenter_key(site_key, fresh)
    assert signed is not None  # a key this service has just signed
    return fresh, signed


_COMMENTS, _THREADS = Comment.__table__, Thread.__table__
# The title the site's own page declares (the widget sends its data-title or
# document.title, from an allowed origin) follows the page: each post that
# sends one updates it, so the first poster does not name the page for good.
_BUMP_THREAD = _THREADS.update().where(_THREADS.c.id == sa.bindparam("thread")).values(
    version=_THREADS.c.version + 1,
    title=sa.func.coalesce(sa.func.nullif(sa.bindparam("title", type_=_THREADS.c.title.type), ""), _THREADS.c.title),
)


def _insert(comment: Comment, title: str | None, event: dict[str, Any], *, alone: bool) -> None:
    """Store a new comment, advance its thread's version and write its audit
    ``event`` (see audit.row).

    ``alone``: nothing else is written with them, and they are written on a
    connection of their own (see writes), committed before this returns: on
    PostgreSQL one statement in autocommit, one round trip.  Otherwise they
    join the session's transaction: on PostgreSQL one statement, elsewhere three.

    Every post comes through here.  The comment is never added to the session:
    the unit of work's bookkeeping for one new row costs a fifth of a post.
    That also means the session's before_flush hook (see models) does not see
    it, so the thread's version is advanced here.
    """
    values = {key: value for key, value in sa.inspect(comment).dict.items() if key in _COMMENTS.c}
    # Statements written out column by column get no column defaults: they are filled here.
    for column in _COMMENTS.c:
        if column.name not in values and column.default is not None:
            default = cast("Any", column.default)
            values[column.name] = default.arg(None) if default.is_callable else default.arg
    columns = tuple(sorted(values))
    thread = {"thread": comment.thread_id, "title": title}
    # Parameters named like a column of a statement's table would be taken
    # as more values for it: each table's have a prefix of their own.
    prefixed = {**{f"comment_{name}": value for name, value in values.items()},
                **{f"event_{name}": value for name, value in event.items()}}
    postgres = db.engine.dialect.name == "postgresql"
    with writes.transaction(autocommit=postgres) if alone else writes.joined() as writer:
        if postgres:
            rows, _ = writer.run(_with_event(columns), **thread, **prefixed)
            comment.id = rows[0][0]
            return
        _, new_id = writer.run(writes.insert(_COMMENTS, columns), **values)
        assert new_id is not None  # SQLite's cursor has the id of the row it inserted
        comment.id = new_id
        writer.run(_WRITE_BUMP, **thread)
        writer.run(writes.insert(_EVENTS, (*sorted(event), "comment_id")), **event, comment_id=new_id)


_EVENTS = ModerationEvent.__table__
_WRITE_BUMP = writes.Write(_BUMP_THREAD)


@functools.lru_cache(maxsize=8)
def _with_event(columns: tuple[str, ...]) -> writes.Write:
    """The comment (these of its columns), its thread's new version and its
    audit event, as one PostgreSQL statement (data-modifying WITH queries)."""
    new = (_COMMENTS.insert()
           .values({name: sa.bindparam(f"comment_{name}", type_=_COMMENTS.c[name].type) for name in columns})
           .returning(_COMMENTS.c.id).cte("new_comment"))
    # PostgreSQL runs every data-modifying WITH query, read or not.
    bumped = _BUMP_THREAD.returning(_THREADS.c.id).cte("bumped")
    event_columns = [column for column in _EVENTS.c if column.name != "id"]
    row = sa.select(*[new.c.id if column.name == "comment_id"
                      else sa.bindparam(f"event_{column.name}", type_=column.type) for column in event_columns])
    return writes.Write(_EVENTS.insert().from_select(event_columns, row).add_cte(bumped)
                        .returning(_EVENTS.c.comment_id))


_PARENT = Comment.__table__.alias("parent")
# A reply's parent, asked with the site (see post): its thread and status.
_PARENT_COLUMNS = tuple(
    sa.select(column).where(_PARENT.c.id == sa.bindparam("parent", type_=sa.Integer)).scalar_subquery()
    .label(f"parent_{column.name}") for column in (_PARENT.c.thread_id, _PARENT.c.status))
_QUESTIONS = (*rules.HISTORY_COLUMNS, *spam.LOOKUP_COLUMNS, *_PARENT_COLUMNS)


def _parent_param(parent_id: int | None) -> int | None:
    # An id no row can have is asked as 0, which no row has either.
    return None if parent_id is None else parent_id if 0 < parent_id <= MAX_ID else 0


def _parent(thread_id: int | None, parent_id: int | None, row: Any) -> int | None:
    """The id of the comment replied to, checked against ``row``'s parent columns."""
    if parent_id is None:
        return None
    if thread_id is None or row.parent_thread_id != thread_id or row.parent_status != Status.APPROVED:
        raise InvalidInputError({"parent_id": "You can only reply to a published comment of this thread."})
    return parent_id


def find(comment_id: int) -> Comment | None:
    """The comment with this id, or None (also for ids no database row can have)."""
    return db.session.get(Comment, comment_id) if 0 < comment_id <= MAX_ID else None


def owned(comment_id: int, token: str | None) -> Comment:
    """The comment, if ``token`` is its edit token; 404 or 403 otherwise."""
    comment = find(comment_id)
    if comment is None or comment.edit_token_hash is None:
        raise APIError(404, "comment_not_found", "There is no such comment.")
    if not token or not hmac.compare_digest(hashing.token_hash(token), comment.edit_token_hash):
        raise APIError(403, "invalid_token", "This is not your comment, or the edit key is wrong.")
    return comment


def _check_editable(comment: Comment) -> datetime:
    if comment.status not in EDITABLE:
        raise APIError(409, "not_editable", "This comment can no longer be changed.")
    until = comment.created_at + edit_window(comment.site)
    if utcnow() > until:
        raise APIError(403, "edit_window_closed", "The time to edit or delete this comment is over.")
    return until


def edit(comment: Comment, origin: str | None, data: dict[str, Any]) -> datetime:
    """A reader's edit of their own comment, judged again as a new comment would be.

    The new text, name and website meet every rule a new post meets (but
    those about the form itself), and the site's mode: on a ``pre`` site,
    or from a commenter not yet trusted on a ``first-time`` one, a published
    comment goes back to the queue and the moderators hear of it as of a new
    held comment.  An edit never publishes a comment that was not already.
    A comment a moderator edited is theirs to change from then on.
    """
    require_origin(comment.site.origins or [], origin)
    until = _check_editable(comment)
    if comment.edited_by_staff:
        raise APIError(409, "not_editable_moderated",
                       "A moderator has edited this comment; it can no longer be changed here.")
    if comment.thread.locked:
        raise APIError(403, "thread_locked", "This discussion is closed.")
    site = comment.site
    author, website = data.get("author", comment.author), data.get("website", comment.website)
    text_hash = hashing.text_fingerprint(data["text"])
    judgement = spam.judge(site.id, text=data["text"], author=author, website=website, email_hash=comment.email_hash,
                           commenter_hash=comment.commenter_hash, thread_id=comment.thread_id,
                           title=comment.thread.title, url=comment.thread.url, is_reply=comment.parent_id is not None,
                           exclude=comment.id)
    status, verdicts = rules.judge(
        rules.Submission(site=site, text=data["text"], author=author, website=website,
                         email_hash=comment.email_hash, ip_hash=comment.ip_hash, text_hash=text_hash,
                         commenter_hash=comment.commenter_hash, comment_id=comment.id, spam=judgement),
        checks=rules.EDIT_RULES,
    )
    if status == "refuse":
        raise APIError(403, "banned", "You cannot comment on this site.")
    before = comment.status
    # Held stays held, whatever the edit: the moderators decide.
    comment.status = max(status, before, key=rules.STRENGTH.__getitem__)
    sent_back = before == Status.APPROVED and comment.status != Status.APPROVED
    comment.reasons = sorted(set(comment.reasons or []) | set(rules.reasons(verdicts))
                             | ({"edited"} if sent_back else set()))
    comment.text = data["text"]
    comment.html = sanitize.render(data["text"])
    comment.text_hash = text_hash
    comment.author, comment.website = author, website
    if judgement is not None:
        comment.spam_score, comment.spam_verdict, comment.spam_reasons = (
            judgement.score, judgement.verdict, judgement.reasons)
    comment.edited_at = utcnow()
    audit.record(comment, "edited", from_status=before, to_status=comment.status, actor="reader",
                 detail=", ".join(rules.reasons(verdicts)))
    if sent_back:
        events.enqueue("comment.edited", comment, site=site)
    db.session.commit()
    return until


def delete(comment: Comment, origin: str | None) -> None:
    """A reader deletes their own comment; replies to it stay in place."""
    require_origin(comment.site.origins or [], origin)
    _check_editable(comment)
    before = comment.status
    # The reader takes their words and who they are with them; the row stays
    # only so replies keep their place under a placeholder.
    comment.status = Status.DELETED
    comment.text = comment.html = comment.author = ""
    comment.email = comment.email_hash = comment.website = comment.ip_hash = None
    comment.text_hash = comment.commenter_hash = None
    comment.notify = comment.follow = False
    audit.record(comment, "deleted", from_status=before, to_status=Status.DELETED, actor="reader")
    db.session.commit()


def report(comment_id: int, origin: str | None, reason: str, client_ip: str | None) -> None:
    """A reader reports a published comment; enough reports send it back to the queue.

    One voice per address key (an IPv6 reader's /64).  A staff reply stays
    published whatever the count: its reports wait in the queue's reported
    view for a moderator.
    """
    comment = find(comment_id)
    if comment is None or comment.status != Status.APPROVED:
        raise APIError(404, "comment_not_found", "There is no such comment.")
    require_origin(comment.site.origins or [], origin)
    ip_hash = hashing.ip_hash(client_ip)
    already = db.session.scalar(
        sa.select(Report.id).where(Report.comment_id == comment.id, Report.ip_hash == ip_hash).limit(1)
    )
    if already is not None:
        return  # one reader, one voice; the answer stays the same
    db.session.add(Report(comment_id=comment.id, reason=reason, ip_hash=ip_hash))
    db.session.flush()
    open_reports = db.session.scalar(
        sa.select(sa.func.count(Report.id)).where(Report.comment_id == comment.id, Report.resolved.is_(False))
    )
    if open_reports >= comment.site.report_threshold and not comment.staff:
        comment.status = Status.PENDING
        comment.reasons = sorted(set(comment.reasons or []) | {"reported"})
        audit.record(comment, "reported", from_status=Status.APPROVED, to_status=Status.PENDING, actor="readers",
                     detail=f"{open_reports} reports")
        events.enqueue("comment.reported", comment)
    db.session.commit()


def owner_status(comment: Comment) -> str:
    """What the author is told of their comment's status."""
    return OWNER_STATUS[comment.status]


def owner_answer(comment: Comment, site_key: str, **extra: Any) -> dict[str, Any]:
    """The API's answer to the author about their own comment.

    A comment not published has no avatar in it: an avatar answered for a
    held comment would let anyone test which address a guess belongs to.
    """
    status = owner_status(comment)
    shown = threads.public_comment(comment, site_key)
    if comment.status != Status.APPROVED:
        shown["avatar"] = ""
    return {"comment": {**shown, "status": status}, "status": status, **extra}
