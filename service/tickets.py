"""Signed load-time tickets: proof of when a reader opened the thread.

The thread read hands one out in a header; the post sends it back.  A post
that comes sooner than a person could type, or with no valid ticket, is held
for a moderator rather than refused.
"""

from __future__ import annotations

import time
from datetime import datetime
from functools import lru_cache

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer

SALT = "causerie-ticket"


def _serializer() -> URLSafeTimedSerializer:
    # Built once per application: every thread read hands out a ticket.
    serializer = current_app.extensions.get("causerie.tickets")
    if serializer is None:
        serializer = current_app.extensions["causerie.tickets"] = URLSafeTimedSerializer(
            current_app.config["SECRET_KEY"], salt=SALT)
    return serializer


def issue(site_key: str) -> str:
    """A ticket for this site, stamped now."""
    return _stamped(_serializer(), site_key, int(time.time()))


@lru_cache(maxsize=256)
def _stamped(serializer: URLSafeTimedSerializer, site_key: str, _second: int) -> str:
    # Stamps have a resolution of one second, so every read of a site within
    # the same second gets the same ticket: sign it once.
    return serializer.dumps(site_key)


def age(ticket: str | None, site_key: str) -> float | None:
    """Seconds since the ticket was issued for this site, or None if invalid."""
    if not ticket:
        return None
    opened = _opened(_serializer(), ticket)
    if opened is None or opened[0] != site_key:
        return None
    return max(0.0, time.time() - opened[1])


@lru_cache(maxsize=1024)
def _opened(serializer: URLSafeTimedSerializer, ticket: str) -> tuple[object, float] | None:
    # Everyone who read a site's page within the same second holds the same
    # ticket (see _stamped): check each one once.
    try:
        value, stamp = serializer.loads(ticket, return_timestamp=True)
    except (BadData, ValueError, TypeError):
        return None
    issued: datetime = stamp
    return value, issued.timestamp()
