"""The built-in prior: feature counts from public labelled comments shipped with Causerie.

``data/youtube_spam.csv`` is the YouTube Spam Collection (Alberto, Lochter,
Almeida 2015), UCI Machine Learning Repository, CC BY 4.0: 1,956 comments
from five music videos' comment sections, labelled spam or genuine.  Its
words are about music videos, so the filter gives the prior little weight
(see :data:`WEIGHT`); what carries to a blog is mostly its signals (links,
"check out my ...", shouting, comments that have nothing to do with the page).

The counts are computed from the file the first time a process scores a
comment, and kept: they are the same in every process, derived from a file
that never changes while the process runs.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..choices import SpamLabel
from . import model

CORPUS = Path(__file__).parent / "data" / "youtube_spam.csv"
SPAM_LABELS = {"1", "spam"}
HAM_LABELS = {"0", "ham", "genuine"}
# The prior counts as this many comments in all, whatever the corpus's size:
# a site's own forty decisions already weigh as much as the whole prior.
WEIGHT = 40.0
# Features seen in fewer comments than this are noise at the prior's scale.
MIN_SEEN = 3


@dataclass(frozen=True)
class Prior:
    """Scaled counts: feature -> (spam, ham), and the scaled class totals."""

    counts: dict[str, tuple[float, float]]
    spam_total: float
    ham_total: float


NONE = Prior({}, 0.0, 0.0)
"""No prior at all: the filter knows only what the site taught it (for measuring)."""


def label_of(value: str) -> SpamLabel | None:
    """``spam``, ``ham`` or None for a CSV label (``1``/``0`` or ``spam``/``ham``)."""
    value = (value or "").strip().lower()
    return SpamLabel.SPAM if value in SPAM_LABELS else SpamLabel.HAM if value in HAM_LABELS else None


def corpus_features(path: Path = CORPUS) -> Iterator[tuple[str, set[str]]]:
    """(label, features) of every labelled row of the corpus, its video's name as the page title."""
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            label = label_of(row.get("label", ""))
            if label is None:
                continue
            context = model.Context(title=row.get("title") or row.get("video") or "", url=row.get("url") or "")
            yield label, model.features(row.get("text", ""), row.get("author", ""), row.get("website") or None,
                                        context)


@functools.cache
def load() -> Prior:
    """The prior, computed once per process from the shipped corpus."""
    spam: dict[str, int] = {}
    ham: dict[str, int] = {}
    totals: dict[str, int] = dict.fromkeys(SpamLabel, 0)
    for label, found in corpus_features():
        totals[label] += 1
        table = spam if label == SpamLabel.SPAM else ham
        for feature in found:
            table[feature] = table.get(feature, 0) + 1
    scale = WEIGHT / max(1, sum(totals.values()))
    counts = {}
    for feature in spam.keys() | ham.keys():
        s, h = spam.get(feature, 0), ham.get(feature, 0)
        if s + h >= MIN_SEEN:
            counts[feature] = (s * scale, h * scale)
    return Prior(counts, totals[SpamLabel.SPAM] * scale, totals[SpamLabel.HAM] * scale)
