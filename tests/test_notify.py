"""Notifications: the outbox, the worker, moderator emails, digests, reply
notifications, webhooks, retries; delivered to a real local SMTP server and
a local HTTP receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from service.extensions import db
from service.models import Comment, Outbox, Site, utcnow
from service.notifications import delivery, outbox, subscriptions, webhooks
from tests.conftest import Reader, add_site
from tests.moderation_helpers import add_comment, add_moderator, get
from tests.notify_servers import SMTPServer, TricklingReceiver, WebhookReceiver


@pytest.fixture
def smtp(app):
    """A running SMTP server the app sends to."""
    server = SMTPServer().start()
    app.config["CAUSERIE_SMTP_URL"] = server.url
    yield server
    server.stop()


@pytest.fixture
def held_site(app):
    """A site holding every comment, notifying two addresses one email at a time."""
    add_site(app, "blog", mode="pre", notify_emails=["desk@example.org", "editor@example.org"])
    return "blog"


def run(app, now=None):
    with app.app_context():
        return delivery.run_once(now)


def rows(app):
    with app.app_context():
        return [(o.topic, o.payload.get("channel"), o.status, o.attempts)
                for o in db.session.scalars(sa.select(Outbox).order_by(Outbox.id))]


def set_site(app, key="blog", **fields):
    with app.app_context():
        site = db.session.scalar(sa.select(Site).where(Site.key == key))
        for name, value in fields.items():
            setattr(site, name, value)
        db.session.commit()


def link_paths(body: str) -> dict[str, str]:
    found = dict(re.findall(r"(Approve|Reject|Mark as spam|Spam):\s+http://[^/]+(/moderate/link/\S+)", body))
    return {"approve": found["Approve"], "reject": found["Reject"],
            "spam": found.get("Mark as spam") or found.get("Spam")}


# ------------------------------------------------------------------ moderator email


def test_held_comment_emails_each_notification_address(app, client, smtp, held_site):
    Reader(client, "blog").post(text="Please look at this", author="Lou")
    assert run(app).sent == 2
    assert len(smtp.mailbox.to("desk@example.org")) == 1 and len(smtp.mailbox.to("editor@example.org")) == 1
    message = smtp.mailbox.to("desk@example.org")[0]
    assert "Held" in message["Subject"] and "Lou" in message["Subject"]
    body = message.get_content()
    assert "Please look at this" in body and "Every comment is reviewed on this site" in body
    assert set(link_paths(body)) == {"approve", "reject", "spam"}


def test_line_separators_in_a_name_or_page_title_do_not_stop_the_email(app, client, smtp, held_site):
    Reader(client, "blog").post(text="Look", author="Lou\u2028Bcc: x@evil.example", title="A\u2029page\u2028title")
    assert run(app).sent == 2
    subject = smtp.mailbox.to("desk@example.org")[0]["Subject"]
    assert "Lou Bcc: x@evil.example" in subject and "A page title" in subject
    assert not any(ch in subject for ch in "\u2028\u2029\r\n")


@pytest.mark.parametrize("value", ["a\u2028b", "a\u2029b", "a\x85b", "a\r\nb", "a\x0bb", "a\x1cb", "a\tb"])
def test_every_header_value_is_folded_onto_one_line(app, value):
    from service import mailer

    with app.app_context():
        message = mailer.build("to@example.org", value, "body", {"List-Id": value})
    assert message["Subject"] == message["List-Id"] == "a b"


def test_a_french_sites_held_comment_email_is_in_french(app, client, smtp, held_site):
    set_site(app, language="fr", name="Le blog")
    Reader(client, "blog").post(text="Merci pour l’article", author="Lou")
    run(app)
    message = smtp.mailbox.to("desk@example.org")[0]
    assert message["Subject"] == "[Le blog] En attente : Lou sur « https://blog.example/post »"
    body = message.get_content()
    assert "Un commentaire sur Le blog attend votre décision." in body
    assert "Retenu pour : Tous les commentaires sont relus sur ce site" in body
    assert "Merci pour l’article" in body
    assert re.search(r"Approuver : http://\S+/moderate/link/", body)


def test_a_spanish_sites_held_comment_email_is_in_spanish(app, client, smtp, held_site):
    set_site(app, language="es", name="El blog")
    Reader(client, "blog").post(text="Gracias por el artículo", author="Lou")
    run(app)
    message = smtp.mailbox.to("desk@example.org")[0]
    assert message["Subject"] == "[El blog] Retenido: Lou en «https://blog.example/post»"
    body = message.get_content()
    assert "Un comentario en El blog espera tu decisión." in body
    assert "Retenido porque: En este sitio se revisan todos los comentarios" in body
    assert re.search(r"Aprobar: http://\S+/moderate/link/", body)


def test_site_without_addresses_emails_its_moderators(app, client, smtp):
    add_site(app, "blog", mode="pre")
    add_moderator(app, "assigned@example.org", sites=["blog"])
    add_moderator(app, "boss@example.org", admin=True)
    Reader(client, "blog").post()
    run(app)
    assert [m["To"] for m in smtp.mailbox.messages] == ["assigned@example.org"]


def test_published_comment_sends_no_moderator_email(app, client, smtp):
    add_site(app, "blog", mode="post", notify_emails=["desk@example.org"])
    Reader(client, "blog").post()
    run(app)
    assert smtp.mailbox.messages == []


def test_comment_decided_before_delivery_sends_no_email(app, client, smtp, held_site):
    comment_id = Reader(client, "blog").post().json["comment"]["id"]
    with app.app_context():
        db.session.get(Comment, comment_id).status = "approved"
        db.session.commit()
    run(app)
    assert smtp.mailbox.messages == [] and {r[2] for r in rows(app)} == {"sent"}


def test_reported_comment_emails_the_moderators(app, client, smtp):
    add_site(app, "blog", mode="post", report_threshold=1, notify_emails=["desk@example.org"])
    comment_id = Reader(client, "blog").post(text="Hot take").json["comment"]["id"]
    Reader(client, "blog", ip="192.0.2.50").report(comment_id, reason="Hateful")
    run(app)
    message = smtp.mailbox.to("desk@example.org")[0]
    assert "Reported" in message["Subject"] and "Hateful" in message.get_content()


def test_digest_mode_sends_no_email_per_comment(app, client, smtp, held_site):
    set_site(app, digest="hourly")
    Reader(client, "blog").post()
    assert [r[1] for r in rows(app)] == []


def test_hourly_digest_lists_the_held_comments_once(app, client, smtp, held_site):
    set_site(app, digest="hourly", notify_emails=["desk@example.org"])
    Reader(client, "blog").post(text="First held comment")
    Reader(client, "blog", ip="192.0.2.2").post(text="Second held comment")
    result = run(app)
    assert result.digests == 1 and result.sent == 1
    body = smtp.mailbox.messages[0].get_content()
    assert "First held comment" in body and "Second held comment" in body and "2 new comments" in body
    assert len(re.findall(r"/moderate/link/", body)) == 6
    run(app)
    assert len(smtp.mailbox.messages) == 1


def test_a_french_sites_digest_counts_its_comments_in_french(app, client, smtp, held_site):
    set_site(app, digest="hourly", notify_emails=["desk@example.org"], language="fr")
    Reader(client, "blog").post(text="Premier commentaire")
    Reader(client, "blog", ip="192.0.2.2").post(text="Second commentaire")
    run(app)
    message = smtp.mailbox.messages[0]
    assert message["Subject"] == "[Blog] 2 commentaires en attente"
    body = message.get_content()
    assert "2 nouveaux commentaires sur Blog attendent votre décision (2 dans la file en tout)." in body


def test_next_digest_waits_for_the_period_and_lists_only_new_comments(app, client, smtp, held_site):
    set_site(app, digest="hourly", notify_emails=["desk@example.org"])
    Reader(client, "blog").post(text="Old news comment")
    run(app)
    Reader(client, "blog", ip="192.0.2.2").post(text="Fresh comment")
    run(app, utcnow() + timedelta(minutes=30))
    assert len(smtp.mailbox.messages) == 1
    run(app, utcnow() + timedelta(minutes=61))
    body = smtp.mailbox.messages[1].get_content()
    assert "Fresh comment" in body and "Old news comment" not in body


def test_a_digest_lists_a_published_comment_its_authors_edit_sent_back(app, client, smtp, held_site):
    set_site(app, digest="hourly", notify_emails=["desk@example.org"])
    reader = Reader(client, "blog")
    posted = reader.post(text="What a lovely article").json
    with app.app_context():
        db.session.get(Comment, posted["comment"]["id"]).status = "approved"
        db.session.commit()
    run(app)
    assert smtp.mailbox.messages == []
    reader.patch(posted["comment"]["id"], posted["edit_token"], text="Buy cheap pills now")
    run(app, utcnow() + timedelta(minutes=61))
    (message,) = smtp.mailbox.to("desk@example.org")
    assert "Buy cheap pills now" in message.get_content()


def test_empty_period_sends_no_digest(app, smtp, held_site):
    set_site(app, digest="daily")
    assert run(app).digests == 0 and smtp.mailbox.messages == []


# ------------------------------------------------------------------ one-click links


@pytest.fixture
def emailed(app, client, smtp, held_site):
    """A held comment and the link paths of the email about it to desk@."""
    add_moderator(app, "desk@example.org", sites=["blog"])
    comment_id = Reader(client, "blog").post(text="Judge me").json["comment"]["id"]
    run(app)
    return comment_id, link_paths(smtp.mailbox.to("desk@example.org")[0].get_content())


def csrf(client, path):
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def test_opening_a_link_shows_a_confirmation_and_changes_nothing(app, emailed):
    comment_id, links = emailed
    client = app.test_client()
    response = client.get(links["approve"])
    assert response.status_code == 200 and "Judge me" in response.get_data(as_text=True)
    assert "<form method=\"post\"" in response.get_data(as_text=True)
    assert get(app, Comment, comment_id).status == "pending"


def test_confirming_a_link_acts_and_records_who(app, emailed):
    comment_id, links = emailed
    client = app.test_client()
    response = client.post(links["approve"], data={"csrf_token": csrf(client, links["approve"])})
    assert response.status_code == 200
    assert get(app, Comment, comment_id).status == "approved"
    from tests.test_moderation_actions import events

    assert events(app, comment_id)[-1] == ("approve", "pending", "approved", "desk@example.org")


def test_spam_link_marks_the_comment_as_spam(app, emailed):
    comment_id, links = emailed
    client = app.test_client()
    client.post(links["spam"], data={"csrf_token": csrf(client, links["spam"])})
    assert get(app, Comment, comment_id).status == "spam"


def test_a_used_link_is_refused_with_410(app, emailed):
    comment_id, links = emailed
    client = app.test_client()
    token = csrf(client, links["reject"])
    client.post(links["reject"], data={"csrf_token": token})
    with app.app_context():
        db.session.get(Comment, comment_id).status = "pending"
        db.session.commit()
    response = client.post(links["reject"], data={"csrf_token": token})
    assert response.status_code == 410 and "already been used" in response.get_data(as_text=True)


def test_the_other_links_of_the_same_email_die_with_the_first(app, emailed):
    comment_id, links = emailed
    client = app.test_client()
    client.post(links["approve"], data={"csrf_token": csrf(client, links["approve"])})
    with app.app_context():
        db.session.get(Comment, comment_id).status = "pending"
        db.session.commit()
    assert client.get(links["spam"]).status_code == 410


def test_a_link_for_a_comment_already_decided_says_so_with_409(app, emailed):
    comment_id, links = emailed
    with app.app_context():
        db.session.get(Comment, comment_id).status = "rejected"
        db.session.commit()
    client = app.test_client()
    response = client.post(links["approve"], data={"csrf_token": csrf(client, "/moderate/login")})
    assert response.status_code == 409 and get(app, Comment, comment_id).status == "rejected"


def test_an_expired_link_is_refused_with_410(app, client, smtp, held_site, monkeypatch):
    from itsdangerous.timed import TimestampSigner

    add_moderator(app, "desk@example.org", sites=["blog"])
    comment_id = Reader(client, "blog").post().json["comment"]["id"]
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) - 8 * 86400)
    run(app)
    monkeypatch.undo()
    path = link_paths(smtp.mailbox.to("desk@example.org")[0].get_content())["approve"]
    response = app.test_client().get(path)
    assert response.status_code == 410 and "expired" in response.get_data(as_text=True)
    assert get(app, Comment, comment_id).status == "pending"


def test_a_forged_link_is_refused_with_404(app, emailed):
    _, links = emailed
    forged = links["approve"][:-3] + ("AAA" if not links["approve"].endswith("AAA") else "BBB")
    assert app.test_client().get(forged).status_code == 404
    assert app.test_client().get("/moderate/link/not-a-token").status_code == 404


def test_a_link_post_without_csrf_token_is_refused(app, emailed):
    comment_id, links = emailed
    assert app.test_client().post(links["approve"]).status_code == 400
    assert get(app, Comment, comment_id).status == "pending"


def test_a_moderator_removed_from_the_site_cannot_use_their_link(app, emailed):
    comment_id, links = emailed
    with app.app_context():
        from service.models import Moderator

        db.session.scalar(sa.select(Moderator).where(Moderator.email == "desk@example.org")).sites = []
        db.session.commit()
    assert app.test_client().get(links["approve"]).status_code == 404


# ------------------------------------------------------------------ reply notifications


def confirmation_path(smtp, address):
    """The path of the confirmation link in the last email asking ``address``."""
    body = smtp.mailbox.to(address)[-1].get_content()
    return re.search(r"http://[^/]+(/moderate/confirm/\S+)", body).group(1)


def subscribed(app, client, smtp, address="asker@example.org", reader=None, **fields):
    """Post a comment asking for replies by email (from ``reader``'s browser,
    or a new one), and say yes through the emailed link, as its author would;
    the mailbox is emptied afterwards."""
    reader = reader or Reader(client, "blog")
    parent_id = reader.post(email=address, notify=True, **fields).json["comment"]["id"]
    run(app)
    assert app.test_client().post(confirmation_path(smtp, address)).status_code == 200
    smtp.mailbox.messages.clear()
    return parent_id


def reply_email(app, client, smtp, reply_text, *, language="en", parent_lang=None):
    """The email the author of a comment gets when Bob's reply to it is published."""
    add_site(app, "blog", mode="post", language=language)
    parent_id = subscribed(app, client, smtp, text="A question", lang=parent_lang)
    Reader(client, "blog", ip="192.0.2.77").post(text=reply_text, author="Bob", parent_id=parent_id,
                                                 email="bob@example.org")
    run(app)
    (message,) = smtp.mailbox.to("asker@example.org")
    return message


def test_approved_reply_notifies_the_parent_author(app, client, smtp):
    message = reply_email(app, client, smtp, "Here is my answer")
    assert "Bob replied" in message["Subject"] and "Here is my answer" in message.get_content()
    assert message["List-Unsubscribe"].startswith("<http") and message["List-Unsubscribe-Post"]


def test_a_french_sites_reply_notification_is_in_french(app, client, smtp):
    message = reply_email(app, client, smtp, "Voici ma réponse", language="fr")
    assert message["Subject"] == "Bob vous a répondu sur « https://blog.example/post »"
    body = message.get_content()
    assert body.startswith("Bob a répondu à votre commentaire sur « https://blog.example/post » :")
    assert "Ne plus recevoir ces e-mails : http" in body


def test_a_german_readers_reply_notification_is_in_german(app, client, smtp):
    message = reply_email(app, client, smtp, "Hier ist meine Antwort", language="en", parent_lang="de")
    assert message["Subject"] == "Bob hat dir zu „https://blog.example/post“ geantwortet"
    body = message.get_content()
    assert body.startswith("Bob hat auf deinen Kommentar zu „https://blog.example/post“ geantwortet:")
    assert "Diese E-Mails abbestellen: http" in body


def test_a_reply_notification_is_in_the_language_the_reader_read_the_page_in(app, client, smtp):
    message = reply_email(app, client, smtp, "Voici", language="fr", parent_lang="en")
    assert message["Subject"] == "Bob replied to you on “https://blog.example/post”"


def test_held_reply_notifies_only_once_it_is_approved(app, client, smtp):
    add_site(app, "blog", mode="post")
    parent_id = subscribed(app, client, smtp)
    set_site(app, mode="pre")
    answer = Reader(client, "blog", ip="192.0.2.77").post(text="Held answer", parent_id=parent_id)
    reply_id = answer.json["comment"]["id"]
    run(app)
    assert smtp.mailbox.to("asker@example.org") == []
    add_moderator(app, "mod@example.org", sites=["blog"])
    from tests.moderation_helpers import Session

    mod = Session(app.test_client()).sign_in("mod@example.org")
    mod.post(f"/moderate/comments/{reply_id}/approve")
    run(app)
    assert len(smtp.mailbox.to("asker@example.org")) == 1
    mod.post(f"/moderate/comments/{reply_id}/reject")
    mod.post(f"/moderate/comments/{reply_id}/approve")
    run(app)
    assert len(smtp.mailbox.to("asker@example.org")) == 1


def test_staff_reply_notifies_the_parent_author(app, client, smtp):
    add_site(app, "blog", mode="post")
    parent_id = subscribed(app, client, smtp)
    add_moderator(app, "mod@example.org", sites=["blog"], name="Editor")
    from tests.moderation_helpers import Session

    Session(app.test_client()).sign_in("mod@example.org").post(f"/moderate/comments/{parent_id}/reply",
                                                                {"text": "Thanks for asking"})
    run(app)
    (message,) = smtp.mailbox.to("asker@example.org")
    assert "Editor (staff)" in message.get_content()


def test_no_notification_when_the_author_did_not_ask(app, client, smtp):
    add_site(app, "blog", mode="post")
    parent_id = Reader(client, "blog").post(email="quiet@example.org").json["comment"]["id"]
    Reader(client, "blog", ip="192.0.2.77").post(text="Answer", parent_id=parent_id)
    run(app)
    assert smtp.mailbox.messages == []


def test_no_notification_for_answering_oneself(app, client, smtp):
    add_site(app, "blog", mode="post")
    reader = Reader(client, "blog")
    parent_id = subscribed(app, client, smtp, "self@example.org")
    reader.post(text="And another thing", email="self@example.org", parent_id=parent_id)
    run(app)
    assert smtp.mailbox.messages == []


def test_unsubscribe_link_shows_a_confirmation_then_stops_notifications(app, client, smtp):
    add_site(app, "blog", mode="post")
    parent_id = subscribed(app, client, smtp)
    Reader(client, "blog", ip="192.0.2.77").post(text="Answer one", parent_id=parent_id)
    run(app)
    url = re.search(r"Stop these emails: http://[^/]+(\S+)", smtp.mailbox.messages[0].get_content()).group(1)
    other = app.test_client()
    assert other.get(url).status_code == 200 and get(app, Comment, parent_id).notify is True
    # RFC 8058: the mail provider POSTs with no session and no CSRF token.
    response = other.post(url, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and get(app, Comment, parent_id).notify is False
    Reader(client, "blog", ip="192.0.2.78").post(text="Answer two", parent_id=parent_id)
    run(app)
    assert len(smtp.mailbox.messages) == 1


# ------------------------------------------------------------------ confirming reply notifications


def confirmed_at(app, comment_id):
    return get(app, Comment, comment_id).notify_confirmed_at


def test_asking_for_replies_emails_a_confirmation_and_no_reply_until_it_is_followed(app, client, smtp):
    add_site(app, "blog", mode="post")
    answer = Reader(client, "blog").post(text="Tell me more", author="Mallory", email="asker@example.org",
                                         notify=True)
    assert answer.json["notify"] == "confirm"
    parent_id = answer.json["comment"]["id"]
    Reader(client, "blog", ip="192.0.2.77").post(text="Early answer", parent_id=parent_id)
    run(app)
    (message,) = smtp.mailbox.to("asker@example.org")
    assert message["Subject"] == "[Blog] Confirm emails about replies"
    # Nothing the person who typed the address wrote reaches its owner.
    assert "Tell me more" not in message.get_content() and "Mallory" not in message.get_content()
    path = confirmation_path(smtp, "asker@example.org")
    page = app.test_client().get(path)
    assert page.status_code == 200 and "<form method=\"post\"" in page.get_data(as_text=True)
    assert confirmed_at(app, parent_id) is None  # opening the link is not saying yes

    assert app.test_client().post(path).status_code == 200
    assert confirmed_at(app, parent_id) is not None
    Reader(client, "blog", ip="192.0.2.78").post(text="Later answer", parent_id=parent_id)
    run(app)
    replies = [m for m in smtp.mailbox.to("asker@example.org") if "replied" in m["Subject"]]
    assert [("Later answer" in m.get_content()) for m in replies] == [True]


def test_an_address_that_confirmed_is_not_asked_again_on_the_site(app, client, smtp):
    add_site(app, "blog", mode="post")
    reader = Reader(client, "blog")
    subscribed(app, client, smtp, reader=reader)
    answer = reader.post(text="Second question", email="asker@example.org", notify=True)
    assert answer.json["notify"] == "on"
    Reader(client, "blog", ip="192.0.2.77").post(text="Answer", parent_id=answer.json["comment"]["id"])
    run(app)
    (message,) = smtp.mailbox.to("asker@example.org")
    assert "replied" in message["Subject"]


def test_one_confirmation_a_day_per_address_and_its_link_confirms_every_comment_waiting(app, client, smtp):
    add_site(app, "blog", mode="post")
    reader = Reader(client, "blog")
    first = reader.post(text="One", email="asker@example.org", notify=True).json
    second = reader.post(text="Two", email="asker@example.org", notify=True).json
    assert first["notify"] == second["notify"] == "confirm"
    run(app)
    assert len(smtp.mailbox.to("asker@example.org")) == 1
    app.test_client().post(confirmation_path(smtp, "asker@example.org"))
    assert confirmed_at(app, first["comment"]["id"]) and confirmed_at(app, second["comment"]["id"])


def test_a_stranger_typing_a_confirmed_address_is_asked_and_gets_no_reply_emailed(app, client, smtp):
    add_site(app, "blog", mode="post")
    subscribed(app, client, smtp)
    stranger = Reader(client, "blog", ip="192.0.2.66")
    answer = stranger.post(text="Impostor", author="Camille", email="asker@example.org", notify=True)
    assert answer.json["notify"] == "confirm"
    Reader(client, "blog", ip="192.0.2.77").post(text="Click here: phishing", parent_id=answer.json["comment"]["id"])
    run(app)
    (message,) = smtp.mailbox.to("asker@example.org")
    assert message["Subject"] == "[Blog] Confirm emails about replies"
    assert confirmed_at(app, answer.json["comment"]["id"]) is None


def test_the_owner_confirming_again_does_not_confirm_a_strangers_comment(app, client, smtp):
    add_site(app, "blog", mode="post")
    stranger = Reader(client, "blog", ip="192.0.2.66")
    impostor = stranger.post(text="Impostor", email="asker@example.org", notify=True).json["comment"]["id"]
    run(app)
    smtp.mailbox.messages.clear()
    with app.app_context():  # a day later, the owner comments and is asked again
        db.session.get(Comment, impostor).created_at -= timedelta(days=2)
        db.session.commit()
    own = subscribed(app, client, smtp)
    assert confirmed_at(app, own) is not None and confirmed_at(app, impostor) is None


def test_a_comment_caught_as_spam_sends_no_confirmation(app, client, smtp):
    add_site(app, "blog", mode="post")
    answer = Reader(client, "blog").post(email="victim@example.org", notify=True, hp="https://spam.example")
    assert answer.json["status"] == "rejected" and answer.json["notify"] == "off"
    run(app)
    assert smtp.mailbox.messages == []


def test_a_comment_rejected_before_delivery_sends_no_confirmation(app, client, smtp, held_site):
    comment_id = Reader(client, "blog").post(email="asker@example.org", notify=True).json["comment"]["id"]
    with app.app_context():
        db.session.get(Comment, comment_id).status = "rejected"
        db.session.commit()
    run(app)
    assert smtp.mailbox.to("asker@example.org") == []


def test_without_an_email_service_asking_for_replies_is_off(app, client):
    add_site(app, "blog", mode="post")
    answer = Reader(client, "blog").post(email="asker@example.org", notify=True)
    assert answer.json["notify"] == "off" and rows(app) == []


def test_after_unsubscribing_replies_need_a_new_confirmation(app, client, smtp):
    add_site(app, "blog", mode="post")
    parent_id = subscribed(app, client, smtp)
    with app.app_context():
        subscriptions.unsubscribe(db.session.get(Comment, parent_id))
        db.session.commit()
    answer = Reader(client, "blog").post(text="Back again", email="asker@example.org", notify=True)
    assert answer.json["notify"] == "confirm" and confirmed_at(app, parent_id) is None


def test_a_confirmation_link_after_unsubscribing_says_it_no_longer_applies(app, client, smtp):
    add_site(app, "blog", mode="post")
    parent_id = Reader(client, "blog").post(email="asker@example.org", notify=True).json["comment"]["id"]
    run(app)
    with app.app_context():
        subscriptions.unsubscribe(db.session.get(Comment, parent_id))
        db.session.commit()
    response = app.test_client().post(confirmation_path(smtp, "asker@example.org"))
    assert response.status_code == 410 and "were stopped" in response.get_data(as_text=True)
    assert confirmed_at(app, parent_id) is None


def test_an_expired_confirmation_link_is_refused_with_410(app, client, smtp, monkeypatch):
    from itsdangerous.timed import TimestampSigner

    add_site(app, "blog", mode="post")
    parent_id = Reader(client, "blog").post(email="asker@example.org", notify=True).json["comment"]["id"]
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) - 8 * 86400)
    run(app)
    monkeypatch.undo()
    response = app.test_client().post(confirmation_path(smtp, "asker@example.org"))
    assert response.status_code == 410 and "when you next comment" in response.get_data(as_text=True)
    assert confirmed_at(app, parent_id) is None


def test_the_confirmation_is_in_the_language_the_reader_read_the_page_in(app, client, smtp):
    add_site(app, "blog", mode="post")
    set_site(app, name="Le blog")
    Reader(client, "blog").post(email="asker@example.org", notify=True, lang="fr")
    run(app)
    (message,) = smtp.mailbox.to("asker@example.org")
    assert message["Subject"] == "[Le blog] Confirmez les e-mails sur les réponses"
    assert "Pour recevoir ces e-mails, confirmez ici (le lien est valable 7 jours) :" in message.get_content()
    page = app.test_client().get(confirmation_path(smtp, "asker@example.org"), headers={"Accept-Language": "fr"})
    assert "Oui, m’avertir des réponses par e-mail" in page.get_data(as_text=True)


# ------------------------------------------------------------------ retries


def test_reader_post_succeeds_while_the_mail_server_is_down(app, client, held_site):
    app.config["CAUSERIE_SMTP_URL"] = "smtp://127.0.0.1:9"
    assert Reader(client, "blog").post().status_code == 201


def test_dead_mail_server_loses_nothing_and_retries_with_backoff(app, client, held_site):
    server = SMTPServer()  # not started yet
    app.config["CAUSERIE_SMTP_URL"] = server.url
    Reader(client, "blog").post(text="Survives the outage")
    now = utcnow()
    result = run(app, now)
    assert result.retried == 2 and result.sent == 0
    with app.app_context():
        entry = db.session.scalars(sa.select(Outbox)).first()
        assert entry.attempts == 1 and entry.status == "pending" and "Error" in entry.last_error
        assert entry.next_attempt_at == now + timedelta(seconds=60)
    assert run(app, now + timedelta(seconds=30)).retried == 0  # not due yet
    run(app, now + timedelta(seconds=61))
    with app.app_context():
        assert db.session.scalars(sa.select(Outbox)).first().next_attempt_at == now + timedelta(seconds=61 + 120)
    server.start()
    try:
        assert run(app, now + timedelta(seconds=200)).sent == 2
        assert "Survives the outage" in server.mailbox.messages[0].get_content()
    finally:
        server.stop()


def test_backoff_doubles_and_is_capped():
    assert [outbox.backoff(n).total_seconds() for n in (1, 2, 3)] == [60, 120, 240]
    assert outbox.backoff(30) == timedelta(hours=6)


def test_delivery_failing_every_time_is_marked_failed_and_can_be_retried(app, client, held_site):
    app.config["CAUSERIE_SMTP_URL"] = "smtp://127.0.0.1:9"
    set_site(app, notify_emails=["desk@example.org"])
    Reader(client, "blog").post()
    now = utcnow()
    for attempt in range(outbox.MAX_ATTEMPTS):
        run(app, now + timedelta(days=attempt))
    assert rows(app)[0][2:] == ("failed", outbox.MAX_ATTEMPTS)
    with app.app_context():
        assert outbox.retry_failed() == 1
    assert rows(app)[0][2:] == ("pending", 0)


def test_a_row_claimed_by_another_worker_is_not_sent_twice(app, client, smtp, held_site):
    set_site(app, notify_emails=["desk@example.org"])
    Reader(client, "blog").post()
    now = utcnow()
    with app.app_context():
        entry_id = db.session.scalar(sa.select(Outbox.id))
        assert outbox.claim(entry_id, now)  # another worker took it
    assert run(app, now).sent == 0
    assert run(app, now + outbox.LEASE + timedelta(seconds=1)).sent == 1  # its lease ran out


def test_worker_command_delivers_once(app, client, smtp, held_site):
    Reader(client, "blog").post()
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0 and "sent 2" in result.output
    assert len(smtp.mailbox.messages) == 2


# ------------------------------------------------------------------ webhooks


@pytest.fixture
def receiver(app):
    app.config["CAUSERIE_WEBHOOK_ALLOW_PRIVATE"] = True  # the receiver listens on 127.0.0.1
    server = WebhookReceiver().start()
    yield server
    server.stop()


def test_webhook_receives_new_comments_signed_with_the_sites_key(app, client, receiver):
    add_site(app, "blog", mode="post", webhook_url=receiver.url)
    comment_id = Reader(client, "blog").post(text="Webhook me", email="private@example.org").json["comment"]["id"]
    assert run(app).sent == 1
    headers, body = receiver.requests[0]
    assert headers["Causerie-Event"] == "comment.created"
    payload = json.loads(body)
    assert payload["site"] == "blog" and payload["comment"]["id"] == comment_id
    assert "private@example.org" not in body.decode() and "email" not in payload["comment"]
    stamp, signature = (part.split("=", 1)[1] for part in headers["Causerie-Signature"].split(","))
    with app.app_context():
        secret = webhooks.webhook_secret(db.session.scalar(sa.select(Site)))
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)


def test_webhook_receives_moderation_decisions(app, client, receiver):
    add_site(app, "blog", mode="pre", webhook_url=receiver.url)
    comment_id = add_comment(app, "blog")
    add_moderator(app, "mod@example.org", sites=["blog"])
    from tests.moderation_helpers import Session

    Session(app.test_client()).sign_in("mod@example.org").post(f"/moderate/comments/{comment_id}/reject")
    run(app)
    payload = json.loads(receiver.requests[-1][1])
    assert payload["event"] == "comment.moderated"
    assert (payload["from_status"], payload["to_status"], payload["comment"]["status"]) == ("pending", "rejected",
                                                                                           "rejected")


def test_webhook_error_status_is_retried(app, client):
    app.config["CAUSERIE_WEBHOOK_ALLOW_PRIVATE"] = True
    receiver = WebhookReceiver(status=503).start()
    try:
        add_site(app, "blog", mode="post", webhook_url=receiver.url)
        Reader(client, "blog").post()
        now = utcnow()
        assert run(app, now).retried == 1
        receiver.status = 204
        assert run(app, now + timedelta(minutes=2)).sent == 1
        assert len(receiver.requests) == 2
    finally:
        receiver.stop()


def test_webhook_redirect_is_a_failed_delivery(app, client):
    app.config["CAUSERIE_WEBHOOK_ALLOW_PRIVATE"] = True
    receiver = WebhookReceiver(status=302).start()
    try:
        add_site(app, "blog", mode="post", webhook_url=receiver.url)
        Reader(client, "blog").post()
        assert run(app).retried == 1
    finally:
        receiver.stop()


def webhook_outcome(app) -> tuple[str, str | None]:
    """The status and last error of the one webhook delivery."""
    with app.app_context():
        (entry,) = [o for o in db.session.scalars(sa.select(Outbox)) if o.payload.get("channel") == "webhook"]
        return entry.status, entry.last_error


def test_webhook_to_a_loopback_receiver_is_refused_by_default(app, client):
    receiver = WebhookReceiver().start()
    try:
        add_site(app, "blog", mode="post", webhook_url=receiver.url)
        Reader(client, "blog").post()
        assert run(app).failed == 1
        assert receiver.requests == []
        status, error = webhook_outcome(app)
        assert status == "failed" and "127.0.0.1, a loopback address" in error
    finally:
        receiver.stop()


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/hook", "http://[::1]/hook", "http://10.1.2.3/hook", "http://172.16.0.1/hook",
    "http://192.168.1.1/hook", "http://169.254.169.254/latest/meta-data", "http://0x7f000001/hook",
    "http://2130706433/hook", "http://127.1/hook", "http://localhost:8080/hook", "http://0.0.0.0/hook",
    "http://224.0.0.1/hook", "http://240.0.0.1/hook", "http://[::ffff:127.0.0.1]/hook", "http://[fe80::1]/hook",
    "http://[fc00::1]/hook", "http://100.64.0.1/hook",
])
def test_internal_addresses_are_refused(url):
    with pytest.raises(webhooks.netguard.RefusedURL):
        webhooks.netguard.check(url)


def test_a_public_address_passes_and_internal_ones_pass_when_allowed():
    assert webhooks.netguard.check("https://93.184.216.34/hook").address == "93.184.216.34"
    assert webhooks.netguard.check("http://127.0.0.1:81/x?y=1", allow_private=True).path == "/x?y=1"


def test_delivery_connects_to_the_checked_address_and_sends_the_original_host(app):
    from service.netguard import Target, post

    receiver = WebhookReceiver().start()
    try:
        port = receiver.server.server_port
        # hooks.example resolves nowhere: only the pinned address can have been used.
        target = Target("http", "hooks.example", port, "127.0.0.1", "/hook")
        assert post(target, b"{}", {"Content-Type": "application/json"}, deadline=5) == 200
        assert receiver.requests[0][0]["Host"] == f"hooks.example:{port}"
    finally:
        receiver.stop()


def test_a_receiver_that_trickles_its_answer_is_cut_at_the_deadline(app, client, monkeypatch):
    app.config["CAUSERIE_WEBHOOK_ALLOW_PRIVATE"] = True
    monkeypatch.setattr(webhooks, "WEBHOOK_TIMEOUT", 1)
    with TricklingReceiver(headers=40, every=0.25) as receiver:
        add_site(app, "blog", mode="post", webhook_url=receiver.url)
        Reader(client, "blog").post()
        result = run(app)
    assert (result.sent, result.retried) == (0, 1)
    status, error = webhook_outcome(app)
    assert status == "pending" and "no complete answer within 1 seconds" in error


def test_no_webhook_row_without_a_webhook_url(app, client):
    add_site(app, "blog", mode="post")
    Reader(client, "blog").post()
    assert rows(app) == []


def test_signature_covers_the_timestamp():
    body = b'{"a":1}'
    assert webhooks.sign("k", 1, body) != webhooks.sign("k", 2, body)
    assert webhooks.sign("k", 1, body).startswith("t=1,v1=")


def test_digest_includes_a_comment_sent_back_by_reports(app, client, smtp):
    add_site(app, "blog", mode="post", report_threshold=1, digest="daily", notify_emails=["desk@example.org"])
    comment_id = Reader(client, "blog").post(text="Published, then reported").json["comment"]["id"]
    run(app)  # the first digest: nothing waits yet
    Reader(client, "blog", ip="192.0.2.50").report(comment_id, reason="Off topic")
    run(app, utcnow() + timedelta(days=1, minutes=1))
    assert "Published, then reported" in smtp.mailbox.messages[0].get_content()


def test_housekeeping_forgets_old_sent_rows_and_expired_link_ids(app, two_sites):
    from service.models import UsedToken

    now = utcnow()
    with app.app_context():
        site_id = db.session.scalar(sa.select(Site.id))
        db.session.add_all([
            Outbox(site_id=site_id, topic="t", status="sent", sent_at=now - timedelta(days=31)),
            Outbox(site_id=site_id, topic="t", status="sent", sent_at=now - timedelta(days=1)),
            Outbox(site_id=site_id, topic="t", status="failed"),
            UsedToken(jti="old", used_at=now - timedelta(days=9)),
            UsedToken(jti="recent", used_at=now - timedelta(days=1)),
        ])
        db.session.commit()
        outbox.housekeeping(now)
        assert db.session.scalar(sa.select(sa.func.count(Outbox.id))) == 2
        assert db.session.scalars(sa.select(UsedToken.jti)).all() == ["recent"]


def test_a_link_for_a_comment_from_before_commenter_keys_does_not_confirm_a_strangers_comment(app, client, smtp):
    add_site(app, "blog", mode="post")
    older = Reader(client, "blog").post(text="Before keys", email="asker@example.org", notify=True).json
    with app.app_context():
        db.session.get(Comment, older["comment"]["id"]).commenter_hash = None
        db.session.commit()
    run(app)
    stranger = Reader(client, "blog", ip="192.0.2.66")
    impostor = stranger.post(text="Impostor", email="asker@example.org", notify=True).json["comment"]["id"]
    assert app.test_client().post(confirmation_path(smtp, "asker@example.org")).status_code == 200
    assert confirmed_at(app, older["comment"]["id"]) is not None and confirmed_at(app, impostor) is None
