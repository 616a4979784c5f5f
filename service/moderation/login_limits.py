"""Limits on failed sign-ins that slow guessing down without locking a moderator out.

Only failures count; a right password never uses anything up.

* **Per client address** (``CAUSERIE_RATELIMIT_LOGIN``, checked by the
  sign-in view's decorator before anything else): an address that failed too
  often is refused whatever it sends, until its window passes.
* **Per account** (``CAUSERIE_RATELIMIT_LOGIN_ACCOUNT``): the failures of every
  browser the account does not know, from any address.  Once it is used up
  the account is *under attack*: each address may then fail only
  :data:`UNDER_ATTACK` on that account, so guesses spread over many addresses
  slow to a trickle, while the owner, who types the right password, still
  gets in from any address that has not failed on the account meanwhile.
* **Per known browser**: a browser that signed in to the account before
  carries a signed cookie naming it; its failures count against that
  browser only, so an attack on the account never slows its owner's
  usual browser (and a copied cookie is no way around the limits).
"""

from __future__ import annotations

import math
import secrets
import time

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import RateLimitItem, parse_many

from ..extensions import app_limiter, client_address
from ..limits import MAX_EMAIL
from ..models import Moderator
from . import auth

UNDER_ATTACK = "2/hour"
KNOWN_BROWSER_COOKIE = "causerie_known_browser"
KNOWN_BROWSER_MAX_AGE = 365 * 24 * 3600
_SALT = "causerie-known-browser"
_LOGIN_PATH = "/moderate/login"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def account_limit() -> str:
    """Failed sign-ins allowed per account (and per known browser)."""
    return current_app.config.get("CAUSERIE_RATELIMIT_LOGIN_ACCOUNT") or current_app.config["CAUSERIE_RATELIMIT_LOGIN"]


def _known_browser(email: str) -> str | None:
    """The id of this browser if it signed in to ``email``'s account before, else None."""
    cookie = request.cookies.get(KNOWN_BROWSER_COOKIE)
    if not cookie:
        return None
    try:
        data = _serializer().loads(cookie, max_age=KNOWN_BROWSER_MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("e") != email or not isinstance(data.get("b"), str):
        return None
    return data["b"]


def remember_browser(response, email: str) -> None:
    """Mark the browser that just signed in as known to ``email``'s account."""
    value = _serializer().dumps({"e": email, "b": secrets.token_urlsafe(12)})
    response.set_cookie(KNOWN_BROWSER_COOKIE, value, max_age=KNOWN_BROWSER_MAX_AGE, path=_LOGIN_PATH,
                        httponly=True, samesite="Lax",
                        secure=current_app.session_interface.get_cookie_secure(current_app))


Counter = tuple[RateLimitItem, tuple[str, ...]]


class Attempt:
    """One sign-in attempt on the account named ``email``: ask :meth:`wait`
    before checking the password, and call :meth:`failed` if it was wrong."""

    def __init__(self, email: str):
        self.email = (email or "").strip().lower()[:MAX_EMAIL]
        self._counted: list[Counter] = []

    def wait(self) -> int | None:
        """Seconds to wait before this attempt may be checked, or None: go ahead."""
        if not current_app.config["RATELIMIT_ENABLED"]:
            return None
        prefix = current_app.config["RATELIMIT_KEY_PREFIX"]
        browser = _known_browser(self.email)
        if browser is not None:
            self._counted = [(item, (prefix, "login-browser", browser)) for item in parse_many(account_limit())]
            refusing = self._counted
        else:
            account = [(item, (prefix, "login-account", self.email)) for item in parse_many(account_limit())]
            refusing = []
            if any(not app_limiter().limiter.test(item, *key) for item, key in account):
                refusing = [(item, (prefix, "login-account-address", self.email, client_address()))
                            for item in parse_many(UNDER_ATTACK)]
            self._counted = account + refusing
        waits = [_seconds_left(item, key) for item, key in refusing if not app_limiter().limiter.test(item, *key)]
        return max(waits) if waits else None

    def failed(self) -> None:
        """Count this attempt's wrong password."""
        for item, key in self._counted:
            app_limiter().limiter.hit(item, *key)


def check(email: str, password: str) -> tuple[Moderator | None, int | None]:
    """Check a sign-in within the limits: ``(moderator, None)`` when it is
    right, ``(None, None)`` when it is wrong (and counted), ``(None, seconds)``
    when it is refused unchecked and may be tried again after that long."""
    attempt = Attempt(email)
    wait = attempt.wait()
    if wait is not None:
        return None, wait
    moderator = auth.authenticate(email, password)
    if moderator is None:
        attempt.failed()
    return moderator, None


def _seconds_left(item: RateLimitItem, key: tuple[str, ...]) -> int:
    reset_at = app_limiter().limiter.get_window_stats(item, *key).reset_time
    return max(1, math.ceil(reset_at - time.time()))
