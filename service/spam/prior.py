"""The built-in prior: feature counts from public labelled comments shipped with Causerie.

``data/youtube_spam.csv`` is the YouTube Spam Collection (Alberto, Lochter,
Almeida 2015), UCI Machine Learning Repository, CC BY 4.0: 1,956 comments
from five music videos' comment sections, labelled spam or genuine.  Its
words are about music videos, so the filter gives the prior little weight
(see :data:`WEIGHT`); what carries to a blog is mostly its signals (links,
"check out my ...", shouting, comments that have nothing to do with the page).

The counts are computed once, by ``causerie spam build-prior``, into
``data/prior.json`` beside the corpus, with a digest of what they were
computed from (the corpus, this module and the feature code).  A process
reads that small file when it first scores a comment: computing the counts
from the corpus instead takes a sixth of a second and leaves a couple of
megabytes of each worker's memory behind.  When the file does not match
its sources (the features changed and nobody rebuilt it), the process
computes the counts itself, as before, and says so in the log.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import logging
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..choices import SpamLabel
from ..limits import MAX_SPAM_FEATURE
from . import model

log = logging.getLogger(__name__)

CORPUS = Path(__file__).parent / "data" / "youtube_spam.csv"
SHIPPED = Path(__file__).parent / "data" / "prior.json"
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


def compute(path: Path = CORPUS) -> Prior:
    """The prior's counts, computed from the corpus at ``path``."""
    spam: dict[str, int] = {}
    ham: dict[str, int] = {}
    totals: dict[str, int] = dict.fromkeys(SpamLabel, 0)
    for label, found in corpus_features(path):
        totals[label] += 1
        table = spam if label == SpamLabel.SPAM else ham
        for feature in found:
            table[feature] = table.get(feature, 0) + 1
    scale = WEIGHT / max(1, sum(totals.values()))
    counts = {}
    for feature in sorted(spam.keys() | ham.keys()):
        s, h = spam.get(feature, 0), ham.get(feature, 0)
        if s + h >= MIN_SEEN:
            counts[feature] = (s * scale, h * scale)
    return Prior(counts, totals[SpamLabel.SPAM] * scale, totals[SpamLabel.HAM] * scale)


def sources_digest() -> str:
    """SHA-256 of everything the counts depend on: the corpus, the code that
    turns a comment into features and counts them, and the Unicode tables
    (the script of a text comes from them)."""
    digest = hashlib.sha256()
    for source in (CORPUS, Path(model.__file__), Path(__file__)):
        digest.update(source.read_bytes())
    digest.update(f"{MAX_SPAM_FEATURE} {unicodedata.unidata_version}".encode())
    return digest.hexdigest()


def write(prior: Prior, path: Path | None = None) -> None:
    """Store ``prior`` at ``path`` (by default :data:`SHIPPED`) with the digest of its sources (see :func:`load`)."""
    path = path or SHIPPED
    head = {"sources": sources_digest(), "spam_total": prior.spam_total, "ham_total": prior.ham_total}
    # One feature a line, so that a change of the features reads as a diff.
    counts = ",\n".join(f"{json.dumps(feature, ensure_ascii=False)}: {json.dumps(list(pair))}"
                        for feature, pair in sorted(prior.counts.items()))
    path.write_text(json.dumps(head)[:-1] + ', "counts": {\n' + counts + "\n}}\n", encoding="utf-8")


def shipped(path: Path | None = None) -> Prior | None:
    """The prior stored at ``path`` (by default :data:`SHIPPED`), or None when it
    is missing, unreadable or was computed from other sources than this code and corpus."""
    path = path or SHIPPED
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("sources") != sources_digest():
            return None
        counts = {feature: (float(s), float(h)) for feature, (s, h) in document["counts"].items()}
        return Prior(counts, float(document["spam_total"]), float(document["ham_total"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


@functools.cache
def load() -> Prior:
    """The prior, read once per process from the shipped counts (or, when
    they do not match their sources, computed from the corpus)."""
    found = shipped()
    if found is not None:
        return found
    log.warning("spam filter: %s does not match the corpus and the feature code; computing the prior "
                "(run 'causerie spam build-prior' to store it again)", SHIPPED.name)
    return compute()
