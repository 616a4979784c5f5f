"""Readers report abusive comments; enough reports send one back to the queue."""

from service.extensions import db
from service.models import Comment, Report, Site

from .conftest import Reader


def test_report_is_accepted_with_202(reader):
    comment_id = reader.post("rude").get_json()["comment"]["id"]
    assert reader.report(comment_id).status_code == 202


def test_report_needs_a_reason(reader):
    comment_id = reader.post("rude").get_json()["comment"]["id"]
    response = reader.report(comment_id, reason="")
    assert response.status_code == 400
    assert "reason" in response.get_json()["error"]["fields"]


def test_report_of_an_unknown_comment_is_404(reader):
    assert reader.report(987654).status_code == 404


def test_reports_past_the_threshold_hide_the_comment(app, client, site, reader):
    comment_id = reader.post("rude").get_json()["comment"]["id"]
    with app.app_context():
        db.session.query(Site).one().report_threshold = 2
        db.session.commit()
    Reader(client, site, ip="198.51.100.1").report(comment_id)
    assert len(reader.read().get_json()["comments"]) == 1
    Reader(client, site, ip="198.51.100.2").report(comment_id)
    assert reader.read().get_json()["comments"] == []
    with app.app_context():
        comment = db.session.get(Comment, comment_id)
        assert comment.status == "pending" and "reported" in comment.reasons


def test_the_same_reader_reporting_twice_counts_once(app, client, site, reader):
    comment_id = reader.post("rude").get_json()["comment"]["id"]
    with app.app_context():
        db.session.query(Site).one().report_threshold = 2
        db.session.commit()
    for _ in range(3):
        assert reader.report(comment_id).status_code == 202
    assert len(reader.read().get_json()["comments"]) == 1
    with app.app_context():
        assert db.session.query(Report).count() == 1


def test_report_from_a_foreign_origin_is_403(client, site, reader):
    comment_id = reader.post("rude").get_json()["comment"]["id"]
    assert Reader(client, site, origin="https://evil.example").report(comment_id).status_code == 403


def test_addresses_of_one_ipv6_64_report_as_one_reader(app, client, site, reader):
    comment_id = reader.post("rude").get_json()["comment"]["id"]
    with app.app_context():
        db.session.query(Site).one().report_threshold = 2
        db.session.commit()
    for ip in ("2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:abcd:ef01:2345:6789"):
        assert Reader(client, site, ip=ip).report(comment_id).status_code == 202
    assert len(reader.read().get_json()["comments"]) == 1
    with app.app_context():
        assert db.session.query(Report).count() == 1


def test_reports_do_not_hide_a_staff_reply(app, client, site, reader):
    comment_id = reader.post("Our answer, as the site's team.").get_json()["comment"]["id"]
    with app.app_context():
        db.session.query(Site).one().report_threshold = 2
        db.session.get(Comment, comment_id).staff = True
        db.session.commit()
    for ip in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
        assert Reader(client, site, ip=ip).report(comment_id).status_code == 202
    assert len(reader.read().get_json()["comments"]) == 1
    with app.app_context():
        assert db.session.get(Comment, comment_id).status == "approved"
        assert db.session.query(Report).filter_by(resolved=False).count() == 3
