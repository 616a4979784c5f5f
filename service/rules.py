"""Automatic moderation: plain functions, each giving a verdict and a reason.

The write path builds a :class:`Submission`, and :func:`judge` runs every rule
over it.  A ``refuse`` verdict stops the post with an error; otherwise the
strongest verdict decides the status and every reason is kept, so the queue
can say why a comment was held.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa

from .extensions import db
from .models import Ban, Comment, Site, utcnow

# Strongest first: the status a comment gets when several rules speak.
STRENGTH = {"spam": 4, "rejected": 3, "pending": 2, "approved": 1}
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


@dataclass
class Verdict:
    """One rule's opinion: refuse, or a status, and why."""

    outcome: str  # "refuse" or a key of STRENGTH
    reason: str
    detail: dict = field(default_factory=dict)


def banned_commenter(sub: Submission) -> Verdict | None:
    """A banned commenter is refused outright (403)."""
    keys = [(Ban.email_hash, sub.email_hash), (Ban.ip_hash, sub.ip_hash)]
    matches = [column == value for column, value in keys if value]
    if not matches:
        return None
    now = utcnow()
    ban = db.session.scalar(
        sa.select(Ban)
        .where(Ban.site_id == sub.site.id, sa.or_(*matches))
        .where(sa.or_(Ban.expires_at.is_(None), Ban.expires_at > now))
        .limit(1)
    )
    return Verdict("refuse", "banned", {"until": ban.expires_at}) if ban else None


def honeypot(sub: Submission) -> Verdict | None:
    """Only bots fill the field that humans never see."""
    return Verdict("spam", "honeypot") if sub.honeypot else None


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
    found = _words_in(sub.text, sub.site.banned_words or [])
    return Verdict("rejected", "banned_word", {"words": found}) if found else None


def suspect_words(sub: Submission) -> Verdict | None:
    """A word worth a human look: the comment is held."""
    found = _words_in(sub.text, sub.site.suspect_words or [])
    return Verdict("pending", "suspect_word", {"words": found}) if found else None


def too_many_links(sub: Submission) -> Verdict | None:
    """Link-stuffed comments are held."""
    count = len(LINK_PATTERN.findall(sub.text))
    return Verdict("pending", "too_many_links", {"links": count}) if count > sub.site.max_links else None


def too_fast(sub: Submission) -> Verdict | None:
    """Posted sooner after loading the thread than a person can type, or with no ticket."""
    if sub.seconds_since_load is None:
        return Verdict("pending", "no_ticket")
    if sub.seconds_since_load < sub.min_seconds:
        return Verdict("pending", "too_fast", {"seconds": round(sub.seconds_since_load, 1)})
    return None


def duplicate_text(sub: Submission) -> Verdict | None:
    """The same text again: from the same person, or many times over, is spam."""
    since = utcnow() - DUPLICATE_WINDOW
    same_person = [column == value for column, value in ((Comment.email_hash, sub.email_hash),
                                                         (Comment.ip_hash, sub.ip_hash)) if value]
    mine = sa.func.count(sa.case((sa.or_(*same_person), 1))) if same_person else sa.literal(0)
    copies, own_copies = db.session.execute(
        sa.select(sa.func.count(Comment.id), mine).where(
            Comment.site_id == sub.site.id,
            Comment.text_hash == sub.text_hash,
            Comment.created_at >= since,
            Comment.status != "deleted",
        )
    ).one()
    if own_copies:
        return Verdict("spam", "duplicate")
    folded_length = sum(ch.isalnum() for ch in sub.text)
    if folded_length >= MIN_SHARED_DUPLICATE_LENGTH and copies >= 2:
        return Verdict("spam", "duplicate")
    return None


def site_mode(sub: Submission) -> Verdict:
    """The site's moderation mode decides what the other rules left open."""
    mode = sub.site.mode
    if mode == "post":
        return Verdict("approved", "mode_post")
    if mode == "first-time" and sub.email_hash and _has_approved(sub):
        return Verdict("approved", "trusted_commenter")
    return Verdict("pending", "mode_pre" if mode == "pre" else "first_time")


def _has_approved(sub: Submission) -> bool:
    return db.session.scalar(
        sa.select(Comment.id)
        .where(Comment.site_id == sub.site.id, Comment.email_hash == sub.email_hash, Comment.status == "approved")
        .limit(1)
    ) is not None


RULES = (banned_commenter, honeypot, banned_words, duplicate_text, too_fast, suspect_words, too_many_links)


def judge(sub: Submission) -> tuple[str, list[Verdict]]:
    """Run every rule; return ("refuse" or the status, the verdicts that spoke)."""
    verdicts: list[Verdict] = []
    for rule in RULES:
        verdict = rule(sub)
        if verdict is None:
            continue
        if verdict.outcome == "refuse":
            return "refuse", [verdict]
        verdicts.append(verdict)
    mode = site_mode(sub)
    status = max([v.outcome for v in verdicts] + [mode.outcome], key=STRENGTH.__getitem__)
    if status == "pending" or mode.outcome == "pending":
        verdicts.append(mode)
    return status, verdicts


def reasons(verdicts: list[Verdict]) -> list[str]:
    """The reason codes stored with a comment and shown in the queue."""
    return [v.reason for v in verdicts if v.outcome != "approved"]


