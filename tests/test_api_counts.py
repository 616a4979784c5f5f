"""Counts for listing pages: GET /api/counts."""

from .conftest import ORIGIN


def test_counts_are_keyed_by_the_urls_as_given(reader):
    reader.post("one")
    reader.post("two")
    response = reader.client.get("/api/counts", query_string=[
        ("site", "blog"), ("url", f"{ORIGIN}/post/"), ("url", f"{ORIGIN}/empty")])
    assert response.get_json() == {"counts": {f"{ORIGIN}/post/": 2, f"{ORIGIN}/empty": 0}}


def test_counts_leave_out_unpublished_comments(app, reader):
    from service.extensions import db
    from service.models import Comment

    reader.post("one")
    with app.app_context():
        db.session.query(Comment).one().status = "pending"
        db.session.commit()
    response = reader.client.get("/api/counts", query_string={"site": "blog", "url": f"{ORIGIN}/post"})
    assert response.get_json()["counts"][f"{ORIGIN}/post"] == 0


def test_counts_with_no_url_are_empty(reader):
    assert reader.client.get("/api/counts?site=blog").get_json() == {"counts": {}}


def test_counts_for_an_unknown_site_are_404(client):
    assert client.get("/api/counts?site=nope&url=https://x.example/").status_code == 404


def test_counts_refuse_an_invalid_url(reader):
    assert reader.client.get("/api/counts?site=blog&url=javascript:1").status_code == 400


def test_counts_refuse_too_many_urls(reader):
    query = [("site", "blog")] + [("url", f"{ORIGIN}/p{i}") for i in range(101)]
    assert reader.client.get("/api/counts", query_string=query).status_code == 400
