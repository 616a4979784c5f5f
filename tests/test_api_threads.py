"""Reading a thread: GET /api/threads."""

import pytest

from service.extensions import db
from service.models import Comment, Thread

from .conftest import ORIGIN, Reader, add_site

URL = f"{ORIGIN}/post"


def set_fields(app, comment_id, **fields):
    with app.app_context():
        comment = db.session.get(Comment, comment_id)
        for name, value in fields.items():
            setattr(comment, name, value)
        db.session.commit()


def test_unknown_thread_reads_as_empty(reader):
    body = reader.read(f"{ORIGIN}/new-article").get_json()
    assert body["comments"] == []
    assert body["thread"]["count"] == 0
    assert body["thread"]["url"] == f"{ORIGIN}/new-article"


def test_replies_follow_their_parent_in_display_order(reader):
    first = reader.post("first").get_json()["comment"]["id"]
    second = reader.post("second").get_json()["comment"]["id"]
    reply = reader.post("reply to first", parent_id=first).get_json()["comment"]["id"]
    ids = [c["id"] for c in reader.read().get_json()["comments"]]
    assert ids == [first, reply, second]


def test_pinned_comments_come_first(app, reader):
    first = reader.post("first").get_json()["comment"]["id"]
    second = reader.post("second").get_json()["comment"]["id"]
    set_fields(app, second, pinned=True)
    comments = reader.read().get_json()["comments"]
    assert [c["id"] for c in comments] == [second, first]
    assert comments[0]["pinned"] is True


def test_pending_comments_are_not_served(app, reader):
    comment_id = reader.post("held").get_json()["comment"]["id"]
    set_fields(app, comment_id, status="pending")
    assert reader.read().get_json()["comments"] == []


def test_email_and_ip_hash_are_never_served(reader):
    reader.post("hello", email="camille@example.org")
    raw = reader.read().get_data(as_text=True)
    assert "camille@example.org" not in raw
    assert "ip_hash" not in raw and "email" not in raw


def test_avatar_is_stable_for_the_same_commenter(reader):
    reader.post("one", email="a@example.org")
    reader.post("two", email="A@Example.org ")
    avatars = {c["avatar"] for c in reader.read().get_json()["comments"]}
    assert len(avatars) == 1


def test_a_stranger_typing_an_address_does_not_get_its_owners_avatar(client, site, reader):
    reader.post("the owner", email="a@example.org")
    Reader(client, site, ip="192.0.2.66").post("the impostor", email="a@example.org")
    avatars = {c["avatar"] for c in reader.read().get_json()["comments"]}
    assert len(avatars) == 2


def test_an_address_has_different_avatars_on_two_sites(app, client, site):
    add_site(app, "other", mode="post")
    for key in (site, "other"):
        Reader(client, key).post("hello", email="a@example.org")
    with app.app_context():  # comments from before commenter keys: the avatar follows the address
        db.session.query(Comment).update({"commenter_hash": None})
        db.session.commit()
    (here,), (there,) = (Reader(client, key).read().get_json()["comments"] for key in (site, "other"))
    assert here["avatar"] and there["avatar"] and here["avatar"] != there["avatar"]


def test_a_held_comment_gets_no_avatar_in_the_post_answer(app, client):
    held = Reader(client, add_site(app, "held", mode="pre"))
    answer = held.post("probe", email="guess@example.org").get_json()
    assert answer["status"] == "pending" and answer["comment"]["avatar"] == ""


def test_read_answers_304_to_a_matching_etag(reader):
    reader.post("hello")
    first = reader.read()
    again = reader.client.get("/api/threads", query_string={"site": "blog", "url": URL},
                              headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == first.headers["ETag"]


def test_a_thread_says_whether_reply_emails_can_be_offered(app, reader):
    reader.post("hello")
    without = reader.read()
    app.config["CAUSERIE_SMTP_URL"] = "smtp://127.0.0.1:25"
    with_mail = reader.read()
    assert without.get_json()["thread"]["notify"] is False and with_mail.get_json()["thread"]["notify"] is True
    # A browser holding the body from before email was set up gets the new one.
    again = reader.client.get("/api/threads", query_string={"site": "blog", "url": URL},
                              headers={"If-None-Match": without.headers["ETag"]})
    assert again.status_code == 200 and again.get_json()["thread"]["notify"] is True


def test_etag_changes_when_a_comment_is_approved(app, reader):
    comment_id = reader.post("hello").get_json()["comment"]["id"]
    set_fields(app, comment_id, status="pending")
    before = reader.read().headers["ETag"]
    set_fields(app, comment_id, status="approved")
    after = reader.read()
    assert after.headers["ETag"] != before
    assert len(after.get_json()["comments"]) == 1


def test_a_published_post_changes_the_etag_and_shows_at_once(reader):
    reader.post("first")
    before = reader.read()  # the body is now cached under this version
    reader.post("second")
    after = reader.read()
    assert after.headers["ETag"] != before.headers["ETag"]
    assert [c["html"] for c in after.get_json()["comments"]] == ["<p>first</p>", "<p>second</p>"]


def test_a_revalidation_after_a_post_gets_the_new_body_not_a_304(reader):
    reader.post("first")
    etag = reader.read().headers["ETag"]
    reader.post("second")
    response = reader.client.get("/api/threads", query_string={"site": "blog", "url": URL},
                                 headers={"Origin": ORIGIN, "If-None-Match": etag})
    assert response.status_code == 200
    assert len(response.get_json()["comments"]) == 2


def test_etag_changes_when_the_thread_is_locked(app, reader):
    reader.post("hello")
    before = reader.read().headers["ETag"]
    with app.app_context():
        db.session.query(Thread).one().locked = True
        db.session.commit()
    after = reader.read()
    assert after.headers["ETag"] != before
    assert after.get_json()["thread"]["locked"] is True


def test_deleted_comment_with_replies_stays_as_a_placeholder(reader):
    posted = reader.post("parent").get_json()
    reader.post("reply", parent_id=posted["comment"]["id"])
    reader.delete(posted["comment"]["id"], posted["edit_token"])
    comments = reader.read().get_json()["comments"]
    assert comments[0]["deleted"] is True
    assert comments[0]["html"] == "" and comments[0]["author"] == ""
    assert comments[1]["html"] == "<p>reply</p>"


def test_deleted_comment_without_replies_disappears(reader):
    posted = reader.post("alone").get_json()
    reader.delete(posted["comment"]["id"], posted["edit_token"])
    assert reader.read().get_json()["comments"] == []


def test_url_variants_read_the_same_thread(reader):
    reader.post("hello")
    body = reader.read(f"{ORIGIN.upper()}/post/?utm_source=feed#comments").get_json()
    assert body["thread"]["count"] == 1


def test_thread_key_finds_the_thread_whatever_the_url(reader):
    reader.post("hello", thread="article-42")
    body = reader.read(f"{ORIGIN}/moved-here", thread="article-42").get_json()
    assert body["thread"]["key"] == "article-42"
    assert body["thread"]["count"] == 1


def test_read_gives_a_ticket_header(reader):
    assert reader.read().headers["Causerie-Ticket"]


def test_unknown_site_is_404(client):
    response = client.get("/api/threads", query_string={"site": "nope", "url": URL})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_site"


@pytest.mark.parametrize("key", ["blog\x00", "blög", "blog ", "b" * 65])
def test_a_key_no_site_could_have_is_an_unknown_site(client, site, key):
    response = client.get("/api/threads", query_string={"site": key, "url": URL})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_site"


def test_missing_site_is_400(client):
    response = client.get("/api/threads", query_string={"url": URL})
    assert response.status_code == 400
    assert "site" in response.get_json()["error"]["fields"]


def test_missing_url_is_400(client, site):
    response = client.get("/api/threads", query_string={"site": site})
    assert response.status_code == 400


def test_a_page_of_another_origin_is_refused(reader):
    response = reader.read("https://elsewhere.example/post")
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "foreign_url"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://blog.example/x", "not a url"])
def test_a_url_that_is_not_http_is_400(reader, url):
    assert reader.read(url).status_code == 400


def test_each_site_sees_only_its_own_threads(app, client, site):
    add_site(app, "other", mode="post")
    Reader(client, site).post("on blog")
    assert Reader(client, "other").read().get_json()["comments"] == []


@pytest.mark.parametrize("site_key", ["bl\x00og", "x" * 65, "\x7f"])
def test_a_site_key_no_site_can_have_is_404(client, site_key):
    response = client.get("/api/threads", query_string={"site": site_key, "url": URL})
    assert response.status_code == 404


def test_a_page_starting_to_name_its_thread_keeps_its_comments(reader):
    reader.post("before the key")
    response = reader.post("after the key", thread="article-7")
    assert response.status_code == 201
    assert reader.read(thread="article-7").get_json()["thread"]["count"] == 2


def test_a_locked_page_stays_locked_when_it_starts_naming_its_thread(app, reader):
    reader.post("before the key")
    with app.app_context():
        db.session.query(Thread).one().locked = True
        db.session.commit()
    response = reader.post("after the key", thread="article-7")
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "thread_locked"
    assert reader.read().get_json()["thread"]["count"] == 1


def test_a_post_naming_another_key_does_not_re_key_a_pages_thread(app, reader):
    reader.post("first", thread="one")
    response = reader.post("second", thread="two")
    assert response.status_code == 201
    with app.app_context():
        assert [t.key for t in db.session.query(Thread)] == ["one"]
    assert reader.read(thread="one").get_json()["thread"]["count"] == 2


def test_a_stranger_naming_a_key_for_a_page_does_not_lock_the_page_out(app, reader):
    reader.post("before the page named its thread")
    assert reader.post("claim", thread="attacker-key").status_code == 201
    response = reader.post("the page names its thread", thread="real-key")
    assert response.status_code == 201
    with app.app_context():
        assert [t.key for t in db.session.query(Thread)] == [None]
    body = reader.read(thread="real-key").get_json()
    assert body["thread"]["count"] == 3


def test_a_key_held_by_another_page_is_409_and_changes_nothing(app, reader):
    reader.post("on the first page", url=f"{ORIGIN}/one", thread="one")
    reader.post("on the second page", url=f"{ORIGIN}/two")
    with app.app_context():
        before = [(t.url, t.key, t.version) for t in db.session.query(Thread).order_by(Thread.id)]
    response = reader.post("claim", url=f"{ORIGIN}/two", thread="one")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "thread_conflict"
    with app.app_context():
        assert [(t.url, t.key, t.version) for t in db.session.query(Thread).order_by(Thread.id)] == before
        assert db.session.query(Comment).count() == 2
    assert reader.read(f"{ORIGIN}/one", thread="one").get_json()["thread"]["count"] == 1
    assert reader.read(f"{ORIGIN}/two").get_json()["thread"]["count"] == 1
    assert reader.read(f"{ORIGIN}/two", thread="one").status_code == 200


def test_title_is_filled_in_by_a_later_post(app, reader):
    reader.post("no title yet")
    reader.post("with a title", title="Les pièges")
    assert reader.read().get_json()["thread"]["title"] == "Les pièges"


def test_a_reply_chain_deeper_than_the_stack_is_ordered(app, reader):
    from datetime import timedelta

    from service.models import utcnow
    from service.threads import display_order

    start = utcnow()
    chain, parent = [], None
    for i in range(5000):
        comment = Comment(id=i + 1, parent_id=parent, status="deleted" if i < 4999 else "approved",
                          created_at=start + timedelta(seconds=i), pinned=False)
        chain.append(comment)
        parent = comment.id
    assert [c.id for c in display_order(chain)] == list(range(1, 5001))
