"""GET /widget.js: one compressed, cacheable script with its CSS and languages inside."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil

import pytest

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


def test_the_committed_build_is_the_build_of_the_widgets_source():
    # widget/build.mjs writes the source's digest first; this check needs no Node.
    first_line = (widget.WIDGET_DIR / "causerie.min.js").read_text("utf-8").partition("\n")[0]
    source = (widget.WIDGET_DIR / "causerie.js").read_text("utf-8")
    assert hashlib.sha256(source.encode()).hexdigest() in first_line.split()


def test_a_build_of_another_source_is_refused(tmp_path):
    folder = shutil.copytree(widget.WIDGET_DIR, tmp_path / "widget")
    with (folder / "causerie.js").open("a", encoding="utf-8") as source:
        source.write("// edited after the build\n")
    with pytest.raises(RuntimeError, match="npm run build"):
        widget.build(folder)


def test_bundle_fills_the_builds_slots_with_css_english_and_the_languages(bundle):
    text = bundle.body.decode()
    assert "__CSS__" not in text and "__ENGLISH__" not in text and "__LANGUAGES__" not in text
    assert "Built from" not in text
    assert ":host{" in text
    assert '"reply":"Reply"' in text
    assert '"de en es fr it nl pt"' in text
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
    assert re.findall(r"innerHTML = ([\w.]+)", source) == ["comment.html", "saved.comment.html"]
    for forbidden in ("eval(", "new Function", "outerHTML", "insertAdjacentHTML", "document.write", ".style"):
        assert forbidden not in source
    # Style attributes would need 'unsafe-inline' in the host page's CSP.
    assert not re.search(r"el\('\w+', \{[^}]*\bstyle:", source)
