"""Emailed links act only on their page's POST: opening them, or a HEAD from a
link checker or mail scanner, changes nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from service import links
from service.extensions import db
from service.models import Comment, ModerationEvent, utcnow
from tests.access_table import csrf_token
from tests.moderation_helpers import add_comment, add_moderator, get


@pytest.fixture
def held(app, two_sites):
    """A held comment whose author asked for reply emails (and confirmed), and desk@, moderator of its site."""
    add_moderator(app, "desk@example.org", sites=["blog"])
    return add_comment(app, "blog", notify=True, notify_confirmed_at=utcnow())


def path(app, make):
    with app.app_context():
        return "/" + make().split("/", 3)[3]


def events(app):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(ModerationEvent.id)))


def test_head_on_an_approve_link_changes_nothing(app, held):
    approve = path(app, lambda: links.moderation_links(held, "desk@example.org")["approve"])
    response = app.test_client().head(approve)
    assert response.status_code == 200
    assert get(app, Comment, held).status == "pending" and events(app) == 0


def test_an_approve_link_still_works_from_its_page_after_a_head(app, held):
    approve = path(app, lambda: links.moderation_links(held, "desk@example.org")["approve"])
    client = app.test_client()
    client.head(approve)
    assert client.post(approve, data={"csrf_token": csrf_token(client, approve)}).status_code == 200
    assert get(app, Comment, held).status == "approved"


def test_head_on_a_confirmation_link_does_not_start_reply_emails(app, held):
    with app.app_context():
        db.session.get(Comment, held).notify_confirmed_at = None
        db.session.commit()
    assert app.test_client().head(path(app, lambda: links.confirm_link(held))).status_code == 200
    assert get(app, Comment, held).notify_confirmed_at is None


def test_head_on_an_unsubscribe_link_does_not_stop_reply_emails(app, held):
    assert app.test_client().head(path(app, lambda: links.unsubscribe_link(held))).status_code == 200
    assert get(app, Comment, held).notify is True
