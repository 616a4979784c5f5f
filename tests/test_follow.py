"""Following a page: its new comments by email, confirmed first, grouped hourly, one-click unsubscribe."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from service.extensions import db
from service.models import Comment, utcnow
from tests.conftest import Reader, add_site
from tests.moderation_helpers import Session, add_moderator
from tests.test_notify import confirmation_path, run, smtp  # noqa: F401 - the SMTP fixture

FOLLOWER = "watcher@example.org"
LATER = timedelta(hours=1, minutes=1)


def reader(client, ip="192.0.2.50"):
    return Reader(client, "blog", ip=ip)


def follow(app, client, smtp, **fields):
    """Post a comment asking for the page's new comments, and confirm through the emailed link."""
    answer = reader(client).post(text="I will follow this", email=FOLLOWER, follow=True, **fields)
    assert answer.status_code == 201, answer.json
    assert answer.json["notify"] == "confirm"
    run(app)
    assert app.test_client().post(confirmation_path(smtp, FOLLOWER)).status_code == 200
    smtp.mailbox.messages.clear()
    return answer.json["comment"]["id"]


@pytest.fixture
def site(app):
    add_site(app, "blog", mode="post")


def test_asking_to_follow_without_an_email_is_a_400_on_the_field(client, site):
    response = reader(client).post(follow=True)
    assert response.status_code == 400
    assert "follow" in response.json["error"]["fields"]


def test_following_asks_the_address_first_and_says_so_in_the_email(app, client, smtp, site):
    reader(client).post(text="Following", email=FOLLOWER, follow=True)
    run(app)
    (message,) = smtp.mailbox.to(FOLLOWER)
    assert "new comments on that page (at most one an hour)" in message.get_content()


def test_the_confirmation_page_names_the_followed_page(app, client, smtp, site):
    reader(client).post(text="Following", email=FOLLOWER, follow=True)
    run(app)
    page = app.test_client().get(confirmation_path(smtp, FOLLOWER)).get_data(as_text=True)
    assert "new comments on that page" in page


def test_an_unconfirmed_follower_gets_no_comments(app, client, smtp, site):
    reader(client).post(text="Following", email=FOLLOWER, follow=True)
    run(app)
    smtp.mailbox.messages.clear()
    reader(client, ip="192.0.2.9").post(text="Someone else", author="Bob")
    run(app, utcnow() + LATER)
    assert smtp.mailbox.to(FOLLOWER) == []


def test_a_new_comment_on_the_page_is_emailed_to_its_follower(app, client, smtp, site):
    follow(app, client, smtp)
    reader(client, ip="192.0.2.9").post(text="A new voice", author="Bob")
    run(app)
    (message,) = smtp.mailbox.to(FOLLOWER)
    assert message["Subject"] == "1 new comment on “https://blog.example/post”"
    body = message.get_content()
    assert "Bob, https://blog.example/post#comment-" in body and "A new voice" in body
    assert message["List-Unsubscribe"].startswith("<http")


def test_comments_arriving_together_are_grouped_at_most_one_email_an_hour(app, client, smtp, site):
    follow(app, client, smtp)
    reader(client, ip="192.0.2.9").post(text="First news", author="Bob")
    run(app)
    assert len(smtp.mailbox.to(FOLLOWER)) == 1
    reader(client, ip="192.0.2.10").post(text="Second news", author="Cyd")
    reader(client, ip="192.0.2.11").post(text="Third news", author="Dee")
    run(app)
    assert len(smtp.mailbox.to(FOLLOWER)) == 1
    run(app, utcnow() + LATER)
    messages = smtp.mailbox.to(FOLLOWER)
    assert len(messages) == 2
    assert messages[1]["Subject"] == "2 new comments on “https://blog.example/post”"
    body = messages[1].get_content()
    assert "Second news" in body and "Third news" in body and "First news" not in body


def test_the_followers_own_comments_are_not_emailed_to_them(app, client, smtp, site):
    follow(app, client, smtp)
    reader(client).post(text="Me again", email=FOLLOWER)
    run(app, utcnow() + LATER)
    assert smtp.mailbox.to(FOLLOWER) == []


def test_a_held_comment_is_emailed_once_a_moderator_approves_it(app, client, smtp, site):
    follow(app, client, smtp)
    with app.app_context():
        db.session.execute(db.text("UPDATE site SET mode = 'pre'"))
        db.session.commit()
    held = reader(client, ip="192.0.2.9").post(text="Held back", author="Bob").json["comment"]["id"]
    run(app, utcnow() + LATER)
    assert smtp.mailbox.to(FOLLOWER) == []
    add_moderator(app, "mod@example.org", sites=["blog"])
    Session(app.test_client()).sign_in("mod@example.org").post(f"/moderate/comments/{held}/approve")
    run(app, utcnow() + LATER)
    (message,) = smtp.mailbox.to(FOLLOWER)
    assert "Held back" in message.get_content()


def test_other_pages_comments_are_not_emailed(app, client, smtp, site):
    follow(app, client, smtp)
    reader(client, ip="192.0.2.9").post(text="Elsewhere", url="https://blog.example/other")
    run(app, utcnow() + LATER)
    assert smtp.mailbox.to(FOLLOWER) == []


def test_one_click_unsubscribe_stops_the_page_emails(app, client, smtp, site):
    follow(app, client, smtp)
    reader(client, ip="192.0.2.9").post(text="News", author="Bob")
    run(app)
    (message,) = smtp.mailbox.to(FOLLOWER)
    path = re.search(r"http://[^/]+(/moderate/unsubscribe/\S+)", message.get_content()).group(1)
    assert app.test_client().post(path).status_code == 200
    with app.app_context():
        assert db.session.query(Comment).filter(Comment.follow.is_(True)).count() == 0
    smtp.mailbox.messages.clear()
    reader(client, ip="192.0.2.10").post(text="More news", author="Cyd")
    run(app, utcnow() + LATER)
    assert smtp.mailbox.to(FOLLOWER) == []


def test_a_german_follower_reads_in_german(app, client, smtp, site):
    follow(app, client, smtp, lang="de")
    reader(client, ip="192.0.2.9").post(text="Neuigkeiten", author="Bob")
    run(app)
    (message,) = smtp.mailbox.to(FOLLOWER)
    assert message["Subject"] == "1 neuer Kommentar zu „https://blog.example/post“"
    assert "Diese E-Mails abbestellen:" in message.get_content()
