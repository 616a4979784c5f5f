"""JSON in SQL, on each database: lists of rows as one column, lists sent as one parameter."""

from __future__ import annotations

import json

import sqlalchemy as sa

from service import sqljson
from service.extensions import db
from service.models import SpamCount

from .conftest import add_site

FEATURES = ["w:«guillemets»", "w:l’apostrophe", "w:🎉", 'w:"quoted"', "w:plain"]


def _counts(app, asked: list[str]) -> list:
    site_id = _site_with_counts(app)
    counts = SpamCount.__table__.c
    statement = sa.select(sqljson.json_list(sqljson.json_tuple(counts.feature, counts.spam, counts.ham))).where(
        counts.site_id == site_id, sqljson.in_json_strings(counts.feature, sa.bindparam("asked", type_=sa.Text)))
    with app.app_context():
        return sqljson.listed(db.session.execute(statement, {"asked": json.dumps(asked)}).scalar())


def _site_with_counts(app) -> int:
    add_site(app, "blog")
    with app.app_context():
        site_id = db.session.execute(sa.text("SELECT id FROM site WHERE key = 'blog'")).scalar_one()
        for number, feature in enumerate(FEATURES):
            db.session.add(SpamCount(site_id=site_id, feature=feature, spam=number, ham=10 * number))
        db.session.commit()
    return site_id


def test_rows_come_back_as_one_json_list_of_tuples(app):
    assert sorted(_counts(app, ["w:plain", "w:🎉"])) == [["w:plain", 4, 40], ["w:🎉", 2, 20]]


def test_only_the_strings_sent_are_matched_whatever_their_characters(app):
    found = sorted(feature for feature, _, _ in _counts(app, [*FEATURES[:4], "w:absent"]))
    assert found == sorted(FEATURES[:4])


def test_an_empty_list_matches_nothing_and_reads_back_as_an_empty_list(app):
    assert _counts(app, []) == []
