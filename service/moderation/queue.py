"""What the queue shows: the comments a moderator may see, filtered and paged."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import sqlalchemy as sa
from flask import abort
from werkzeug.datastructures import MultiDict

from ..choices import Status, values_of
from ..extensions import db
from ..limits import MAX_ID, MAX_SEARCH, MAX_SITE_KEY
from ..models import Comment, ModerationEvent, Moderator, Report, Site, Thread


class View(StrEnum):
    """The queue's tabs, in their order: comments of one status, reported ones, or all."""

    PENDING = Status.PENDING.value
    REPORTED = "reported"  # open reader reports, whatever the status (but deleted)
    SPAM = Status.SPAM.value
    APPROVED = Status.APPROVED.value
    REJECTED = Status.REJECTED.value
    ALL = "all"  # every status but deleted


SORTS = ("newest", "oldest", "score")
PER_PAGE = 25
MAX_PAGE = 10_000


@dataclass
class Filters:
    """The queue's filters, read leniently from the query string."""

    view: str = View.PENDING
    site: str = ""
    q: str = ""
    sort: str = "newest"
    page: int = 1

    @classmethod
    def from_args(cls, args: MultiDict) -> Filters:
        """Unknown values fall back to defaults rather than failing."""
        view = args.get("view", View.PENDING)
        sort = args.get("sort", "newest")
        try:
            page = min(MAX_PAGE, max(1, int(args.get("page", "1"))))
        except ValueError:
            page = 1
        return cls(view=view if view in values_of(View) else View.PENDING, site=args.get("site", "")[:MAX_SITE_KEY],
                   q=args.get("q", "").strip()[:MAX_SEARCH], sort=sort if sort in SORTS else "newest", page=page)

    def args(self, **changes) -> dict:
        """Query-string arguments for a link to these filters with ``changes``."""
        values = {"view": self.view, "site": self.site, "q": self.q, "sort": self.sort, "page": self.page, **changes}
        defaults = {"view": View.PENDING, "site": "", "q": "", "sort": "newest", "page": 1}
        return {k: v for k, v in values.items() if v != defaults[k]}


@dataclass
class Page:
    """One page of the queue."""

    items: list[Comment]
    total: int
    filters: Filters
    reports: dict[int, list[Report]] = field(default_factory=dict)
    history: dict[tuple[int, str | None], dict[str, int]] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        """How many pages there are (at least one)."""
        return max(1, -(-self.total // PER_PAGE))


def visible_sites(moderator: Moderator) -> list[Site]:
    """The sites this moderator works on."""
    if moderator.is_admin:
        return list(db.session.scalars(sa.select(Site).order_by(Site.name, Site.key)))
    return sorted(moderator.sites, key=lambda s: (s.name, s.key))


def site_ids(moderator: Moderator, site_key: str = "") -> list[int]:
    """Ids of the visible sites, or of the one named (404 if not visible)."""
    sites = visible_sites(moderator)
    if site_key:
        sites = [s for s in sites if s.key == site_key]
        if not sites:
            abort(404)
    return [s.id for s in sites]


def _open_reports():
    return sa.exists().where(Report.comment_id == Comment.id, Report.resolved.is_(False))


def _view_clause(view: str):
    if view == View.REPORTED:
        return sa.and_(_open_reports(), Comment.status != Status.DELETED)
    if view == View.ALL:
        return Comment.status != Status.DELETED
    return Comment.status == view


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def load(moderator: Moderator, filters: Filters) -> Page:
    """The page of comments these filters select, with reports and history."""
    ids = site_ids(moderator, filters.site)
    query = sa.select(Comment).where(Comment.site_id.in_(ids), _view_clause(filters.view))
    if filters.q:
        pattern = f"%{_escape_like(filters.q)}%"
        query = query.where(sa.or_(Comment.text.ilike(pattern, escape="\\"),
                                   Comment.author.ilike(pattern, escape="\\"),
                                   Comment.email.ilike(pattern, escape="\\")))
    total = db.session.scalar(query.with_only_columns(sa.func.count(Comment.id)).order_by(None)) or 0
    order = {
        "oldest": (Comment.created_at.asc(), Comment.id.asc()),
        # The likeliest spam first, so it can be cleared in one bulk action;
        # comments the filter never scored come last.
        "score": (Comment.spam_score.is_(None), Comment.spam_score.desc(), Comment.id.desc()),
    }.get(filters.sort, (Comment.created_at.desc(), Comment.id.desc()))
    items = list(db.session.scalars(
        query.options(sa.orm.selectinload(Comment.thread), sa.orm.selectinload(Comment.parent),
                      sa.orm.selectinload(Comment.site))
        .order_by(*order).offset((filters.page - 1) * PER_PAGE).limit(PER_PAGE)
    ))
    return Page(items, total, filters, reports=open_reports([c.id for c in items]), history=history(items))


def open_reports(comment_ids: list[int]) -> dict[int, list[Report]]:
    """Unresolved reports of these comments, oldest first."""
    found: dict[int, list[Report]] = {}
    if comment_ids:
        for report in db.session.scalars(
            sa.select(Report).where(Report.comment_id.in_(comment_ids), Report.resolved.is_(False))
            .order_by(Report.created_at, Report.id)
        ):
            found.setdefault(report.comment_id, []).append(report)
    return found


def history(comments: list[Comment]) -> dict[tuple[int, str | None], dict[str, int]]:
    """Per (site, commenter): how many of their comments were approved, rejected, spam."""
    keys = {(c.site_id, c.email_hash) for c in comments if c.email_hash}
    decided = (Status.APPROVED, Status.REJECTED, Status.SPAM)
    result: dict[tuple[int, str | None], dict[str, int]] = {k: dict.fromkeys(decided, 0) for k in keys}
    if not keys:
        return result
    rows = db.session.execute(
        sa.select(Comment.site_id, Comment.email_hash, Comment.status, sa.func.count(Comment.id))
        .where(Comment.site_id.in_({k[0] for k in keys}), Comment.email_hash.in_({k[1] for k in keys}),
               Comment.status.in_(decided))
        .group_by(Comment.site_id, Comment.email_hash, Comment.status)
    )
    for site_id, email_hash, status, count in rows:
        if (site_id, email_hash) in result:
            result[(site_id, email_hash)][status] = count
    return result


def counts(moderator: Moderator, site_key: str = "") -> dict[str, int]:
    """How many comments wait in the pending and reported views."""
    ids = site_ids(moderator, site_key)
    count = sa.select(sa.func.count(Comment.id)).where(Comment.site_id.in_(ids))
    return {
        View.PENDING: db.session.scalar(count.where(Comment.status == Status.PENDING)) or 0,
        View.REPORTED: db.session.scalar(count.where(_view_clause(View.REPORTED))) or 0,
    }


def get_comment(moderator: Moderator, comment_id: int) -> Comment:
    """The comment, if this moderator may see it; 404 for anything else."""
    comment = db.session.get(Comment, comment_id) if 0 < comment_id <= MAX_ID else None
    if comment is None or not moderator.can_moderate(comment.site_id):
        abort(404)
    return comment


def replies(comment: Comment) -> list[Comment]:
    """The direct replies to a comment, oldest first (without loading the whole thread)."""
    return list(db.session.scalars(
        sa.select(Comment).where(Comment.parent_id == comment.id).order_by(Comment.created_at, Comment.id)))


def get_thread(moderator: Moderator, thread_id: int) -> Thread:
    """The thread, if this moderator may see it; 404 otherwise."""
    thread = db.session.get(Thread, thread_id)
    if thread is None or not moderator.can_moderate(thread.site_id):
        abort(404)
    return thread


def comment_events(comment: Comment) -> list[ModerationEvent]:
    """The audit trail of one comment, newest first."""
    return list(db.session.scalars(
        sa.select(ModerationEvent).where(ModerationEvent.comment_id == comment.id)
        .order_by(ModerationEvent.created_at.desc(), ModerationEvent.id.desc())
    ))


AUDIT_PER_PAGE = 50


def audit_page(moderator: Moderator, site_key: str, action: str, actor: str, comment_id: int | None,
               page: int) -> tuple[list[ModerationEvent], int]:
    """Audit events the moderator may see, filtered, newest first."""
    query = sa.select(ModerationEvent).where(ModerationEvent.site_id.in_(site_ids(moderator, site_key)))
    if action:
        query = query.where(ModerationEvent.action == action)
    if actor:
        query = query.where(ModerationEvent.actor == actor)
    if comment_id is not None:
        query = query.where(ModerationEvent.comment_id == comment_id)
    total = db.session.scalar(query.with_only_columns(sa.func.count(ModerationEvent.id)).order_by(None)) or 0
    events = list(db.session.scalars(
        query.options(sa.orm.selectinload(ModerationEvent.comment))
        .order_by(ModerationEvent.created_at.desc(), ModerationEvent.id.desc())
        .offset((page - 1) * AUDIT_PER_PAGE).limit(AUDIT_PER_PAGE)
    ))
    return events, total


def audit_actions(moderator: Moderator) -> tuple[list[str], list[str]]:
    """The actions and actors that appear in the visible log, for the filter menus."""
    ids = site_ids(moderator)
    actions = db.session.scalars(sa.select(ModerationEvent.action).where(ModerationEvent.site_id.in_(ids))
                                 .distinct().order_by(ModerationEvent.action)).all()
    actors = db.session.scalars(sa.select(ModerationEvent.actor).where(ModerationEvent.site_id.in_(ids))
                                .distinct().order_by(ModerationEvent.actor).limit(200)).all()
    return list(actions), list(actors)
