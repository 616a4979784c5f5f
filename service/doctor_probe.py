"""What ``causerie doctor`` asks a running service about the request it received.

The doctor requests ``/healthz`` through the public URL with a token signed
by its secret key (``Causerie-Doctor``).  A service holding the same key
answers with what it saw: how many proxies added themselves to
``X-Forwarded-For``, how many it trusts, the client address and scheme it
believed, and its key's fingerprint.  A service with another key ignores the
token, which tells the doctor the keys differ.  Nothing here is secret (a
client learns its own address and headers), but only the key's holder asks.
"""

from __future__ import annotations

import hashlib

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

PROBE_HEADER = "Causerie-Doctor"
SALT = "causerie-doctor"
MAX_AGE = 300  # seconds


def fingerprint(secret_key: str) -> str:
    """A short digest of the secret key, to compare instances without showing it."""
    return hashlib.sha256(f"{SALT}:{secret_key}".encode()).hexdigest()[:12]


def token(secret_key: str) -> str:
    """The doctor's signed probe token."""
    return URLSafeTimedSerializer(secret_key, salt=SALT).dumps("probe")


def answer(value: str) -> dict | None:
    """What this request looked like here, if ``value`` is a fresh probe token signed with our key."""
    try:
        URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT).loads(value, max_age=MAX_AGE)
    except BadSignature:
        return None
    # The header as the proxies sent it (ProxyFix reads it, and leaves it be).
    forwarded = [hop for hop in request.headers.get("X-Forwarded-For", "").split(",") if hop.strip()]
    return {
        "forwarded_for": len(forwarded),
        "trusted_proxies": current_app.config["CAUSERIE_TRUSTED_PROXIES"],
        "client": request.remote_addr,
        "scheme": request.scheme,
        "secret_key": fingerprint(current_app.config["SECRET_KEY"]),
    }
