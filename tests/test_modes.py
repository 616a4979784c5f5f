"""The site's moderation mode decides what is published at once."""

from service.extensions import db
from service.models import Comment

from .conftest import Reader, add_site


def reader_of(app, client, mode):
    return Reader(client, add_site(app, f"site-{mode}", mode=mode))


def test_post_mode_publishes_at_once(app, client):
    response = reader_of(app, client, "post").post("hello")
    assert response.get_json()["status"] == "approved"


def test_pre_mode_holds_every_comment(app, client):
    reader = reader_of(app, client, "pre")
    assert reader.post("hello", email="known@example.org").get_json()["status"] == "pending"
    assert reader.read().get_json()["comments"] == []


def test_pre_mode_holds_even_known_commenters(app, client):
    reader = reader_of(app, client, "pre")
    first = reader.post("hello", email="known@example.org").get_json()["comment"]["id"]
    with app.app_context():
        db.session.get(Comment, first).status = "approved"
        db.session.commit()
    assert reader.post("again", email="known@example.org").get_json()["status"] == "pending"


def test_first_time_mode_holds_a_new_commenter(app, client):
    reader = reader_of(app, client, "first-time")
    assert reader.post("hello", email="new@example.org").get_json()["status"] == "pending"


def test_first_time_mode_holds_a_commenter_without_email(app, client):
    reader = reader_of(app, client, "first-time")
    assert reader.post("hello").get_json()["status"] == "pending"


def test_first_time_mode_publishes_a_commenter_with_an_approved_comment(app, client):
    reader = reader_of(app, client, "first-time")
    first = reader.post("hello", email="Known@Example.org").get_json()["comment"]["id"]
    with app.app_context():
        db.session.get(Comment, first).status = "approved"
        db.session.commit()
    assert reader.post("again", email="known@example.org").get_json()["status"] == "approved"


def test_first_time_trust_does_not_cross_sites(app, client):
    trusted_on = reader_of(app, client, "first-time")
    first = trusted_on.post("hello", email="known@example.org").get_json()["comment"]["id"]
    with app.app_context():
        db.session.get(Comment, first).status = "approved"
        db.session.commit()
    other = Reader(client, add_site(app, "other", mode="first-time"))
    assert other.post("hello there", email="known@example.org").get_json()["status"] == "pending"


def test_held_comment_records_why(app, client):
    reader_of(app, client, "pre").post("hello")
    with app.app_context():
        assert db.session.query(Comment).one().reasons == ["mode_pre"]


def test_first_time_mode_holds_a_stranger_typing_a_trusted_address(app, client):
    owner = reader_of(app, client, "first-time")
    first = owner.post("hello", email="known@example.org").get_json()["comment"]["id"]
    with app.app_context():
        db.session.get(Comment, first).status = "approved"
        db.session.commit()
    stranger = Reader(client, owner.site, ip="192.0.2.66")
    assert stranger.post("I am known too", email="known@example.org").get_json()["status"] == "pending"
    assert owner.post("again", email="known@example.org").get_json()["status"] == "approved"


def test_a_commenter_key_this_service_did_not_sign_earns_no_trust(app, client):
    owner = reader_of(app, client, "first-time")
    first = owner.post("hello").get_json()["comment"]["id"]
    with app.app_context():
        db.session.get(Comment, first).status = "approved"
        db.session.commit()
    genuine = owner.commenter
    forged = genuine.rsplit(".", 1)[0] + ".forged"
    answer = owner.post("again", commenter=forged).get_json()
    assert answer["status"] == "pending"
    assert answer["commenter"] not in (forged, genuine)
