"""Checking what clients send, field by field, before anything is stored.

Every check of a payload either returns clean values or raises
:class:`~service.errors.InvalidInputError` naming each bad field, so a reader
sees all their mistakes at once.  The checks of one value (a site key, an
email address) are the ones the command line and the moderation forms use too.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import current_app, request

from . import urls
from .errors import APIError, InvalidInputError
from .i18n import LANGUAGES
from .limits import (
    MAX_AUTHOR,
    MAX_COMMENTER_KEY,
    MAX_EMAIL,
    MAX_ID,
    MAX_LANGUAGE_TAG,
    MAX_REASON,
    MAX_SITE_KEY,
    MAX_THREAD_KEY,
    MAX_TICKET,
    MAX_TITLE,
    MAX_URL,
    MAX_WEBSITE,
)


def json_object() -> dict[str, Any]:
    """The request body as a JSON object, or the contract's 415/400 error."""
    if not request.is_json:
        raise APIError(415, "not_json", "Send a JSON object with Content-Type: application/json.")
    raw = request.get_data(cache=True)
    limit = request.max_content_length
    if request.content_length is None and limit and len(raw) >= limit:
        # A streamed (chunked) body is cut at the limit by Werkzeug rather than
        # refused; refuse it as a declared length over the limit would be.
        raise APIError(413, "too_large", "The request is too large.")
    try:
        payload = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise APIError(400, "invalid_encoding", "The body is not valid UTF-8.") from exc
    except (ValueError, RecursionError) as exc:
        raise APIError(400, "invalid_json", "The body is not valid JSON.") from exc
    if not isinstance(payload, dict):
        raise APIError(400, "invalid_json", "The body must be a JSON object.")
    return payload


# Unicode's control (Cc) and surrogate (Cs) code points, which never change,
# are refused rather than silently stored: one regular expression instead of
# a category lookup per character.  Tab, line feed and carriage return are
# ordinary in a multi-line text.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROLS_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def has_controls(value: str, *, multiline: bool = False) -> bool:
    """Whether ``value`` holds a control character or a lone surrogate (a
    multi-line text may hold tabs and line breaks)."""
    return (_CONTROLS_BUT_LINES if multiline else _CONTROLS).search(value) is not None


class Fields:
    """Collects per-field errors while reading a payload."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload
        self.errors: dict[str, str] = {}

    def string(self, name: str, *, required: bool = False, max_length: int, multiline: bool = False) -> str | None:
        """A string field: type, presence, length and control characters checked."""
        value = self.payload.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.errors[name] = "This field is required."
            return None
        if not isinstance(value, str):
            self.errors[name] = "This field must be a string."
            return None
        if has_controls(value, multiline=multiline):
            self.errors[name] = "This field contains control characters."
            return None
        value = value.replace("\r\n", "\n") if multiline else value.strip()
        if len(value) > max_length:
            self.errors[name] = f"At most {max_length} characters."
            return None
        return value

    def integer(self, name: str) -> int | None:
        """An optional positive integer id."""
        value = self.payload.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
            self.errors[name] = "This field must be a positive whole number."
            return None
        return value

    def boolean(self, name: str) -> bool:
        """An optional boolean flag, false when absent."""
        value = self.payload.get(name, False)
        if not isinstance(value, bool):
            self.errors[name] = "This field must be true or false."
            return False
        return value

    def email(self, name: str = "email") -> str | None:
        """An optional email address, syntax only (no DNS lookups)."""
        value = self.string(name, max_length=MAX_EMAIL)
        if value is None:
            return None
        address = email_address(value)
        if address is None:
            self.errors[name] = "This is not a valid email address."
        return address

    def language(self, name: str) -> str | None:
        """An optional language tag (``fr``, ``fr-CA``): its language when the
        service writes in it, else None (the site's language will do)."""
        value = self.string(name, max_length=MAX_LANGUAGE_TAG)
        if value is None:
            return None
        primary = value.replace("_", "-").partition("-")[0].lower()
        return primary if primary in LANGUAGES else None

    def web_url(self, name: str, *, required: bool = False, max_length: int) -> str | None:
        """An http(s) URL (a website or the thread's page)."""
        value = self.string(name, required=required, max_length=max_length)
        if value is None:
            return None
        try:
            urls.origin_of(value)
        except urls.InvalidURL as exc:
            self.errors[name] = str(exc)
            return None
        return value

    def check(self) -> None:
        """Raise the collected errors, if any."""
        if self.errors:
            raise InvalidInputError(self.errors)


def new_comment(payload: dict[str, Any]) -> dict[str, Any]:
    """Validate ``POST /api/comments``."""
    fields = Fields(payload)
    data = {
        "site": fields.string("site", required=True, max_length=MAX_SITE_KEY),
        "url": fields.web_url("url", required=True, max_length=MAX_URL),
        "thread": fields.string("thread", max_length=MAX_THREAD_KEY),
        "title": fields.string("title", max_length=MAX_TITLE),
        "parent_id": fields.integer("parent_id"),
        "author": fields.string("author", required=True, max_length=MAX_AUTHOR),
        "email": fields.email(),
        "website": fields.web_url("website", max_length=MAX_WEBSITE),
        "text": fields.string(
            "text", required=True, max_length=current_app.config["CAUSERIE_MAX_COMMENT_LENGTH"], multiline=True
        ),
        "notify": fields.boolean("notify"),
        "follow": fields.boolean("follow"),
        "language": fields.language("lang"),
        "ticket": fields.string("ticket", max_length=MAX_TICKET),
        "commenter": fields.string("commenter", max_length=MAX_COMMENTER_KEY),
        "hp": payload.get("hp") if isinstance(payload.get("hp"), str) else "",
    }
    if data["notify"] and not data["email"] and "email" not in fields.errors:
        fields.errors["notify"] = "Give an email address to be told about replies."
    if data["follow"] and not data["email"] and "email" not in fields.errors:
        fields.errors["follow"] = "Give an email address to be told about new comments."
    fields.check()
    return data


def edit_comment(payload: dict[str, Any]) -> dict[str, Any]:
    """Validate ``PATCH /api/comments/ID``: the text, and optionally name and website."""
    fields = Fields(payload)
    data = {
        "text": fields.string(
            "text", required=True, max_length=current_app.config["CAUSERIE_MAX_COMMENT_LENGTH"], multiline=True
        ),
    }
    if "author" in payload:
        data["author"] = fields.string("author", required=True, max_length=MAX_AUTHOR)
    if "website" in payload:
        data["website"] = fields.web_url("website", max_length=MAX_WEBSITE)
    fields.check()
    return data


def report(payload: dict[str, Any]) -> str:
    """Validate ``POST /api/comments/ID/report``: a reason is required."""
    fields = Fields(payload)
    reason = fields.string("reason", required=True, max_length=MAX_REASON, multiline=True)
    fields.check()
    assert reason is not None  # required: check() raised without it
    return reason


# What the widget's data-site and the feeds' URLs carry, as long as the column allows.
_SITE_KEY = re.compile(f"[A-Za-z0-9_-]{{1,{MAX_SITE_KEY}}}")
SITE_KEY_RULE = f"use ASCII letters, digits, - and _ (at most {MAX_SITE_KEY})"


def valid_site_key(value: str) -> bool:
    """Whether ``value`` can be a site's key: 1 to MAX_SITE_KEY ASCII letters, digits, ``-`` and ``_``.

    Checked where a site is registered, and wherever a key comes with a
    request before it is looked up (PostgreSQL refuses a NUL in a string)."""
    return _SITE_KEY.fullmatch(value) is not None


# A tenth of a millisecond per address, and a site's regulars come back
# with the same one: each process checks an address once.
@functools.lru_cache(maxsize=4096)
def email_address(value: str) -> str | None:
    """``value`` as a normalised email address, or None when it is not one
    (syntax only: no DNS lookups)."""
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        return None
