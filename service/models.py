"""Database models.

Every schema change goes through a Flask-Migrate migration in
``migrations/versions``; these classes are the source of truth Alembic
compares against.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

import sqlalchemy as sa
import sqlalchemy.orm
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from . import limits
from .choices import DEFAULT_MODE, Delivery, Digest, Mode, Status, values_of
from .extensions import db
from .i18n import LANGUAGES

if TYPE_CHECKING:
    # What db.Model is, as a type checker can see it: an attribute of the
    # SQLAlchemy object cannot be a base class for mypy.
    class Model(DeclarativeBase):
        __table__: ClassVar[sa.Table]  # every model here maps one table
else:
    Model = db.Model


def utcnow() -> datetime:
    """Naive UTC now: the same on SQLite and PostgreSQL columns."""
    return datetime.now(UTC).replace(tzinfo=None)


def _one_of(column: str, choices) -> sa.CheckConstraint:
    """The database refuses any value of ``column`` outside the enum ``choices``."""
    return sa.CheckConstraint(sa.column(column).in_(values_of(choices)), name=column)


moderator_sites = db.Table(
    "moderator_sites",
    sa.Column("moderator_id", sa.ForeignKey("moderator.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("site_id", sa.ForeignKey("site.id", ondelete="CASCADE"), primary_key=True),
)


class Site(Model):
    """A blog that embeds the widget, with its own rules and moderators."""

    __table_args__ = (_one_of("mode", Mode), _one_of("digest", Digest))

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(limits.MAX_SITE_KEY), unique=True)
    name: Mapped[str] = mapped_column(sa.String(limits.MAX_SITE_NAME), default="")
    origins: Mapped[list] = mapped_column(sa.JSON, default=list)
    mode: Mapped[str] = mapped_column(sa.String(16), default=DEFAULT_MODE)
    banned_words: Mapped[list] = mapped_column(sa.JSON, default=list)
    suspect_words: Mapped[list] = mapped_column(sa.JSON, default=list)
    max_links: Mapped[int] = mapped_column(default=3)
    report_threshold: Mapped[int] = mapped_column(default=3)
    # In first-time mode, publish a first-timer the spam filter is confident about.
    spam_trust_first_time: Mapped[bool] = mapped_column(default=False, server_default="0")
    # None means the service-wide CAUSERIE_EDIT_WINDOW.
    edit_window: Mapped[int | None] = mapped_column(default=None)
    notify_emails: Mapped[list] = mapped_column(sa.JSON, default=list)
    digest: Mapped[str] = mapped_column(sa.String(16), default=Digest.INSTANT)
    last_digest_at: Mapped[datetime | None] = mapped_column(default=None)
    webhook_url: Mapped[str | None] = mapped_column(sa.String(limits.MAX_WEBHOOK_URL), default=None)
    # The language of the site's emails, to its moderators and to its readers.
    language: Mapped[str] = mapped_column(sa.String(limits.MAX_LANGUAGE_CODE), default=LANGUAGES[0],
                                          server_default=LANGUAGES[0])
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    threads = relationship("Thread", back_populates="site", cascade="all, delete-orphan")


class Thread(Model):
    """One article's discussion, found by its normalised URL or a page-given key."""

    __table_args__ = (
        sa.UniqueConstraint("site_id", "url", name="uq_thread_site_url"),
        sa.UniqueConstraint("site_id", "key", name="uq_thread_site_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(sa.String(limits.MAX_URL))
    key: Mapped[str | None] = mapped_column(sa.String(limits.MAX_THREAD_KEY), default=None)
    title: Mapped[str | None] = mapped_column(sa.String(limits.MAX_TITLE), default=None)
    locked: Mapped[bool] = mapped_column(default=False)
    # Bumped in the same transaction as any change a reader could see, so the
    # read path can validate caches and ETags with one cheap query.
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    site = relationship("Site", back_populates="threads")
    comments = relationship("Comment", back_populates="thread", cascade="all, delete-orphan")


class Comment(Model):
    """A reader's (or a moderator's) comment."""

    __table_args__ = (
        # The id too: the latest published comments of a thread are read
        # newest first without sorting them all (PostgreSQL's index would
        # not hold it otherwise; SQLite's ends with the row id anyway).
        sa.Index("ix_comment_thread_status_id", "thread_id", "status", "id"),
        sa.Index("ix_comment_site_status_created", "site_id", "status", "created_at"),
        sa.Index("ix_comment_site_email_hash", "site_id", "email_hash"),
        # The status too: "has this commenter a published comment here?" is asked
        # on every post, and SQLite would otherwise answer it from the
        # (site, status) index, reading all of the site's published comments.
        sa.Index("ix_comment_site_commenter_status", "site_id", "commenter_hash", "status"),
        sa.Index("ix_comment_site_text_hash", "site_id", "text_hash"),
        sa.UniqueConstraint("site_id", "import_ref", name="uq_comment_site_import_ref"),
        _one_of("status", Status),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id", ondelete="CASCADE"))
    thread_id: Mapped[int] = mapped_column(sa.ForeignKey("thread.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("comment.id", ondelete="SET NULL"), index=True, default=None
    )
    author: Mapped[str] = mapped_column(sa.String(limits.MAX_STORED_AUTHOR), default="")
    email: Mapped[str | None] = mapped_column(sa.String(limits.MAX_EMAIL), default=None)
    email_hash: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    # Keyed hash of the commenter key the author's browser keeps (see
    # hashing.commenter_key): trust and reply emails follow it, not a typed address.
    commenter_hash: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    website: Mapped[str | None] = mapped_column(sa.String(limits.MAX_WEBSITE), default=None)
    text: Mapped[str] = mapped_column(sa.Text, default="")
    html: Mapped[str] = mapped_column(sa.Text, default="")
    text_hash: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    status: Mapped[str] = mapped_column(sa.String(16), default=Status.PENDING)
    # Why the automatic rules held or refused it, shown in the queue.
    reasons: Mapped[list] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(default=None)
    edited_by_staff: Mapped[bool] = mapped_column(default=False)
    moderated_at: Mapped[datetime | None] = mapped_column(default=None)
    ip_hash: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    staff: Mapped[bool] = mapped_column(default=False)
    moderator_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("moderator.id", ondelete="SET NULL"), default=None
    )
    pinned: Mapped[bool] = mapped_column(default=False)
    notify: Mapped[bool] = mapped_column(default=False)
    # When the address's owner confirmed they want emails about replies (see
    # subscriptions): replies are emailed only once this is set.
    notify_confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    # Whether the author also asked for the page's new comments by email
    # (confirmed like replies), and up to when they have been told.
    follow: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    followed_until: Mapped[datetime | None] = mapped_column(default=None)
    # The language the author read the widget in, when the emails are written in it.
    language: Mapped[str | None] = mapped_column(sa.String(limits.MAX_LANGUAGE_CODE), default=None)
    edit_token_hash: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    # The source's identifier for imported comments, so re-imports add nothing.
    import_ref: Mapped[str | None] = mapped_column(sa.String(limits.MAX_IMPORT_REF), default=None)
    # The spam filter's opinion when the comment arrived: its score (0 genuine
    # .. 1 spam), its call (a SpamVerdict) and its strongest reasons.
    spam_score: Mapped[float | None] = mapped_column(sa.Float, default=None)
    spam_verdict: Mapped[str | None] = mapped_column(sa.String(8), default=None)
    spam_reasons: Mapped[list | None] = mapped_column(sa.JSON, default=None)

    thread = relationship("Thread", back_populates="comments")
    site = relationship("Site")
    parent = relationship("Comment", remote_side=[id])
    reports = relationship("Report", back_populates="comment", cascade="all, delete-orphan")


class SpamCount(Model):
    """How many spam and genuine lessons of a site had a feature (the spam filter's state).

    The row with the empty feature holds the site's totals.  Every worker
    and instance reads and writes the same rows, in the transaction of the
    decision that teaches them.
    """

    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id", ondelete="CASCADE"), primary_key=True)
    feature: Mapped[str] = mapped_column(sa.String(limits.MAX_SPAM_FEATURE), primary_key=True)
    spam: Mapped[int] = mapped_column(default=0)
    ham: Mapped[int] = mapped_column(default=0)


class SpamLesson(Model):
    """What one comment taught the filter, kept so that it can be taken back exactly."""

    comment_id: Mapped[int] = mapped_column(sa.ForeignKey("comment.id", ondelete="CASCADE"), primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(sa.String(8))  # a SpamLabel
    features: Mapped[list] = mapped_column(sa.JSON, default=list)
    # Where the comment was, and what it taught, before this lesson: an undo
    # (a step back to that status) restores it.
    before_status: Mapped[str | None] = mapped_column(sa.String(16), default=None)
    before_label: Mapped[str | None] = mapped_column(sa.String(8), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Moderator(Model):
    """A person who signs in to the moderation queue."""

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(limits.MAX_EMAIL), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    is_admin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)

    sites = relationship("Site", secondary=moderator_sites)
    sessions = relationship("ModeratorSession", cascade="all, delete-orphan", passive_deletes=True)

    def can_moderate(self, site_id: int) -> bool:
        """Admins moderate every site; others only the sites assigned."""
        return self.is_admin or any(site.id == site_id for site in self.sites)


class ModeratorSession(Model):
    """One signed-in browser of a moderator.

    The session cookie carries a random token whose hash names this row; the
    row must exist and be unexpired on every request, so signing out, a
    password change or ``causerie moderators revoke`` ends a session on the
    server, whatever copies of the cookie exist.
    """

    __tablename__ = "moderator_session"

    # SHA-256 of the cookie's token: the table alone cannot sign anyone in.
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    moderator_id: Mapped[int] = mapped_column(sa.ForeignKey("moderator.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class Ban(Model):
    """A commenter refused by email hash and/or IP hash, maybe for a while."""

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id", ondelete="CASCADE"), index=True)
    email_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True, default=None)
    ip_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True, default=None)
    reason: Mapped[str] = mapped_column(sa.String(limits.MAX_REASON), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    moderator_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("moderator.id", ondelete="SET NULL"), default=None
    )


class Report(Model):
    """A reader's report that a comment is abusive."""

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(sa.ForeignKey("comment.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(sa.String(limits.MAX_REASON), default="")
    ip_hash: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved: Mapped[bool] = mapped_column(default=False)

    comment = relationship("Comment", back_populates="reports")


class ModerationEvent(Model):
    """The audit log: who did what to which comment, from which status to which."""

    __table_args__ = (sa.Index("ix_event_site_created", "site_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("comment.id", ondelete="SET NULL"), index=True, default=None
    )
    thread_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("thread.id", ondelete="SET NULL"), default=None
    )
    # None: the automatic rules, a reader, or the command line acted.
    moderator_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("moderator.id", ondelete="SET NULL"), default=None
    )
    actor: Mapped[str] = mapped_column(sa.String(limits.MAX_ACTOR), default="system")
    action: Mapped[str] = mapped_column(sa.String(limits.MAX_ACTION))
    from_status: Mapped[str | None] = mapped_column(sa.String(16), default=None)
    to_status: Mapped[str | None] = mapped_column(sa.String(16), default=None)
    detail: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    moderator = relationship("Moderator")
    comment = relationship("Comment")
    thread = relationship("Thread")


class Outbox(Model):
    """A notification waiting to be delivered, written with the change that caused it."""

    __table_args__ = (sa.Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("site.id", ondelete="CASCADE"), default=None
    )
    topic: Mapped[str] = mapped_column(sa.String(64))
    payload: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    status: Mapped[str] = mapped_column(sa.String(16), default=Delivery.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


class UsedToken(Model):
    """Single-use links (one-click moderation) that have already been spent."""

    jti: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(default=utcnow)


@sa.event.listens_for(sa.orm.Session, "before_flush")
def _bump_thread_versions(session, _flush_context, _instances):
    """Advance a thread's version whenever something readers see changes.

    Doing it here, in the flush, means no ORM write path can forget it, and
    the version moves in the same transaction as the change itself.  The two
    paths that write with Core statements advance it themselves: posting
    (``comments._insert``) and the importer.
    """
    touched = {}
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, Comment) and obj.thread is not None:
            touched[id(obj.thread)] = obj.thread
        elif isinstance(obj, Thread) and obj in session.dirty and session.is_modified(obj):
            touched[id(obj)] = obj
    for thread in touched.values():
        if thread.id is not None and thread not in session.deleted:
            thread.version = Thread.version + 1
