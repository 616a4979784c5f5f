"""Posting: POST /api/comments, and everything it refuses."""

import pytest

from service.extensions import db
from service.models import Comment, ModerationEvent, Thread

from .conftest import ORIGIN, Reader

URL = f"{ORIGIN}/post"


def stored(app):
    with app.app_context():
        return db.session.query(Comment).count()


def test_post_answers_201_with_an_edit_token(reader):
    response = reader.post("Bonjour")
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "approved"
    assert body["edit_token"]
    assert body["editable_until"].endswith("Z")
    assert body["comment"]["html"] == "<p>Bonjour</p>"


def test_post_stores_sanitized_html_once(app, reader):
    reader.post("<script>alert(1)</script> **gras**")
    with app.app_context():
        comment = db.session.query(Comment).one()
        assert comment.html == "<p>&lt;script&gt;alert(1)&lt;/script&gt; <strong>gras</strong></p>"
        assert comment.text == "<script>alert(1)</script> **gras**"


def test_post_creates_the_thread_with_its_title(app, reader):
    reader.post("hello", title="Les pièges de la modération")
    with app.app_context():
        assert db.session.query(Thread).one().title == "Les pièges de la modération"


def test_a_later_post_from_the_page_updates_the_thread_title(app, reader):
    reader.post("first", title="Buy cheap pills here")
    reader.post("second", title="Les pièges de la modération")
    reader.post("third")  # a post without a title keeps the one the page last declared
    with app.app_context():
        assert db.session.query(Thread).one().title == "Les pièges de la modération"


def test_line_separators_in_a_title_are_folded(app, reader):
    reader.post("hello", title="Un\u2028titre\u2029ici")
    with app.app_context():
        assert db.session.query(Thread).one().title == "Un titre ici"


def test_post_writes_an_audit_event(app, reader):
    reader.post("hello")
    with app.app_context():
        event = db.session.query(ModerationEvent).one()
        assert (event.action, event.to_status, event.actor) == ("created", "approved", "rules")
        assert event.thread_id == db.session.query(Thread).one().id


def test_a_post_on_a_known_thread_changes_only_its_version_and_title(app, reader):
    reader.post("first", title="Before")

    def thread_row():
        with app.app_context():
            thread = db.session.query(Thread).one()
            return {column.name: getattr(thread, column.name) for column in Thread.__table__.c}

    before = thread_row()
    reader.post("second", title="After")
    after = thread_row()
    assert after == {**before, "version": before["version"] + 1, "title": "After"}


def test_the_audit_event_of_a_post_names_its_comment_and_when(app, reader):
    answer = reader.post("hello", email="camille@example.org").get_json()["comment"]
    with app.app_context():
        event = db.session.query(ModerationEvent).one()
        comment = db.session.get(Comment, answer["id"])
        assert (event.comment_id, event.site_id, event.moderator_id, event.from_status, event.detail) == (
            comment.id, comment.site_id, None, None, "")
        assert comment.created_at <= event.created_at
        assert (comment.edited_by_staff, comment.moderated_at, comment.reasons) == (False, None, [])


def test_email_is_stored_but_ip_only_as_a_hash(app, reader):
    reader.post("hello", email="camille@example.org")
    with app.app_context():
        comment = db.session.query(Comment).one()
        assert comment.email == "camille@example.org"
        assert comment.ip_hash and reader.ip not in comment.ip_hash


@pytest.mark.parametrize("tag, kept", [("fr", "fr"), ("fr-CA", "fr"), ("EN_gb", "en"), ("de", "de"), ("pt-BR", "pt"),
                                       ("ja", None), (None, None)])
def test_the_widgets_language_is_kept_when_the_emails_are_written_in_it(app, reader, tag, kept):
    assert reader.post("hello", lang=tag).status_code == 201
    with app.app_context():
        assert db.session.query(Comment).one().language == kept


def test_reply_keeps_its_parent(reader):
    parent = reader.post("parent").get_json()["comment"]["id"]
    reply = reader.post("reply", parent_id=parent).get_json()
    assert reply["comment"]["parent_id"] == parent


def test_reply_to_a_comment_of_another_thread_is_refused(app, reader):
    other = reader.post("elsewhere", url=f"{ORIGIN}/other").get_json()["comment"]["id"]
    before = stored(app)
    response = reader.post("reply", parent_id=other)
    assert response.status_code == 400
    assert "parent_id" in response.get_json()["error"]["fields"]
    assert stored(app) == before


def test_reply_to_an_unpublished_comment_is_refused(app, reader):
    parent = reader.post("parent").get_json()["comment"]["id"]
    with app.app_context():
        db.session.get(Comment, parent).status = "pending"
        db.session.commit()
    assert reader.post("reply", parent_id=parent).status_code == 400


def test_reply_to_a_missing_comment_is_refused(reader):
    assert reader.post("reply", parent_id=999999).status_code == 400


def test_parent_id_beyond_the_database_range_is_400(reader):
    assert "parent_id" in reader.post("reply", parent_id=2**31).get_json()["error"]["fields"]


def test_locked_thread_refuses_comments(app, reader):
    reader.post("first")
    with app.app_context():
        db.session.query(Thread).one().locked = True
        db.session.commit()
    response = reader.post("second")
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "thread_locked"
    assert stored(app) == 1


def test_foreign_origin_is_refused(app, client, site):
    response = Reader(client, site, origin="https://evil.example").post("hi")
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden_origin"
    assert stored(app) == 0


def test_missing_origin_is_refused(client, site, reader):
    body = {"site": site, "url": URL, "author": "A", "text": "hi"}
    response = client.post("/api/comments", json=body)
    assert response.status_code == 403


def test_page_of_another_site_is_refused(reader):
    response = reader.post("hi", url="https://elsewhere.example/post")
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "foreign_url"


def test_unknown_site_is_404(client):
    body = {"site": "nope", "url": URL, "author": "A", "text": "hi"}
    response = client.post("/api/comments", json=body, headers={"Origin": ORIGIN})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_site"


def post_raw(reader, body, **kwargs):
    content = {"json": body} if body is not None else {}
    return reader.client.post("/api/comments", headers={"Origin": ORIGIN}, **content, **kwargs)


def test_a_body_that_is_not_json_is_415(reader):
    response = reader.client.post("/api/comments", data="author=A", headers={"Origin": ORIGIN},
                                  content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "not_json"


def test_malformed_json_is_400(reader):
    response = reader.client.post("/api/comments", data="{not json", content_type="application/json",
                                  headers={"Origin": ORIGIN})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_json"


def test_json_that_is_not_an_object_is_400(reader):
    assert post_raw(reader, ["a"]).status_code == 400


def test_invalid_utf8_is_400(reader):
    response = reader.client.post("/api/comments", data=b'{"text": "\xff\xfe"}', content_type="application/json",
                                  headers={"Origin": ORIGIN})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_encoding"


def test_missing_fields_are_named(reader):
    fields = post_raw(reader, {}).get_json()["error"]["fields"]
    assert set(fields) == {"site", "url", "author", "text"}


@pytest.mark.parametrize("field, value", [
    ("author", 42), ("text", ["a"]), ("parent_id", "1"), ("parent_id", True), ("parent_id", -1),
    ("notify", "yes"), ("email", {"a": 1}), ("website", 3.5), ("title", False), ("lang", ["fr"]),
])
def test_wrong_types_are_400_with_the_field(reader, field, value):
    response = reader.post(**{"text": "hello", field: value})
    assert response.status_code == 400
    assert field in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("field", ["author", "text"])
def test_blank_required_fields_are_400(reader, field):
    response = reader.post(**{"text": "hello", field: "   "})
    assert field in response.get_json()["error"]["fields"]


def test_text_over_the_limit_is_400(app, reader):
    limit = app.config["CAUSERIE_MAX_COMMENT_LENGTH"]
    response = reader.post("x" * (limit + 1))
    assert response.status_code == 400
    assert "text" in response.get_json()["error"]["fields"]


def test_author_over_the_limit_is_400(reader):
    assert reader.post("hello", author="A" * 81).status_code == 400


def test_body_over_the_request_limit_is_413(app, reader):
    huge = "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)
    response = post_raw(reader, {"site": "blog", "url": URL, "author": "A", "text": huge})
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"


@pytest.mark.parametrize("field, value", [("text", "nul\x00byte"), ("author", "bell\x07"), ("author", "new\nline"),
                                          ("text", "escape\x1b[31m")])
def test_control_characters_are_400(app, reader, field, value):
    response = reader.post(**{"text": "hello", field: value})
    assert response.status_code == 400
    assert field in response.get_json()["error"]["fields"]
    assert stored(app) == 0


def test_newlines_and_tabs_are_fine_in_text(reader):
    assert reader.post("line one\n\tline two\r\nline three").status_code == 201


def test_invalid_email_is_400(reader):
    assert "email" in reader.post("hi", email="not-an-email").get_json()["error"]["fields"]


@pytest.mark.parametrize("website", ["javascript:alert(1)", "ftp://x.example", "just words"])
def test_website_must_be_http(reader, website):
    assert "website" in reader.post("hi", website=website).get_json()["error"]["fields"]


def test_notify_needs_an_email(reader):
    assert "notify" in reader.post("hi", notify=True).get_json()["error"]["fields"]


def test_french_text_emoji_and_guillemets_round_trip(reader):
    text = "« Merci pour l’article ! » 👏🏽 — c’est très juste."
    posted = reader.post(text, author="Éloïse").get_json()
    comment = reader.read().get_json()["comments"][0]
    assert comment["author"] == "Éloïse"
    assert text in comment["html"]
    assert posted["comment"]["id"] == comment["id"]


def test_honeypot_marks_spam_and_does_not_publish(app, reader):
    response = reader.post("buy now", hp="http://spam.example")
    assert response.status_code == 201
    assert response.get_json()["status"] == "rejected"
    assert reader.read().get_json()["comments"] == []
    with app.app_context():
        assert db.session.query(Comment).one().status == "spam"


def test_post_without_ticket_is_held(app, reader):
    body = {"site": "blog", "url": URL, "author": "A", "text": "no ticket"}
    response = reader.client.post("/api/comments", json=body, headers={"Origin": ORIGIN})
    assert response.get_json()["status"] == "pending"
    with app.app_context():
        assert "no_ticket" in db.session.query(Comment).one().reasons


def test_post_with_a_forged_ticket_is_held(reader):
    assert reader.post("forged", ticket="abc.def.ghi").get_json()["status"] == "pending"
