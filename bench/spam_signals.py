"""The measured effect of each of the spam filter's signals: replay labelled streams
with one family of features left out at a time, and compare with all of them.

    .venv/bin/python bench/spam_signals.py [CSV ...]

Defaults to the synthetic blog stream (in order, and shuffled with seeds 1
and 2) and the YouTube collection (in order, without the prior, which was
made from it).  Prints, per left-out family, spam that reached readers and
genuine comments held or filed, summed over the runs.  Run on purpose.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.spam import evaluate, model

ROOT = Path(__file__).resolve().parent.parent
FAMILIES = {
    "words": ("w:",),
    "links and domains": ("link", "links:"),
    "phone numbers": ("phone",),
    "email in the text": ("email-in-text",),
    "author name": ("a:", "name:"),
    "website": ("website", "web:"),
    "relevance to the page": ("topic:",),
    "script": ("script:",),
    "length": ("length:",),
    "shouting": ("shouting", "exclamations"),
    "commenter known/new": ("commenter:",),
}


def runs() -> list[tuple[str, list, bool]]:
    """(name, rows, use the prior) of every replay."""
    blog = evaluate.read_rows(ROOT / "tests" / "data" / "spam" / "blog_stream.csv")
    youtube = evaluate.read_rows(ROOT / "service" / "spam" / "data" / "youtube_spam.csv")
    return [("blog", blog, True), ("blog seed 1", evaluate.shuffled(blog, 1), True),
            ("blog seed 2", evaluate.shuffled(blog, 2), True), ("youtube, no prior", youtube, False)]


def measure(left_out: tuple[str, ...]) -> list[str]:
    """Figures of every replay with the features starting with ``left_out`` removed."""
    original = model.features

    def fewer(*args, **kw):
        return {f for f in original(*args, **kw) if not f.startswith(left_out)}

    model.features = fewer
    try:
        out = []
        for name, rows, use_prior in runs():
            result = evaluate.replay(rows, use_prior=use_prior)
            out.append(f"{name}: {result.spam_published}/{result.spam} spam shown, "
                       f"{result.ham_held + result.ham_filed}/{result.ham} genuine held or filed")
        return out
    finally:
        model.features = original


def main() -> None:
    for family, prefixes in [("(none: every signal)", ()), *FAMILIES.items()]:
        print(f"without {family}: " + "; ".join(measure(prefixes)), flush=True)


if __name__ == "__main__":
    main()
