"""Replay a labelled comment stream through a throwaway site, as readers and a moderator would.

Each row is posted through the real write path (rules, the spam filter, the
site's mode) by a reader of its own (a distinct email and address, a valid
ticket), then a simulated moderator corrects what the site did: a held
comment is decided by its label, a spam that reached readers is marked as
spam, a genuine comment filed as spam is rescued.  Corrections teach the
filter as a real moderator's would.  Nothing touches the configured
database: the site lives in a temporary SQLite file.
"""

from __future__ import annotations

import csv
import random
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..choices import Mode, SpamLabel, Status
from ..limits import MAX_STORED_AUTHOR, MAX_TITLE
from .prior import label_of

if TYPE_CHECKING:
    from flask import Flask

SITE_KEY = "evaluate"
ORIGIN = "https://blog.example"


@dataclass
class Row:
    """One labelled comment of the stream."""

    label: SpamLabel
    text: str
    author: str = ""
    website: str | None = None
    url: str = ""
    title: str = ""


@dataclass
class Result:
    """What readers and moderators saw: counts by (label, what the site did on arrival)."""

    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)

    def count(self, label: str, status: str) -> int:
        """How many comments with ``label`` got ``status`` when they arrived."""
        return self.outcomes[(label, status)]

    @property
    def spam(self) -> int:
        """Spam comments in the stream."""
        return sum(n for (label, _), n in self.outcomes.items() if label == SpamLabel.SPAM)

    @property
    def ham(self) -> int:
        """Genuine comments in the stream."""
        return sum(n for (label, _), n in self.outcomes.items() if label == SpamLabel.HAM)

    @property
    def spam_published(self) -> int:
        """Spam that reached readers (until a moderator removed it)."""
        return self.count(SpamLabel.SPAM, Status.APPROVED)

    @property
    def ham_held(self) -> int:
        """Genuine comments that waited for a moderator."""
        return self.count(SpamLabel.HAM, Status.PENDING)

    @property
    def ham_filed(self) -> int:
        """Genuine comments filed as spam (or rejected) by the rules or the filter."""
        return self.count(SpamLabel.HAM, Status.SPAM) + self.count(SpamLabel.HAM, Status.REJECTED)

    def lines(self) -> list[str]:
        """The figures, as printed by ``causerie spam evaluate``."""
        def share(n: int, total: int) -> str:
            return f"{n} of {total} ({100 * n / total:.1f}%)" if total else f"{n} of 0"
        return [
            f"comments: {self.spam + self.ham} ({self.spam} spam, {self.ham} genuine)",
            f"spam that reached readers:        {share(self.spam_published, self.spam)}",
            f"spam held for a moderator:        {share(self.count(SpamLabel.SPAM, Status.PENDING), self.spam)}",
            f"spam filed as spam:               {share(self.count(SpamLabel.SPAM, Status.SPAM), self.spam)}",
            f"genuine comments published:       {share(self.count(SpamLabel.HAM, Status.APPROVED), self.ham)}",
            f"genuine comments held:            {share(self.ham_held, self.ham)}",
            f"genuine comments filed as spam:   {share(self.ham_filed, self.ham)}",
        ]


def read_rows(path: str | Path) -> list[Row]:
    """The labelled rows of a CSV (``label,text`` and optionally ``author,website,url,title``;
    a ``video`` column serves as the title).  Rows with an unknown label or no text are skipped."""
    rows = []
    with open(path, newline="", encoding="utf-8") as handle:
        for record in csv.DictReader(handle):
            label = label_of(record.get("label", ""))
            text = (record.get("text") or "").strip()
            if label is None or not text:
                continue
            rows.append(Row(label=label, text=text, author=(record.get("author") or "").strip(),
                            website=(record.get("website") or "").strip() or None,
                            url=(record.get("url") or "").strip(),
                            title=(record.get("title") or record.get("video") or "").strip()))
    return rows


def _page_url(row: Row) -> str:
    if row.url.startswith(("http://", "https://")):
        return row.url
    slug = re.sub(r"[^a-z0-9]+", "-", (row.url or row.title).lower()).strip("-")[:80]
    return f"{ORIGIN}/{slug or 'post'}"


def _website(value: str | None) -> str | None:
    if not value:
        return None
    return value if value.startswith(("http://", "https://")) else f"http://{value}"


def replay(rows: list[Row], mode: str = Mode.AUTO, *, use_prior: bool = True) -> Result:
    """Post ``rows`` in order to a new site in ``mode`` with a correcting moderator; the figures.

    ``use_prior=False`` leaves out the built-in prior, to measure what the
    site's own decisions teach (and a stream the prior was made from).
    """
    from .. import create_app  # noqa: PLC0415 - a throwaway app of its own, built on demand
    from ..extensions import db  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="causerie-evaluate-") as folder:
        app = create_app({
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(folder) / 'evaluate.db'}",
            "SECRET_KEY": "evaluate", "CAUSERIE_MIN_SUBMIT_SECONDS": 0, "CAUSERIE_SMTP_URL": None,
            "CAUSERIE_SPAM_PRIOR": use_prior,
        })
        app.instance_path = folder
        with app.app_context():
            try:
                return _replay(app, rows, mode)
            finally:
                db.session.remove()
                for engine in db.engines.values():
                    engine.dispose()


def _replay(app: Flask, rows: list[Row], mode: str) -> Result:
    from .. import comments, tickets  # noqa: PLC0415 - loaded with the throwaway app
    from ..extensions import db  # noqa: PLC0415
    from ..models import Comment, Site  # noqa: PLC0415
    from ..moderation import actions  # noqa: PLC0415

    db.create_all()
    db.session.add(Site(key=SITE_KEY, name="Evaluation", origins=[ORIGIN], mode=mode))
    db.session.commit()
    result = Result()
    for number, row in enumerate(rows, 1):
        data = {
            "site": SITE_KEY, "url": _page_url(row), "thread": None, "title": row.title[:MAX_TITLE] or None,
            "parent_id": None, "author": (row.author or f"Reader {number}")[:MAX_STORED_AUTHOR],
            "email": f"reader{number}@example.org", "website": _website(row.website),
            "text": row.text[:app.config["CAUSERIE_MAX_COMMENT_LENGTH"]],
            "notify": False, "follow": False, "language": None,
            "ticket": tickets.issue(SITE_KEY),
            "hp": "", "commenter": None,  # each reader a browser of their own
        }
        address = f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}"
        posted = comments.post(data, ORIGIN, address)
        comment = db.session.get(Comment, posted.answer["comment"]["id"])
        assert comment is not None  # just posted
        result.outcomes[(row.label, comment.status)] += 1
        wanted = Status.APPROVED if row.label == SpamLabel.HAM else Status.SPAM
        wrong = (comment.status == Status.PENDING
                 or (comment.status == Status.APPROVED) != (row.label == SpamLabel.HAM))
        if wrong:
            actions.set_status(comment, wanted, None, actor="evaluate")
            db.session.commit()
    return result


def shuffled(rows: list[Row], seed: int) -> list[Row]:
    """The rows in a random order that ``seed`` fixes."""
    rows = list(rows)
    random.Random(seed).shuffle(rows)
    return rows
