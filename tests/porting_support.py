"""Helpers shared by the import, export, feed and privacy tests."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from service.extensions import db
from service.models import Comment, Thread

DATA = Path(__file__).parent / "data" / "import"
HOSTILE = DATA / "hostile"


def cli(app, *args, input=None):
    """Run a ``causerie`` command against ``app``; returns click's Result
    (``stdout`` and ``stderr`` apart, ``output`` both)."""
    return app.test_cli_runner().invoke(args=[str(a) for a in args], input=input)


def comments(app) -> dict[str, Comment]:
    """Every comment by import_ref (detached, attributes loaded)."""
    with app.app_context():
        rows = db.session.scalars(sa.select(Comment).order_by(Comment.id)).all()
        db.session.expunge_all()
    return {c.import_ref or f"causerie:{c.id}": c for c in rows}


def threads(app) -> dict[str, Thread]:
    """Every thread by URL (detached)."""
    with app.app_context():
        rows = db.session.scalars(sa.select(Thread)).all()
        db.session.expunge_all()
    return {t.url: t for t in rows}


def counts(app) -> tuple[int, int]:
    """(threads, comments) in the database."""
    with app.app_context():
        return (db.session.scalar(sa.select(sa.func.count(Thread.id))),
                db.session.scalar(sa.select(sa.func.count(Comment.id))))
