"""Translations: English, French, German, Spanish, Italian, Portuguese and
Dutch, chosen by the browser's Accept-Language.

The catalogs are committed as ``.po`` files and compiled in memory the first
time a language is needed, so a clean clone (or a read-only install) needs
no build step and no writable package folder.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import Flask, has_request_context, request
from flask_babel import Babel, Domain, get_locale

LANGUAGES = ("en", "fr", "de", "es", "it", "pt", "nl")
# Each language by its own name, whatever the page's language.  Written out
# rather than taken from Babel's locale data, which would cost every web
# worker megabytes of memory for seven words.
LANGUAGE_NAMES = {"en": "English", "fr": "Français", "de": "Deutsch", "es": "Español", "it": "Italiano",
                  "pt": "Português", "nl": "Nederlands"}
TRANSLATIONS = Path(__file__).resolve().parent / "translations"


@functools.cache
def catalog(language: str) -> NullTranslations:
    """The compiled catalog for ``language`` (English is the source language)."""
    po_file = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
    if language == "en" or not po_file.exists():
        return NullTranslations()
    with po_file.open("rb") as handle:
        messages = read_po(handle, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, messages)
    compiled.seek(0)
    return Translations(compiled)


class _PoDomain(Domain):
    """The default domain, reading the in-memory catalogs."""

    def get_translations(self):
        return catalog(str(get_locale() or "en").split("_")[0])


class _Babel(Babel):
    @property
    def domain_instance(self):
        return _PoDomain()


babel = _Babel()


def select_locale() -> str:
    """The best of our languages for this browser, English otherwise."""
    if not has_request_context():
        return "en"
    return request.accept_languages.best_match(LANGUAGES) or "en"


def init_app(app: Flask) -> None:
    """Bind Flask-Babel, choosing the language from Accept-Language."""
    babel.init_app(app, locale_selector=select_locale)
