"""Automatic moderation: plain functions, each giving a verdict and a reason.

The write path builds a :class:`Submission`, and :func:`judge` runs every rule
over it.  A ``refuse`` verdict stops the post with an error; otherwise the
strongest verdict decides the status and every reason is kept, so the queue
can say why a comment was held.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from . import spam
from .choices import Mode, SpamVerdict, Status
from .extensions import db
from .models import Ban, Comment, Site, utcnow

# Strongest first: the status a comment gets when several rules speak.
STRENGTH: dict[str, int] = {Status.SPAM: 4, Status.REJECTED: 3, Status.PENDING: 2, Status.APPROVED: 1}
# A bare "www." counts as a link, but not the one inside "https://www.":
# that would count one link twice.
LINK_PATTERN = re.compile(r"https?://|(?<![/\w.])www\.", re.IGNORECASE)
# Texts shorter than this (folded) are too common ("Merci !") to call copies
# from different people spam.
MIN_SHARED_DUPLICATE_LENGTH = 20
DUPLICATE_WINDOW = timedelta(days=1)


@dataclass
class Submission:
    """What the rules look at, gathered once by the write path."""

    site: Site
    text: str
    email_hash: str | None
    ip_hash: str | None
    text_hash: str
    honeypot: str = ""
    seconds_since_load: float | None = None
    min_seconds: float = 3
    # The spam filter's opinion (None: it could not score, or was not asked).
    spam: spam.Judgement | None = None
    # The key the author's browser proved (see hashing.commenter_key): what
    # makes a returning commenter trusted, never the typed email.
    commenter_hash: str | None = None
    # The name and website are shown beside the text, so the word and link
    # rules read them too.
    author: str = ""
    website: str | None = None
    # When a reader edits a published comment: that comment, left out of
    # the history the rules compare with (it is not its own copy, nor its
    # own proof of trust).
    comment_id: int | None = None

    # The history, when the write path asked for it with the site.
    known_past: History | None = None

    @property
    def past(self) -> History:
        """The submission's history, asked of the database when a rule first
        needs it, unless it came with the submission."""
        if self.known_past is None:
            self.known_past = history(self)
        return self.known_past

    @property
    def shown(self) -> str:
        """Everything readers will see: the text, the name and the website."""
        return "\n".join(part for part in (self.text, self.author, self.website) if part)


@dataclass
class Verdict:
    """One rule's opinion: refuse, or a status, and why."""

    outcome: str  # "refuse" or a key of STRENGTH
    reason: str
    detail: dict[str, Any] = field(default_factory=dict)


# What the rules need from the database: the copies of the text in the last
# day (all, and the commenter's own), and the commenter's active ban if any.
# A missing email or address is NULL, which equals nothing.
_ban, _comment = Ban.__table__.c, Comment.__table__.c


def _history_columns(site: sa.ColumnElement[int]) -> tuple[sa.Label[Any], ...]:
    copies = sa.and_(_comment.site_id == site, _comment.text_hash == sa.bindparam("text_hash"),
                     _comment.created_at >= sa.bindparam("since"), _comment.status != Status.DELETED,
                     _comment.id != sa.bindparam("edited"))
    own = sa.or_(_comment.email_hash == sa.bindparam("email_hash"), _comment.ip_hash == sa.bindparam("ip_hash"))
    active_ban = sa.and_(
        _ban.site_id == site,
        sa.or_(_ban.email_hash == sa.bindparam("email_hash"), _ban.ip_hash == sa.bindparam("ip_hash")),
        sa.or_(_ban.expires_at.is_(None), _ban.expires_at > sa.bindparam("now")),
    )
    return (
        sa.select(sa.func.count(_comment.id)).where(copies).scalar_subquery().label("copies"),
        sa.select(sa.func.count(_comment.id)).where(copies, own).scalar_subquery().label("own_copies"),
        sa.exists().where(active_ban).label("banned"),
        # The ban that lasts longest: a permanent one (no end) first.
        sa.select(_ban.expires_at).where(active_ban).order_by(_ban.expires_at.desc().nulls_first()).limit(1)
        .scalar_subquery().label("banned_until"),
    )


# Built once, as Core statements with parameters (see history_params).
_HISTORY = sa.select(*_history_columns(sa.bindparam("site")))
HISTORY_COLUMNS = _history_columns(Site.__table__.c.id)
"""The same questions as columns of a query of the site's row (see
threads.load_for_write): the write path asks them with the site, in one
statement."""


def history_params(text_hash: str, email_hash: str | None, ip_hash: str | None,
                   edited: int | None = None) -> dict[str, Any]:
    """The parameters of the history's questions, for a text from this address."""
    now = utcnow()
    return {"text_hash": text_hash, "email_hash": email_hash, "ip_hash": ip_hash, "now": now,
            "since": now - DUPLICATE_WINDOW, "edited": edited or 0}


@dataclass(frozen=True)
class History:
    """What the database knows that the rules ask about a submission."""

    copies: int  # the same text on the site in the last day
    own_copies: int  # of which from the same email or address
    banned: bool
    banned_until: datetime | None  # None with banned: for good


def history(sub: Submission) -> History:
    """Ask the database, in one statement, what the rules need to know of ``sub``'s past."""
    row = db.session.connection().execute(_HISTORY, {
        "site": sub.site.id, **history_params(sub.text_hash, sub.email_hash, sub.ip_hash, sub.comment_id)}).one()
    return history_of(row)


def history_of(row: Any) -> History:
    """The history in a row holding the columns of :data:`HISTORY_COLUMNS`."""
    return History(row.copies, row.own_copies, bool(row.banned), row.banned_until)


def banned_commenter(sub: Submission) -> Verdict | None:
    """A banned commenter is refused outright (403)."""
    past = sub.past
    return Verdict("refuse", "banned", {"until": past.banned_until}) if past.banned else None


def honeypot(sub: Submission) -> Verdict | None:
    """Only bots fill the field that humans never see."""
    return Verdict(Status.SPAM, "honeypot") if sub.honeypot else None


def _words_in(text: str, words: list[str]) -> list[str]:
    folded = text.casefold()
    found = []
    for word in words:
        word = word.strip().casefold()
        if word and re.search(rf"(?<!\w){re.escape(word)}(?!\w)", folded):
            found.append(word)
    return found


def banned_words(sub: Submission) -> Verdict | None:
    """A word the site refuses: the comment is rejected."""
    found = _words_in(sub.shown, sub.site.banned_words or [])
    return Verdict(Status.REJECTED, "banned_word", {"words": found}) if found else None


def suspect_words(sub: Submission) -> Verdict | None:
    """A word worth a human look: the comment is held."""
    found = _words_in(sub.shown, sub.site.suspect_words or [])
    return Verdict(Status.PENDING, "suspect_word", {"words": found}) if found else None


def too_many_links(sub: Submission) -> Verdict | None:
    """Link-stuffed comments are held (a link in the name counts; the website field does not)."""
    count = len(LINK_PATTERN.findall(sub.text)) + len(LINK_PATTERN.findall(sub.author))
    return Verdict(Status.PENDING, "too_many_links", {"links": count}) if count > sub.site.max_links else None


def too_fast(sub: Submission) -> Verdict | None:
    """Posted sooner after loading the thread than a person can type, or with no ticket."""
    if sub.seconds_since_load is None:
        return Verdict(Status.PENDING, "no_ticket")
    if sub.seconds_since_load < sub.min_seconds:
        return Verdict(Status.PENDING, "too_fast", {"seconds": round(sub.seconds_since_load, 1)})
    return None


def duplicate_text(sub: Submission) -> Verdict | None:
    """The same text again: from the same person, or many times over, is spam."""
    past = sub.past
    if past.own_copies:
        return Verdict(Status.SPAM, "duplicate")
    # The text's length is counted only when copies were found (rarely).
    if past.copies >= 2 and sum(ch.isalnum() for ch in sub.text) >= MIN_SHARED_DUPLICATE_LENGTH:
        return Verdict(Status.SPAM, "duplicate")
    return None


def site_mode(sub: Submission) -> Verdict:
    """The site's moderation mode decides what the other rules left open."""
    mode = sub.site.mode
    if mode == Mode.POST:
        return Verdict(Status.APPROVED, "mode_post")
    if mode == Mode.AUTO:
        return spam_filter(sub)
    if mode == Mode.FIRST_TIME and sub.commenter_hash and _has_approved(sub):
        return Verdict(Status.APPROVED, "trusted_commenter")
    if mode == Mode.FIRST_TIME and sub.site.spam_trust_first_time and sub.spam is not None \
            and sub.spam.score < spam.TRUST_BELOW:
        return Verdict(Status.APPROVED, "spam_filter_trusts")
    return Verdict(Status.PENDING, "mode_pre" if mode == Mode.PRE else "first_time")


def spam_filter(sub: Submission) -> Verdict:
    """The auto mode: publish what the filter trusts, hold what it doubts, file what it is sure of.

    When scoring failed the comment waits for a moderator.
    """
    if sub.spam is None:
        return Verdict(Status.PENDING, "spam_filter_failed")
    if sub.spam.verdict == SpamVerdict.PUBLISH:
        return Verdict(Status.APPROVED, "spam_filter_trusts")
    if sub.spam.verdict == SpamVerdict.HOLD:
        return Verdict(Status.PENDING, "spam_filter_doubts")
    return Verdict(Status.SPAM, "spam_filter")


def _has_approved(sub: Submission) -> bool:
    # Anyone can type an address, so only the commenter key counts.
    return db.session.scalar(
        sa.select(Comment.id)
        .where(Comment.site_id == sub.site.id, Comment.commenter_hash == sub.commenter_hash,
               Comment.status == Status.APPROVED, Comment.id != (sub.comment_id or 0))
        .limit(1)
    ) is not None


Rule = Callable[[Submission], Verdict | None]
RULES: tuple[Rule, ...] = (
    banned_commenter, honeypot, banned_words, duplicate_text, too_fast, suspect_words, too_many_links,
)
# A reader's edit of their comment: every rule of a new post but those about
# the form itself (an edit has no honeypot field and no load ticket).
EDIT_RULES = tuple(rule for rule in RULES if rule not in (honeypot, too_fast))


def judge(sub: Submission, checks: tuple[Rule, ...] = RULES) -> tuple[str, list[Verdict]]:
    """Run every rule of ``checks`` and the site's mode; return ("refuse" or
    the status, the verdicts that spoke)."""
    verdicts: list[Verdict] = []
    for rule in checks:
        verdict = rule(sub)
        if verdict is None:
            continue
        if verdict.outcome == "refuse":
            return "refuse", [verdict]
        verdicts.append(verdict)
    mode = site_mode(sub)
    status = max([v.outcome for v in verdicts] + [mode.outcome], key=STRENGTH.__getitem__)
    if status == Status.PENDING or mode.outcome in (Status.PENDING, Status.SPAM):
        verdicts.append(mode)
    return status, verdicts


def reasons(verdicts: list[Verdict]) -> list[str]:
    """The reason codes stored with a comment and shown in the queue."""
    return [v.reason for v in verdicts if v.outcome != Status.APPROVED]


