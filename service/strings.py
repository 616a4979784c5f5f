"""The widget's words in every language, read from ``widget/i18n/*.json``.

English is inside ``/widget.js``; every other language travels with the
answer the widget asks for anyway (the thread, or the counts of a listing
page), so a page in German costs no request more than a page in English and
an English page downloads no German.  The server-rendered fragment
(``service/embed.py``) speaks from the same tables.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

from .files import widget_dir

WIDGET_DIR = widget_dir()
SOURCE = "en"


def read_tables(directory: Path = WIDGET_DIR) -> dict[str, dict[str, Any]]:
    """Every language's table in ``directory``, by language code."""
    return {path.stem: json.loads(path.read_text("utf-8")) for path in sorted((directory / "i18n").glob("*.json"))}


@functools.cache
def tables() -> dict[str, dict[str, Any]]:
    """Every language's table of the installed widget, read once per process."""
    return read_tables()


def language(value: str | None) -> str | None:
    """The table a page's ``lang`` names (``de-AT`` -> ``de``), or None when there is none."""
    code = (value or "").strip().lower().replace("_", "-").split("-")[0]
    return code if code in tables() else None


@functools.cache
def _encoded(code: str) -> tuple[bytes, str]:
    raw = json.dumps(tables()[code], ensure_ascii=False, separators=(",", ":")).encode()
    return raw, hashlib.sha256(raw).hexdigest()[:8]


def tag(code: str | None) -> str:
    """What a response carrying ``code``'s table adds to its ETag: a 304 must
    never keep a browser on the table of an older release."""
    if code is None or code == SOURCE:
        return ""
    return f"-{code}{_encoded(code)[1]}"


def with_table(body: bytes, code: str | None) -> bytes:
    """A thread's serialized JSON object with the widget's table for
    ``code`` added as ``i18n`` (unchanged for English, which the widget has)."""
    if code is None or code == SOURCE:
        return body
    return body[:-1] + b',"i18n":' + _encoded(code)[0] + b"}"


def plural_forms(code: str | None) -> dict[str, str] | None:
    """The count phrases (``"3 Kommentare"``) of ``code``, for listing pages."""
    if code is None or code == SOURCE:
        return None
    phrases: dict[str, str] = tables()[code]["n"]
    return phrases
