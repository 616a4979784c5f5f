"""The spam filter of each site: judge a new comment, learn from moderators' decisions.

The state is the ``spam_count`` table (per site and feature, how many spam
and genuine lessons had it) and ``spam_lesson`` (what each taught comment
added, so that it can be taken back exactly).  Both change in the caller's
transaction: a decision and its lesson commit or roll back together.

Only moderators' decisions and imports teach: nothing in a reader's request
reaches :func:`teach`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import current_app

from .. import sqljson
from ..choices import SpamLabel, SpamVerdict, Status
from ..extensions import db
from ..metrics import count_spam_decision
from ..models import Comment, Site, SpamCount, SpamLesson, Thread
from . import model, prior

log = logging.getLogger(__name__)

# Scores below HOLD_AT are published, from SPAM_AT up filed as spam, held between.
# The hold band is narrow and high on purpose: a genuine comment kept
# waiting costs a reader as much as a spam shown costs the site.
HOLD_AT = 0.7
SPAM_AT = 0.9
# In first-time mode, a site may publish a first-timer scoring below this.
TRUST_BELOW = 0.2
# A decision's status, and what it teaches the filter.
LABELS: dict[str, SpamLabel] = {
    Status.APPROVED: SpamLabel.HAM,
    Status.SPAM: SpamLabel.SPAM,
    Status.REJECTED: SpamLabel.SPAM,
    Status.DELETED: SpamLabel.SPAM,
}
THREAD_TEXTS = 12  # approved comments of the thread the relevance signal looks at
MAX_REASONS = 3
TOTALS = ""  # the feature under which a site's totals are kept


@dataclass
class Judgement:
    """The filter's opinion of one comment."""

    score: float
    verdict: SpamVerdict
    reasons: list[dict[str, Any]] = field(default_factory=list)


def verdict_of(score: float) -> SpamVerdict:
    """publish, hold or spam for a score."""
    return SpamVerdict.PUBLISH if score < HOLD_AT else SpamVerdict.HOLD if score < SPAM_AT else SpamVerdict.SPAM


# ------------------------------------------------------------------ context

_comment = Comment.__table__.c
_count_table = SpamCount.__table__


def _lookup_columns(site: sa.ColumnElement[int], thread: sa.ColumnElement[int]) -> tuple[sa.Label[Any], ...]:
    """What a comment is judged with, as the columns of one row: the site's
    counts of the candidate features (``features``, a JSON array), the
    thread's latest published comments (what the page is about) and whether
    the commenter has a published comment on the site.  ``exclude``: the
    comment itself, when it is an edit."""
    latest = (
        sa.select(_comment.text)
        .where(_comment.thread_id == thread, _comment.status == Status.APPROVED,
               _comment.id != sa.bindparam("exclude"))
        .order_by(_comment.id.desc()).limit(THREAD_TEXTS)
        .correlate_except(Comment.__table__).subquery("latest")
    )
    counts = _count_table.c
    return (
        sa.select(sqljson.json_list(sqljson.json_tuple(counts.feature, counts.spam, counts.ham)))
        .where(counts.site_id == site,
               sqljson.in_json_strings(counts.feature, sa.bindparam("features", type_=sa.Text)))
        .scalar_subquery().label("spam_counts"),
        sa.select(sqljson.json_list(latest.c.text)).scalar_subquery().label("spam_texts"),
        # A returning commenter is known by the key their browser proves (see
        # hashing.commenter_key), never by an email anyone can type.
        sa.exists().where(_comment.site_id == site, _comment.commenter_hash == sa.bindparam("commenter_hash"),
                          _comment.status == Status.APPROVED, _comment.id != sa.bindparam("exclude"))
        .label("spam_known"),
    )


# Built once, as Core statements with parameters (see Question).
LOOKUP = sa.select(*_lookup_columns(sa.bindparam("site"), sa.bindparam("thread")))
LOOKUP_COLUMNS = _lookup_columns(Site.__table__.c.id, Thread.__table__.c.id)
"""The same questions as columns of a query of the site and its thread (see
threads.load_for_write): the write path asks them with the site's, in one
statement, with the parameters of :func:`question`."""


@dataclass(frozen=True)
class Question:
    """What the filter will ask the database about one comment."""

    # The features of the comment alone; None if finding them failed (logged).
    own_features: frozenset[str] | None
    params: dict[str, Any]


def question(text: str, author: str = "", website: str | None = None, commenter_hash: str | None = None,
             exclude: int = 0) -> Question:
    """The parameters of :data:`LOOKUP_COLUMNS` for this comment.  Never raises.

    The features that depend on the page and the commenter can only take a
    few values: asking for all of them saves waiting for the context first.
    """
    try:
        own: frozenset[str] | None = frozenset(model.comment_features(text, author, website))
    except Exception:  # judged as a failure of the filter, see judge
        log.exception("spam filter: no features for a comment")
        own = None
    candidates = sorted((own or frozenset()) | model.CONTEXT_FEATURES | {TOTALS})
    return Question(own, {"features": json.dumps(candidates), "commenter_hash": commenter_hash,
                          "exclude": exclude})


def _answers(row: Any) -> tuple[tuple[str, ...], bool, dict[str, tuple[int, int]]]:
    """(thread texts, known commenter, the site's counts) from a row with :data:`LOOKUP_COLUMNS`."""
    own = {feature: (spam, ham) for feature, spam, ham in sqljson.listed(row.spam_counts)}
    return tuple(sqljson.listed(row.spam_texts)), bool(row.spam_known), own


def _ask(site_id: int, thread_id: int | None, asked: Question) -> Any:
    return db.session.connection().execute(LOOKUP, {**asked.params, "site": site_id, "thread": thread_id}).one()


def context(site_id: int, *, thread_id: int | None, title: str | None, url: str | None,
            email_hash: str | None, commenter_hash: str | None, is_reply: bool, exclude: int = 0) -> model.Context:
    """What the filter knows of the page and the commenter (``exclude``: the comment itself)."""
    asked = Question(frozenset(), {"features": "[]", "commenter_hash": commenter_hash, "exclude": exclude})
    texts, known, _ = _answers(_ask(site_id, thread_id, asked))
    return model.Context(title=title or "", url=url or "", thread_texts=texts, known_commenter=known,
                         has_email=bool(email_hash), is_reply=is_reply)


# ------------------------------------------------------------------ counts

def blended(own: dict[str, tuple[int, int]], found: set[str]) -> tuple[dict[str, tuple[float, float]], float, float]:
    """The site's counts plus the built-in prior's: (counts, spam total, ham total)."""
    base = prior.load() if current_app.config.get("CAUSERIE_SPAM_PRIOR", True) else prior.NONE
    counts = {}
    for feature in found:
        s, h = own.get(feature, (0, 0))
        ps, ph = base.counts.get(feature, (0.0, 0.0))
        counts[feature] = (s + ps, h + ph)
    spam_total, ham_total = own.get(TOTALS, (0, 0))
    return counts, spam_total + base.spam_total, ham_total + base.ham_total


def judge(site_id: int, *, text: str, author: str = "", website: str | None = None, email_hash: str | None = None,
          commenter_hash: str | None = None, thread_id: int | None = None, title: str | None = None,
          url: str | None = None, is_reply: bool = False, exclude: int = 0,
          asked: tuple[Question, Any] | None = None) -> Judgement | None:
    """Score a new (or edited: ``exclude`` is then its id) comment; None if scoring
    failed (logged): the site's mode then decides alone.

    ``asked``: the :func:`question` of this comment and the row that answered
    it (with the columns of :data:`LOOKUP_COLUMNS`); without it the filter
    asks the database itself.

    Never raises: the filter must not stand between a reader and the write path.
    """
    try:
        if asked is None:
            own_question = question(text, author, website, commenter_hash, exclude)
            asked = (own_question, _ask(site_id, thread_id, own_question) if own_question.own_features is not None
                     else None)
        own_features = asked[0].own_features
        if own_features is None:
            raise ValueError("the comment's own features are missing")
        texts, known, own = _answers(asked[1])
        ctx = model.Context(title=title or "", url=url or "", has_email=bool(email_hash), is_reply=is_reply,
                            thread_texts=texts, known_commenter=known)
        found = model.context_features(text, website, ctx) | own_features
        counts, spam_total, ham_total = blended(own, found)
        result = model.score(found, counts, spam_total, ham_total)
        judgement = Judgement(round(result.value, 4), verdict_of(result.value), reasons(result.clues, own))
    except Exception:  # any failure falls back to the site's mode, logged
        log.exception("spam filter: scoring failed for site %s", site_id)
        count_spam_decision("error")
        return None
    count_spam_decision(judgement.verdict)
    return judgement


# ------------------------------------------------------------------ reasons

def _reason(feature: str, own: dict[str, tuple[int, int]]) -> dict[str, Any] | None:
    family, _, value = feature.partition(":")
    if family == "topic" and value == "none":
        return {"code": "off_topic"}
    if family == "phone":
        return {"code": "phone"}
    if family == "email-in-text":
        return {"code": "email"}
    if family == "link" and value != "anchor":
        return {"code": "link_domain", "domain": value, "spam": own.get(feature, (0, 0))[0]}
    if family in ("link", "links"):
        return {"code": "links"}
    if family == "web":
        return {"code": "website_domain", "domain": value, "spam": own.get(feature, (0, 0))[0]}
    if family == "website":
        return {"code": "website_first" if value == "first-comment" else "website"}
    if family in ("a", "name"):
        return {"code": "name"}
    if family == "script" and value == "foreign":
        return {"code": "script"}
    if family in ("shouting", "exclamations"):
        return {"code": "shouting"}
    if family == "length":
        return {"code": "length"}
    if family == "commenter" and value != "known":
        return {"code": "new_commenter"}
    if family == "w":
        return {"code": "words", "words": [value]}
    return None


def reasons(clues: list[model.Clue], own: dict[str, tuple[int, int]]) -> list[dict[str, Any]]:
    """The strongest spam-ward clues in words a moderator reads (codes; see moderation.labels)."""
    found: list[dict[str, Any]] = []
    for clue in clues:
        if clue.prob < 0.5 + model.MIN_STRENGTH:
            continue
        reason = _reason(clue.feature, own)
        if reason is None:
            continue
        same = next((r for r in found if r["code"] == reason["code"]), None)
        if same is not None:
            if reason["code"] == "words" and len(same["words"]) < 3:
                same["words"] += reason["words"]
            continue
        if len(found) == MAX_REASONS:
            break
        found.append(reason)
    return found


# ------------------------------------------------------------------ teaching

def _upsert() -> sa.Insert:
    """An insert that adds to the counts already there (both dialects speak ON CONFLICT)."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert  # noqa: PLC0415
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]  # noqa: PLC0415 - the same API
    statement = insert(_count_table)
    return statement.on_conflict_do_update(
        index_elements=[_count_table.c.site_id, _count_table.c.feature],
        set_={"spam": _count_table.c.spam + statement.excluded.spam,
              "ham": _count_table.c.ham + statement.excluded.ham})


def _add(site_id: int, changes: dict[str, list[int]]) -> None:
    """Add ``changes`` (feature -> [spam, ham] deltas) to the site's counts."""
    if changes:
        db.session.execute(_upsert(), [{"site_id": site_id, "feature": f, "spam": s, "ham": h}
                                       for f, (s, h) in sorted(changes.items())])


def _delta(features: Iterable[str], label: str, sign: int, into: dict[str, list[int]]) -> None:
    index = 0 if label == SpamLabel.SPAM else 1
    for feature in [TOTALS, *features]:
        into.setdefault(feature, [0, 0])[index] += sign


def features_of(comment: Comment) -> set[str]:
    """A stored comment's features, against its thread as it is now (without itself)."""
    thread = comment.thread or db.session.get(Thread, comment.thread_id)
    ctx = context(comment.site_id, thread_id=comment.thread_id, title=thread.title if thread else "",
                  url=thread.url if thread else "", email_hash=comment.email_hash,
                  commenter_hash=comment.commenter_hash,
                  is_reply=comment.parent_id is not None, exclude=comment.id or 0)
    return model.features(comment.text, comment.author, comment.website, ctx)


def teach(comment: Comment, before: str) -> None:
    """Bring the filter in line with a moderator moving ``comment`` from ``before`` to its status now.

    Approving teaches "genuine"; spam, reject and delete teach "spam"; sending
    back to the queue takes the lesson back.  A step back to the status the
    comment had before its lesson (the queue's Undo) restores what it taught
    before, nothing if it taught nothing.  Called in the decision's transaction.
    """
    lesson = db.session.get(SpamLesson, comment.id)
    previous: tuple[str | None, str | None]
    if lesson is not None and lesson.before_status == comment.status:
        label, previous = lesson.before_label, (None, None)
    else:
        label = LABELS.get(comment.status) if not comment.staff and comment.text else None
        previous = (before, lesson.label if lesson is not None else None)
    if lesson is not None and lesson.label == label:
        lesson.before_status, lesson.before_label = previous
        return
    changes: dict[str, list[int]] = {}
    if lesson is not None:
        _delta(lesson.features, lesson.label, -1, changes)
        db.session.delete(lesson)
        db.session.flush()
    if label is not None:
        found = sorted(features_of(comment))
        _delta(found, label, +1, changes)
        db.session.add(SpamLesson(comment_id=comment.id, site_id=comment.site_id, label=label, features=found,
                                  before_status=previous[0], before_label=previous[1]))
    _add(comment.site_id, changes)
    db.session.flush()


def teach_many(site_id: int, lessons: Sequence[tuple[int, str, set[str]]]) -> None:
    """Add many lessons at once (comment id, ``spam``/``ham``, features): imports and retraining."""
    changes: dict[str, list[int]] = {}
    rows = []
    for comment_id, label, found in lessons:
        ordered = sorted(found)
        _delta(ordered, label, +1, changes)
        rows.append({"comment_id": comment_id, "site_id": site_id, "label": label, "features": ordered})
    _add(site_id, changes)
    for start in range(0, len(rows), 1000):
        db.session.execute(sa.insert(SpamLesson), rows[start:start + 1000])


def retrain(site_id: int) -> tuple[int, int]:
    """Rebuild the site's counts from its history; returns (spam, genuine) lessons.

    The history is every comment a person decided: those a moderator
    approved, rejected, marked as spam or deleted, those an import brought in
    approved or as spam, and any that taught the filter before.  Running it
    twice gives the same counts.
    """
    taught = set(db.session.scalars(sa.select(SpamLesson.comment_id).where(SpamLesson.site_id == site_id)))
    db.session.execute(sa.delete(SpamLesson).where(SpamLesson.site_id == site_id))
    db.session.execute(sa.delete(SpamCount).where(SpamCount.site_id == site_id))
    query = (sa.select(Comment).where(Comment.site_id == site_id, Comment.staff.is_(False), Comment.text != "",
                                      Comment.status.in_(LABELS))
             .order_by(Comment.id))
    lessons = []
    for comment in db.session.scalars(query):
        if comment.id in taught or _decided(comment):
            lessons.append((comment.id, LABELS[comment.status], features_of(comment)))
    teach_many(site_id, lessons)
    spam = sum(1 for _, label, _ in lessons if label == SpamLabel.SPAM)
    return spam, len(lessons) - spam


def _decided(comment: Comment) -> bool:
    """A person decided this comment's status: a moderator, or the site an import came from."""
    if comment.moderated_at is not None:
        return True
    return comment.import_ref is not None and comment.status in (Status.APPROVED, Status.SPAM)


def forget(comment_ids: list[int]) -> None:
    """Drop the per-comment record of lessons (the counts stay): erasing a person's data."""
    if comment_ids:
        db.session.execute(sa.delete(SpamLesson).where(SpamLesson.comment_id.in_(comment_ids)))
