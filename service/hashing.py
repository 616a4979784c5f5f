"""Keyed hashes: how Causerie recognises people without exposing them.

Emails and IP addresses are stored hashed with a key derived from the secret
key, so a leaked database does not reveal who commented from where, and the
avatar served to readers cannot be reversed into an email address.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from functools import lru_cache

from flask import current_app
from itsdangerous import BadSignature, Signer

from .extensions import address_key


def _key(purpose: str) -> bytes:
    return _derived(current_app.config["SECRET_KEY"], purpose)


@lru_cache(maxsize=64)
def _derived(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode(), f"causerie:{purpose}".encode(), hashlib.sha256).digest()


def keyed(purpose: str, value: str) -> str:
    """HMAC-SHA256 of ``value`` under a key for ``purpose``, as hex."""
    return hmac.new(_key(purpose), value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def email_hash(email: str | None) -> str | None:
    """The commenter's identity across comments (trusted commenters, bans)."""
    return keyed("email", email.strip().lower()) if email else None


def ip_hash(address: str | None) -> str | None:
    """The client's address key (an IPv6 address's /64, see
    :func:`~service.extensions.address_key`), kept only as a keyed hash (and purged later)."""
    return keyed("ip", address_key(address)) if address else None


def avatar(site_key: str, commenter_hash_value: str | None, email_hash_value: str | None, author: str) -> str:
    """A short public seed for the widget's identicon; never the email hash itself.

    It follows the commenter key (see :func:`commenter_key`) when the comment
    has one, so typing someone's address does not borrow their face; older
    and imported comments fall back to the address, then the name.  The
    site is part of the keyed value, so one person's avatars on two sites
    cannot be matched.
    """
    seed = (f"commenter:{commenter_hash_value}" if commenter_hash_value
            else f"email:{email_hash_value}" if email_hash_value else f"name:{author}")
    return keyed("avatar", f"{site_key}\n{seed}")[:16]


def _commenter_signer() -> Signer:
    return _signer(current_app.config["SECRET_KEY"])


@lru_cache(maxsize=8)
def _signer(secret: str) -> Signer:
    return Signer(secret, salt="causerie.commenter")


def new_commenter_key() -> str:
    """A fresh commenter key, signed so that only this service can issue one."""
    return _commenter_signer().sign(secrets.token_urlsafe(24)).decode()


def commenter_key(site_key: str, key: str | None) -> str | None:
    """The stored hash of a commenter key the browser sent back, or None if
    it sent none or one this service did not sign.

    A browser gets its key with its first comment on a site and sends it
    with every later one: it proves "the same browser as before", which a
    typed email address cannot.  The hash is per site.
    """
    if not key:
        return None
    try:
        value = _commenter_signer().unsign(key).decode()
    except BadSignature:
        return None
    return keyed("commenter", f"{site_key}\n{value}")


def new_token() -> tuple[str, str]:
    """A fresh edit token and the hash that is stored in its place."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    """Edit tokens are stored hashed, like passwords, so the database cannot edit."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


# Exactly what str.isalnum() refuses: \w is isalnum() or "_" (one pass in C
# instead of a Python test per character; the stored hashes stay the same).
_NOT_ALNUM = re.compile(r"[\W_]+")


def text_fingerprint(text: str) -> str:
    """Hash of text with case, spacing and punctuation folded: copy-paste detection."""
    folded = _NOT_ALNUM.sub("", text.casefold())
    return hashlib.sha256(folded.encode("utf-8", "surrogatepass")).hexdigest()
