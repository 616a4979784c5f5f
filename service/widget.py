"""Serving the embeddable widget: one script, its CSS and English inside.

The files under ``widget/`` are assembled once per process: the stylesheet,
the English table and the list of the other languages of ``widget/i18n/``
are put into the script (so a page view costs one request for all of it;
another language's table comes with the thread, see ``service/strings.py``),
the result is minified and gzip-compressed, and
its content hash becomes the strong ETag and the version of the long-lived
URL ``/widget.js?v=HASH``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import rcssmin
import rjsmin
from flask import Blueprint, Flask, Response, current_app, request, url_for

from . import strings
from .files import widget_dir

WIDGET_DIR = widget_dir()
CSS_SLOT = "'__CSS__'"
I18N_SLOT = "/*I18N*/{en: {n: {}}}"
LANGUAGES_SLOT = "'__LANGS__'"
SHORT_CACHE = "public, max-age=300"
LONG_CACHE = "public, max-age=31536000, immutable"

bp = Blueprint("widget", __name__)


@dataclass(frozen=True)
class Bundle:
    """The widget as served: plain and gzipped bodies and their version."""

    body: bytes
    gzipped: bytes
    version: str


def build(directory: Path = WIDGET_DIR) -> Bundle:
    """Assemble, minify and compress the widget from its source files."""
    script = (directory / "causerie.js").read_text("utf-8")
    css = rcssmin.cssmin((directory / "causerie.css").read_text("utf-8"))
    tables = strings.read_tables(directory)
    if CSS_SLOT not in script or I18N_SLOT not in script or LANGUAGES_SLOT not in script:
        raise RuntimeError("widget/causerie.js lost its CSS or i18n slot")
    others = " ".join(code for code in tables if code != strings.SOURCE)
    script = script.replace(CSS_SLOT, json.dumps(css)).replace(LANGUAGES_SLOT, json.dumps(others)).replace(
        I18N_SLOT, json.dumps({strings.SOURCE: tables[strings.SOURCE]}, ensure_ascii=False, separators=(",", ":"))
    )
    body = rjsmin.jsmin(script).encode("utf-8")
    # mtime=0: the same source gives the same bytes, so every process agrees on ETags.
    gzipped = gzip.compress(body, compresslevel=9, mtime=0)
    return Bundle(body, gzipped, hashlib.sha256(body).hexdigest()[:16])


def bundle() -> Bundle:
    """The current app's widget (rebuilt on each request in debug mode, for editing)."""
    if current_app.debug:
        return build()
    return current_app.extensions["causerie_widget"]


def widget_url(external: bool = False) -> str:
    """The versioned URL of the widget, cacheable for a year."""
    return url_for("widget.script", v=bundle().version, _external=external)


@bp.record_once
def _prepare(state) -> None:
    app: Flask = state.app
    app.extensions["causerie_widget"] = build()
    app.add_template_global(widget_url, "widget_url")


@bp.get("/widget.js")
def script():
    """The widget script, gzipped when the browser accepts it."""
    current = bundle()
    zipped = request.accept_encodings["gzip"] > 0
    response = Response(current.gzipped if zipped else current.body, mimetype="text/javascript")
    if zipped:
        response.headers["Content-Encoding"] = "gzip"
    # A strong ETag names exact bytes, so each encoding has its own.
    response.set_etag(current.version + ("-gz" if zipped else ""))
    response.vary.add("Accept-Encoding")
    response.headers["Cache-Control"] = LONG_CACHE if request.args.get("v") == current.version else SHORT_CACHE
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Host pages that isolate themselves (COEP) may still load it.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response.make_conditional(request)
