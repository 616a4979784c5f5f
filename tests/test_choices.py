"""The closed sets of values: the database refuses others, and each reads as its plain string."""

import json

import pytest
import sqlalchemy as sa

from service.choices import Digest, Mode, Status
from service.extensions import db
from service.models import Comment, Site, Thread


@pytest.mark.parametrize("fields", [{"mode": "sometimes"}, {"digest": "weekly"}])
def test_a_site_with_an_unknown_mode_or_digest_is_refused_by_the_database(ctx, fields):
    db.session.add(Site(key="odd", origins=[], **fields))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_a_comment_with_an_unknown_status_is_refused_by_the_database(ctx):
    site = Site(key="blog", origins=[], mode=Mode.POST, digest=Digest.OFF)
    thread = Thread(site=site, url="https://blog.example/post")
    db.session.add(Comment(site=site, thread=thread, author="A", text="x", html="x", status="hidden"))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_enum_values_are_stored_and_read_back_as_their_plain_strings(ctx):
    site = Site(key="blog", origins=[], mode=Mode.FIRST_TIME)
    db.session.add(Comment(site=site, thread=Thread(site=site, url="https://blog.example/post"), author="A"))
    db.session.commit()
    stored = db.session.execute(sa.text("SELECT c.status, s.mode, s.digest FROM comment c JOIN site s "
                                        "ON s.id = c.site_id")).one()
    assert tuple(stored) == ("pending", "first-time", "instant")
    assert json.dumps([Status.PENDING, Mode.FIRST_TIME]) == '["pending", "first-time"]'
