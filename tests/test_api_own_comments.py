"""Readers edit, delete and check their own comments with the edit token."""

from datetime import timedelta

import pytest

from service.extensions import db
from service.models import Comment, Outbox

from .conftest import ORIGIN, Reader, add_site


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


def approved(app, client, mode, **site_fields):
    """A reader of a new ``mode`` site, and their comment, approved by a moderator."""
    reader = Reader(client, add_site(app, f"site-{mode}", mode=mode, **site_fields))
    posted = reader.post("What a lovely article", email="reader@example.org").get_json()
    with app.app_context():
        db.session.get(Comment, posted["comment"]["id"]).status = "approved"
        db.session.commit()
    return reader, posted


SPAM_EDIT = {"text": "Buy cheap pills now", "author": "Cheap Pills", "website": "https://spam.example"}


def test_an_edit_on_a_pre_site_sends_a_published_comment_back_to_the_queue(app, client):
    reader, posted = approved(app, client, "pre", notify_emails=["desk@example.org"])
    app.config["CAUSERIE_SMTP_URL"] = "smtp://127.0.0.1:1"
    response = reader.patch(posted["comment"]["id"], posted["edit_token"], **SPAM_EDIT)
    assert response.status_code == 200 and response.get_json()["status"] == "pending"
    assert reader.read().get_json()["comments"] == []
    with app.app_context():
        comment = db.session.get(Comment, posted["comment"]["id"])
        assert comment.status == "pending" and "edited" in comment.reasons
        assert [(o.topic, o.payload["channel"], o.payload["to"]) for o in db.session.query(Outbox)] == [
            ("comment.edited", "moderators", "desk@example.org")]


def test_an_edit_by_a_first_time_commenter_goes_back_to_the_queue(app, client):
    reader, posted = approved(app, client, "first-time")
    response = reader.patch(posted["comment"]["id"], posted["edit_token"], text="Now with different words")
    assert response.get_json()["status"] == "pending"
    assert reader.read().get_json()["comments"] == []


def test_an_edit_by_a_trusted_commenter_on_a_first_time_site_stays_published(app, client):
    reader, first = approved(app, client, "first-time")
    posted = reader.post("A second thought").get_json()
    assert posted["status"] == "approved"
    response = reader.patch(posted["comment"]["id"], posted["edit_token"], text="A second, better thought")
    assert response.get_json()["status"] == "approved"


def test_an_edit_checks_the_name_against_the_banned_words(app, reader, posted):
    with app.app_context():
        db.session.get(Comment, posted["comment"]["id"]).site.banned_words = ["pills"]
        db.session.commit()
    response = reader.patch(posted["comment"]["id"], posted["edit_token"], text="first version",
                            author="Cheap Pills")
    assert response.get_json()["status"] == "rejected"
    assert reader.read().get_json()["comments"] == []


def test_an_edit_checks_the_website_against_the_suspect_words(app, reader, posted):
    with app.app_context():
        db.session.get(Comment, posted["comment"]["id"]).site.suspect_words = ["casino"]
        db.session.commit()
    response = reader.patch(posted["comment"]["id"], posted["edit_token"], text="first version",
                            website="https://casino.example")
    assert response.get_json()["status"] == "pending"


def test_an_edit_never_publishes_a_held_comment(app, client):
    reader = Reader(client, add_site(app, "held", mode="post", suspect_words=["casino"]))
    posted = reader.post("casino talk").get_json()
    assert posted["status"] == "pending"
    response = reader.patch(posted["comment"]["id"], posted["edit_token"], text="harmless now")
    assert response.get_json()["status"] == "pending"


def test_an_unchanged_text_is_not_its_own_duplicate(reader, posted):
    response = reader.patch(posted["comment"]["id"], posted["edit_token"], text="first version")
    assert response.get_json()["status"] == "approved"


def test_an_author_cannot_edit_a_comment_a_moderator_edited(app, reader, posted):
    with app.app_context():
        comment = db.session.get(Comment, posted["comment"]["id"])
        comment.text, comment.edited_by_staff = "Edited by a moderator", True
        db.session.commit()
    response = reader.patch(posted["comment"]["id"], posted["edit_token"], text="undo the moderator")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "not_editable_moderated"
    with app.app_context():
        assert db.session.get(Comment, posted["comment"]["id"]).text == "Edited by a moderator"


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
        assert (comment.author, comment.email, comment.email_hash, comment.website, comment.ip_hash,
                comment.commenter_hash) == ("", None, None, None, None, None)
