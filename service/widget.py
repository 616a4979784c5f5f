"""Serving the embeddable widget: one script, its CSS and English inside.

The widget is written in ``widget/causerie.js`` and minified by terser into
``widget/causerie.min.js`` (``npm run build``, committed), whose first line
names the SHA-256 of the source it was built from: a build of another source
is refused here, so a stale build never reaches a browser unnoticed, and
neither the service nor its tests need Node.

The files are assembled once per process: the stylesheet, the English table
and the codes of the languages of ``widget/i18n/`` take the place of the
build's string slots (so a page view costs one request for all of it;
another language's table comes with the thread, see ``service/strings.py``),
and the result is gzip-compressed; its content hash becomes the strong ETag
and the version of the long-lived URL ``/widget.js?v=HASH``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import rcssmin
from flask import Blueprint, Flask, Response, current_app, request, url_for

from . import strings
from .files import widget_dir

WIDGET_DIR = widget_dir()
SOURCE = "causerie.js"
BUILT = "causerie.min.js"
# The build's first line, written by widget/build.mjs.
PROVENANCE = re.compile(r"// Built from causerie\.js ([0-9a-f]{64}) [^\n]*\n")
# terser writes string literals in double quotes.
CSS_SLOT = '"__CSS__"'
ENGLISH_SLOT = '"__ENGLISH__"'
LANGUAGES_SLOT = '"__LANGUAGES__"'
SHORT_CACHE = "public, max-age=300"
LONG_CACHE = "public, max-age=31536000, immutable"

bp = Blueprint("widget", __name__)


@dataclass(frozen=True)
class Bundle:
    """The widget as served: plain and gzipped bodies and their version."""

    body: bytes
    gzipped: bytes
    version: str


def source_digest(directory: Path = WIDGET_DIR) -> str:
    """The SHA-256 of the widget's source, as widget/build.mjs records it."""
    return hashlib.sha256((directory / SOURCE).read_text("utf-8").encode()).hexdigest()


def built_script(directory: Path = WIDGET_DIR) -> str:
    """The minified widget without its first line, if it was built from the source beside it."""
    built = (directory / BUILT).read_text("utf-8")
    provenance = PROVENANCE.match(built)
    if not provenance or provenance[1] != source_digest(directory):
        raise RuntimeError(f"widget/{BUILT} was not built from widget/{SOURCE}: run `npm ci && npm run build`")
    return built[provenance.end():]


def build(directory: Path = WIDGET_DIR) -> Bundle:
    """Assemble and compress the widget from its build, stylesheet and tables."""
    script = built_script(directory)
    if any(script.count(slot) != 1 for slot in (CSS_SLOT, ENGLISH_SLOT, LANGUAGES_SLOT)):
        raise RuntimeError(f"widget/{BUILT} lost a slot for the CSS, the English table or the languages")
    css = rcssmin.cssmin((directory / "causerie.css").read_text("utf-8"))
    tables = strings.read_tables(directory)
    english = json.dumps(tables[strings.SOURCE], ensure_ascii=False, separators=(",", ":"))
    script = (script.replace(CSS_SLOT, json.dumps(css)).replace(ENGLISH_SLOT, english)
              .replace(LANGUAGES_SLOT, json.dumps(" ".join(tables))))
    body = script.encode("utf-8")
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
