"""Admin pages: import upload and backup download under /moderate/sites/KEY/."""

from __future__ import annotations

import io
import json

import sqlalchemy as sa

from service.extensions import db
from service.models import ModerationEvent

from .moderation_helpers import admin, mod, two_sites  # noqa: F401 - fixtures
from .porting_support import DATA, comments, counts


def upload(session, path, fmt="disqus", dry_run=False, **fields):
    data = {"format": fmt, "file": (io.BytesIO(path.read_bytes()), path.name), **fields}
    if dry_run:
        data["dry_run"] = "y"
    return session.post("/moderate/sites/blog/import", data=data, content_type="multipart/form-data")


def test_admin_sees_the_import_form_and_backup_link(admin):
    page = admin.get("/moderate/sites/blog/data")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html and "/moderate/sites/blog/export.json" in html


def test_admin_imports_an_uploaded_disqus_file(app, admin):
    response = upload(admin, DATA / "disqus.xml")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert "comments: 6 created" in response.get_data(as_text=True)
    assert counts(app) == (2, 6)
    assert comments(app)["disqus:301"].author == "Ana"


def test_upload_dry_run_writes_nothing(app, admin):
    response = upload(admin, DATA / "wordpress.xml", fmt="wordpress", dry_run=True)
    assert "6 would be created" in response.get_data(as_text=True)
    assert counts(app) == (0, 0)


def test_uploaded_isso_database_lands_under_the_site_origin(app, admin):
    response = upload(admin, DATA / "isso.db", fmt="isso")
    assert response.status_code == 200
    assert counts(app) == (2, 6)


def test_upload_larger_than_the_api_limit_is_accepted(app, admin, tmp_path):
    big = tmp_path / "big.xml"
    posts = "".join(
        f'<post dsq:id="{n}"><message><![CDATA[<p>{"words " * 40}</p>]]></message>'
        f'<createdAt>2019-01-01T00:00:00Z</createdAt><author><name>A</name></author><thread dsq:id="1"/></post>'
        for n in range(2, 400))
    big.write_text('<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">'
                   '<thread dsq:id="1"><link>https://blog.example/a</link></thread>' + posts + "</disqus>")
    assert big.stat().st_size > app.config["MAX_CONTENT_LENGTH"]
    response = upload(admin, big)
    assert response.status_code == 200
    assert counts(app) == (1, 398)


def test_hostile_upload_is_refused_with_the_reason(app, admin):
    response = upload(admin, DATA / "hostile" / "billion_laughs.xml")
    assert response.status_code == 400
    assert "declares XML entities" in response.get_data(as_text=True)
    assert counts(app) == (0, 0)


def test_upload_without_csrf_token_is_refused(app, admin):
    response = upload(admin, DATA / "disqus.xml", csrf_token="forged")
    assert response.status_code == 400
    assert counts(app) == (0, 0)


def test_moderator_who_is_not_admin_cannot_import_or_export(app, mod):
    assert mod.get("/moderate/sites/blog/data").status_code == 403
    assert mod.get("/moderate/sites/blog/export.json").status_code == 403
    assert upload(mod, DATA / "disqus.xml").status_code == 403
    assert counts(app) == (0, 0)


def test_signed_out_visitor_is_sent_to_sign_in(app, client, two_sites):
    assert client.get("/moderate/sites/blog/export.json").status_code == 303


def test_admin_downloads_the_backup_and_the_download_is_audited(app, admin):
    upload(admin, DATA / "disqus.xml")
    response = admin.get("/moderate/sites/blog/export.json")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith('attachment; filename="causerie-blog-')
    assert response.headers["Cache-Control"] == "no-store"
    document = json.loads(response.data)
    assert document["format"] == "causerie-export" and len(document["comments"]) == 6
    with app.app_context():
        actions = db.session.scalars(sa.select(ModerationEvent.action)).all()
        assert "exported" in actions


def test_import_and_export_show_in_the_audit_log(app, admin):
    upload(admin, DATA / "disqus.xml")
    admin.get("/moderate/sites/blog/export.json")
    page = admin.get("/moderate/audit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "disqus: 6 comments and 2 threads created" in html and "backup downloaded" in html


def test_unknown_site_is_404(admin):
    assert admin.get("/moderate/sites/nope/data").status_code == 404


def test_the_sites_page_links_to_import_and_backup(admin):
    html = admin.get("/moderate/sites").get_data(as_text=True)
    assert "/moderate/sites/blog/data" in html


def test_the_audit_log_names_an_import_in_french(admin):
    upload(admin, DATA / "disqus.xml")
    html = admin.get("/moderate/audit", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "importé" in html


def test_uploaded_isso_file_with_an_endless_view_is_refused_with_the_reason(app, admin, tmp_path):
    from .test_import_isso import ENDLESS_VIEW, hostile_isso

    response = upload(admin, hostile_isso(tmp_path, ENDLESS_VIEW), fmt="isso")
    assert response.status_code == 400
    assert "holds a view named" in response.get_data(as_text=True)
    assert counts(app) == (0, 0)
