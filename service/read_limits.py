"""The read limit (``CAUSERIE_RATELIMIT_READ``), counted in each process's memory.

Reads are nearly all of the traffic, and the limit on them protects the
service from abuse rather than keeping accounts.  flask-limiter would make
every read pay a round trip to Redis (with several processes) and, even in
memory, about as much work as the read itself.  So reads and counts are
counted here: per client address, in fixed windows (flask-limiter's default
strategy), in plain dictionaries of this process, with the limit strings
parsed by flask-limiter's own ``limits`` library.  A client spreading its
reads over N processes (workers × instances) can make up to N times the
limit; posting, editing, reporting and signing in stay limited in the
shared storage.
"""

from __future__ import annotations

import math
import time
from functools import wraps

from flask import current_app
from limits import parse_many

from .errors import too_many_requests
from .extensions import client_address, limiter_skipped


class _Window:
    """One limit's counts per address, for the current window only."""

    def __init__(self, amount: int, seconds: int):
        self.amount = amount
        self.seconds = seconds
        self.number = -1
        self.counts: dict[str, int] = {}

    def hit(self, address: str, now: float) -> float | None:
        """Count one request; the seconds until the window ends when it is one too many."""
        number = int(now // self.seconds)
        if number != self.number:
            # A new window: every address starts again (and the old counts go).
            self.number, self.counts = number, {}
        counts = self.counts
        count = counts.get(address, 0) + 1
        counts[address] = count
        if count > self.amount:
            return (number + 1) * self.seconds - now
        return None


def check() -> None:
    """Count this request against the read limit; 429 past it."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # a proxy at run time
    config = app.config
    if not config["RATELIMIT_ENABLED"]:
        return
    limits = config["CAUSERIE_RATELIMIT_READ"]
    # Per app (two apps of one process count apart), and per limit string.
    known = app.extensions.get("causerie.read_limits")
    if known is None or known[0] != limits:
        known = app.extensions["causerie.read_limits"] = (
            limits, tuple(_Window(item.amount, item.get_expiry()) for item in parse_many(limits)))
    address = client_address()
    now = time.time()
    for window in known[1]:
        wait = window.hit(address, now)
        if wait is not None:
            raise too_many_requests(max(1, math.ceil(wait)))


def limited(view):
    """Decorate a read view with the per-process read limit (and nothing of flask-limiter's)."""

    @wraps(view)
    def route(*args, **kwargs):
        check()
        return view(*args, **kwargs)

    return limiter_skipped(route)
