"""What the spam filter adds to a post: the time of ``spam.judge`` with 50,000 learnt features.

    .venv/bin/python bench/spam_scoring.py [--database-url URL] [--features 50000] [--runs 1000]

A throwaway SQLite file by default (or the database given, in which the
tables must not exist yet); a site whose filter learnt ``--features``
features; a thread with 20 approved comments; then the comments of the
YouTube collection and the synthetic blog stream judged one after the other,
as the write path does.  Prints the median, 95th percentile and the largest
time, and the process's peak memory.  Run on purpose, never by the tests.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service import create_app, spam
from service.extensions import db
from service.models import Comment, Site, SpamCount, Thread
from service.spam import evaluate, prior

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--features", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
        with app.app_context():
            db.create_all()
            site, thread = seed(args.features)
            timings = run(site.id, thread.id, thread.title, thread.url, args.runs)
            db.session.remove()
            db.drop_all()
    timings.sort()
    ms = [t * 1000 for t in timings]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"spam.judge over {len(ms)} comments, {args.features:,} learnt features ({url.split(':')[0]}):")
    print(f"  median {statistics.median(ms):.3f} ms, 95th percentile {ms[int(len(ms) * 0.95)]:.3f} ms, "
          f"largest {ms[-1]:.3f} ms; peak memory of the process {peak:.0f} MB")


def seed(features: int) -> tuple[Site, Thread]:
    """A site that learnt ``features`` features (the corpora's own among them), and a busy thread."""
    site = Site(key="bench", name="Bench", origins=["https://blog.example"])
    db.session.add(site)
    db.session.flush()
    rng = random.Random(1)
    known = sorted(set(prior.load().counts))
    names = known + [f"w:{rng.getrandbits(40):x}" for _ in range(max(0, features - len(known) - 1))]
    rows = [{"site_id": site.id, "feature": name, "spam": rng.randrange(20), "ham": rng.randrange(20)}
            for name in names[:features - 1]] + [{"site_id": site.id, "feature": "", "spam": 500, "ham": 2000}]
    db.session.execute(SpamCount.__table__.insert(), rows)
    thread = Thread(site_id=site.id, url="https://blog.example/python-regex-tutorial",
                    title="Regular expressions in Python: a practical tutorial")
    db.session.add(thread)
    db.session.flush()
    for number in range(20):
        db.session.add(Comment(site_id=site.id, thread_id=thread.id, status="approved", author="A",
                               text=f"The lookahead example {number} helped, though re.sub surprised me."))
    db.session.commit()
    return site, thread


def run(site_id: int, thread_id: int, title: str, url: str, runs: int) -> list[float]:
    """Judge ``runs`` comments; the time each took."""
    rows = evaluate.read_rows(ROOT / "service" / "spam" / "data" / "youtube_spam.csv")
    rows += evaluate.read_rows(ROOT / "tests" / "data" / "spam" / "blog_stream.csv")
    random.Random(2).shuffle(rows)
    spam.judge(site_id, text="warm up", thread_id=thread_id)  # the prior loads once per process
    timings = []
    for row in (rows * (runs // len(rows) + 1))[:runs]:
        start = time.perf_counter()
        spam.judge(site_id, text=row.text, author=row.author, website=row.website, email_hash="0" * 64,
                   thread_id=thread_id, title=title, url=url)
        timings.append(time.perf_counter() - start)
        db.session.rollback()
    return timings


if __name__ == "__main__":
    main()
