"""Seed Causerie's database (run by the project's venv, from the project root).

Usage:
  python bench/seed_causerie.py seed SITE_KEY ORIGIN   # the benchmark threads
  python bench/seed_causerie.py fill SITE_KEY TOTAL    # filler rows up to TOTAL comments
  python bench/seed_causerie.py count                  # comments in the database

The threads are stored as a reader's posts would be (Markdown rendered and
sanitized by ``service.sanitize``, keyed hashes from ``service.hashing``),
approved, in one transaction; the rules and rate limits are skipped because
this is setup, not the thing measured.  Filler rows go into other threads
with bulk inserts, so the database grows while the measured thread stays the
same.
"""

from __future__ import annotations

import hashlib
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa

import dataset
from service import create_app, hashing, sanitize, urls
from service.extensions import db
from service.models import Comment, Site, Thread

FILLER_THREAD_SIZE = 1000
BATCH = 20_000


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC).replace(tzinfo=None)


def _site(key: str) -> Site:
    site = db.session.scalar(sa.select(Site).where(Site.key == key))
    if site is None:
        raise SystemExit(f"no site {key!r}: add it first (causerie sites add)")
    return site


def seed(key: str, origin: str) -> None:
    site = _site(key)
    for spec in dataset.build():
        url = urls.normalize(origin + spec["path"])
        thread = Thread(site_id=site.id, url=url, title=spec["title"])
        db.session.add(thread)
        db.session.flush()
        ids: dict[int, int] = {}
        for c in spec["comments"]:
            email_hash = hashing.email_hash(c["email"])
            comment = Comment(
                site_id=site.id, thread_id=thread.id, parent_id=ids.get(c["parent"]),
                author=c["author"], email=c["email"], email_hash=email_hash, website=c["website"],
                text=c["text"], html=sanitize.render(c["text"]), text_hash=hashing.text_fingerprint(c["text"]),
                status="approved", reasons=[], created_at=_utc(c["created"]), moderated_at=_utc(c["created"]),
                ip_hash=hashing.ip_hash("127.0.0.1"),
            )
            db.session.add(comment)
            db.session.flush()
            ids[c["index"]] = comment.id
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # As autovacuum would after a load (this machine's PostgreSQL has it
        # off; without statistics its planner looked for a commenter's
        # approved comment through the site's index, a scan of every approved
        # comment at every post).  SQLite gathers none by itself: it is left
        # as its users have it.
        _analyze()
    print(f"causerie: {count()} comments seeded")


def count() -> int:
    return db.session.scalar(sa.select(sa.func.count(Comment.id)))


def fill(key: str, total: int) -> None:
    """Add approved filler comments in new threads until there are ``total``."""
    site = _site(key)
    missing = total - count()
    if missing <= 0:
        print(f"causerie: already {count()} comments")
        return
    started = time.monotonic()
    existing = db.session.scalar(sa.select(sa.func.count(Thread.id)))
    origin = (site.origins or ["http://127.0.0.1"])[0]
    thread_ids = []
    for number in range((missing + FILLER_THREAD_SIZE - 1) // FILLER_THREAD_SIZE):
        thread = Thread(site_id=site.id, url=f"{origin}/filler/{existing + number}/", title="Filler")
        db.session.add(thread)
        thread_ids.append(thread)
    db.session.flush()
    thread_ids = [t.id for t in thread_ids]
    emails = [hashing.email_hash(f"filler{n}@example.org") for n in range(500)]
    when = _utc(dataset.START)
    rows = []
    table = Comment.__table__
    for number in range(missing):
        text = dataset.filler_text(number)
        rows.append({
            "site_id": site.id, "thread_id": thread_ids[number // FILLER_THREAD_SIZE], "parent_id": None,
            "author": "Filler", "email": None, "email_hash": emails[number % len(emails)], "website": None,
            "text": text, "html": f"<p>{text}</p>", "text_hash": hashlib.sha256(text.encode()).hexdigest(),
            "status": "approved", "reasons": [], "created_at": when, "edited_at": None,
            "edited_by_staff": False, "moderated_at": when, "ip_hash": None, "staff": False,
            "moderator_id": None, "pinned": False, "notify": False, "edit_token_hash": None, "import_ref": None,
        })
        if len(rows) == BATCH:
            db.session.execute(sa.insert(table), rows)
            rows = []
    if rows:
        db.session.execute(sa.insert(table), rows)
    db.session.commit()
    _analyze()
    print(f"causerie: {count()} comments ({missing} filler rows in {time.monotonic() - started:.1f}s)")


def _analyze() -> None:
    """The planner's statistics, gathered after a bulk load."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("ANALYZE"))
    else:
        with db.engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))


def main(argv: list[str]) -> None:
    app = create_app()
    with app.app_context():
        if argv[:1] == ["seed"]:
            seed(argv[1], argv[2])
        elif argv[:1] == ["fill"]:
            fill(argv[1], int(argv[2]))
        elif argv[:1] == ["count"]:
            print(count())
        else:
            raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
