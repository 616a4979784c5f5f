"""Readers edit, delete and check their own comments with the edit token."""

from datetime import timedelta

import pytest

from service.extensions import db
from service.models import Comment

from .conftest import ORIGIN, Reader


@pytest.fixture
def posted(reader):
    return reader.post("first version").get_json()


def age(app, comment_id, seconds):
    with app.app_context():
        comment = db.session.get(Comment, comment_id)
        comment.created_at -= timedelta(seconds=seconds)
        db.session.commit()


def test_edit_within_the_window_changes_the_text(reader, posted):
    response = reader.patch(posted["comment"]["id"], posted["edit_token"], text="second *version*")
    assert response.status_code == 200
    assert response.get_json()["comment"]["html"] == "<p>second <em>version</em></p>"
    assert response.get_json()["comment"]["edited_at"]
    assert reader.read().get_json()["comments"][0]["html"] == "<p>second <em>version</em></p>"


def test_edit_can_change_name_and_website(reader, posted):
    response = reader.patch(posted["comment"]["id"], posted["edit_token"], text="t", author="Léa",
                            website="https://lea.example")
    comment = response.get_json()["comment"]
    assert (comment["author"], comment["website"]) == ("Léa", "https://lea.example")


def test_edit_with_a_wrong_token_is_403_and_changes_nothing(reader, posted):
    response = reader.patch(posted["comment"]["id"], "wrong", text="hacked")
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "invalid_token"
    assert reader.read().get_json()["comments"][0]["html"] == "<p>first version</p>"


def test_edit_without_a_token_is_403(reader, posted):
    assert reader.patch(posted["comment"]["id"], None, text="x").status_code == 403


def test_edit_after_the_window_is_403(app, reader, posted):
    age(app, posted["comment"]["id"], app.config["CAUSERIE_EDIT_WINDOW"] + 1)
    response = reader.patch(posted["comment"]["id"], posted["edit_token"], text="late")
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "edit_window_closed"


def test_edit_of_an_unknown_comment_is_404(reader):
    assert reader.patch(424242, "token", text="x").status_code == 404


def test_edit_of_a_rejected_comment_is_409(app, reader, posted):
    with app.app_context():
        db.session.get(Comment, posted["comment"]["id"]).status = "rejected"
        db.session.commit()
    assert reader.patch(posted["comment"]["id"], posted["edit_token"], text="x").status_code == 409


def test_edit_with_invalid_fields_is_400(reader, posted):
    response = reader.patch(posted["comment"]["id"], posted["edit_token"], text="")
    assert response.status_code == 400
    assert "text" in response.get_json()["error"]["fields"]


def test_edit_from_a_foreign_origin_is_403(client, site, posted):
    evil = Reader(client, site, origin="https://evil.example")
    assert evil.patch(posted["comment"]["id"], posted["edit_token"], text="x").status_code == 403


def test_edit_adding_a_banned_word_takes_the_comment_down(app, reader, posted):
    with app.app_context():
        db.session.get(Comment, posted["comment"]["id"]).site.banned_words = ["casino"]
        db.session.commit()
    response = reader.patch(posted["comment"]["id"], posted["edit_token"], text="visit my casino")
    assert response.get_json()["status"] == "rejected"
    assert reader.read().get_json()["comments"] == []


def test_delete_within_the_window_removes_the_comment(reader, posted):
    assert reader.delete(posted["comment"]["id"], posted["edit_token"]).status_code == 204
    assert reader.read().get_json()["comments"] == []


def test_delete_clears_the_stored_text(app, reader, posted):
    reader.delete(posted["comment"]["id"], posted["edit_token"])
    with app.app_context():
        comment = db.session.get(Comment, posted["comment"]["id"])
        assert (comment.status, comment.text, comment.html) == ("deleted", "", "")


def test_delete_with_a_wrong_token_is_403(reader, posted):
    assert reader.delete(posted["comment"]["id"], "nope").status_code == 403
    assert len(reader.read().get_json()["comments"]) == 1


def test_delete_after_the_window_is_403(app, reader, posted):
    age(app, posted["comment"]["id"], app.config["CAUSERIE_EDIT_WINDOW"] + 1)
    assert reader.delete(posted["comment"]["id"], posted["edit_token"]).status_code == 403


def test_owner_sees_their_pending_comment(app, reader, posted):
    with app.app_context():
        db.session.get(Comment, posted["comment"]["id"]).status = "pending"
        db.session.commit()
    response = reader.client.get(f"/api/comments/{posted['comment']['id']}",
                                 headers={"Authorization": f"Bearer {posted['edit_token']}", "Origin": ORIGIN})
    assert response.status_code == 200
    assert response.get_json()["status"] == "pending"


def test_owner_is_told_spam_as_rejected(app, reader, posted):
    with app.app_context():
        db.session.get(Comment, posted["comment"]["id"]).status = "spam"
        db.session.commit()
    response = reader.client.get(f"/api/comments/{posted['comment']['id']}",
                                 headers={"Authorization": f"Bearer {posted['edit_token']}"})
    assert response.get_json()["status"] == "rejected"


def test_someone_else_cannot_check_a_comment(reader, posted):
    response = reader.client.get(f"/api/comments/{posted['comment']['id']}", headers={"Authorization": "Bearer x"})
    assert response.status_code == 403


@pytest.mark.parametrize("comment_id", [2**31, 10**30])
def test_ids_beyond_the_database_range_are_404(reader, comment_id):
    assert reader.patch(comment_id, "token", text="x").status_code == 404
    assert reader.report(comment_id).status_code == 404


def test_database_outage_is_a_503_not_a_500(app, reader, monkeypatch):
    import sqlalchemy as sa

    from service import threads

    def broken(*args, **kwargs):
        raise sa.exc.OperationalError("SELECT", {}, Exception("database is locked"))

    monkeypatch.setattr(threads, "lookup", broken)
    response = reader.read()
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "unavailable"


def test_delete_forgets_who_wrote_it(app, reader):
    posted = reader.post("bye", email="gone@example.org", website="https://gone.example").get_json()
    reader.delete(posted["comment"]["id"], posted["edit_token"])
    with app.app_context():
        comment = db.session.get(Comment, posted["comment"]["id"])
        assert (comment.author, comment.email, comment.email_hash, comment.website, comment.ip_hash) == (
            "", None, None, None, None)
