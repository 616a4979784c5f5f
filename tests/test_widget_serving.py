"""GET /widget.js: one compressed, cacheable script with its CSS and languages inside."""

from __future__ import annotations

import gzip
import json
import re

import pytest
import rcssmin
import rjsmin

from service import widget

BUDGET = 8192


@pytest.fixture
def bundle(app):
    return app.extensions["causerie_widget"]


def test_widget_is_served_gzipped_with_strong_etag_and_short_cache(client, bundle):
    response = client.get("/widget.js", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert "Accept-Encoding" in response.headers["Vary"]
    etag = response.headers["ETag"]
    assert etag == f'"{bundle.version}-gz"' and not etag.startswith("W/")
    assert gzip.decompress(response.data) == bundle.body


def test_widget_is_served_plain_to_clients_without_gzip(client, bundle):
    response = client.get("/widget.js", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in response.headers
    assert response.data == bundle.body
    assert response.headers["ETag"] == f'"{bundle.version}"'


def test_unchanged_widget_is_answered_304(client):
    first = client.get("/widget.js", headers={"Accept-Encoding": "gzip"})
    again = client.get("/widget.js", headers={"Accept-Encoding": "gzip", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""


def test_versioned_url_is_cached_for_a_year_and_a_stale_version_is_not(client, bundle):
    fresh = client.get(f"/widget.js?v={bundle.version}")
    assert fresh.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    stale = client.get("/widget.js?v=0000")
    assert stale.headers["Cache-Control"] == "public, max-age=300"


def test_widget_url_helper_names_the_current_version(app, bundle):
    with app.test_request_context():
        assert widget.widget_url() == f"/widget.js?v={bundle.version}"
        assert widget.widget_url(external=True).startswith("http://localhost/widget.js?v=")


def test_served_widget_fits_the_gzip_budget(client):
    response = client.get("/widget.js", headers={"Accept-Encoding": "gzip"})
    assert len(response.data) <= BUDGET


def test_widget_code_without_its_comments_fits_the_gzip_budget():
    # The code itself, whatever its comments (which the service strips when it serves it).
    code = rjsmin.jsmin((widget.WIDGET_DIR / "causerie.js").read_text("utf-8")) + rcssmin.cssmin(
        (widget.WIDGET_DIR / "causerie.css").read_text("utf-8"))
    assert len(gzip.compress(code.encode(), 9)) <= BUDGET


def test_bundle_inlines_css_and_english_and_names_the_other_languages(bundle):
    text = bundle.body.decode()
    assert "__CSS__" not in text and "/*I18N*/" not in text and "__LANGS__" not in text
    assert ":host{" in text
    assert '"en":{' in text
    assert '"de es fr it nl pt"' in text
    assert widget.build() == bundle


def test_other_languages_words_are_not_in_the_bundle(bundle):
    text = bundle.body.decode()
    for words in ("Répondre", "Antworten", "Responder", "Rispondi", "Reageren", "commentaire"):
        assert words not in text


def test_every_language_table_has_every_string():
    tables = {path.stem: json.loads(path.read_text("utf-8")) for path in (widget.WIDGET_DIR / "i18n").glob("*.json")}
    assert {"en", "fr", "de", "es", "it", "pt", "nl"} <= set(tables)
    for lang, table in tables.items():
        assert table.keys() == tables["en"].keys(), lang
        assert "other" in table["n"], lang
        assert all(isinstance(v, str) and v for k, v in table.items() if k != "n"), lang


def test_only_the_services_sanitized_html_is_ever_parsed_as_html():
    source = (widget.WIDGET_DIR / "causerie.js").read_text("utf-8")
    assert re.findall(r"innerHTML = ([\w.]+)", source) == ["c.html", "j.comment.html"]
    for forbidden in ("eval(", "new Function", "outerHTML", "insertAdjacentHTML", "document.write", ".style"):
        assert forbidden not in source
    # Style attributes would need 'unsafe-inline' in the host page's CSP.
    assert not re.search(r"h\('\w+', \{[^}]*\bstyle:", source)
