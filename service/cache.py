"""Per-process caches of values that belong to one version of a thread.

The read path keeps a thread's serialized body, and a listing page's counts,
for as long as the thread's version has not changed (see threads).  Each
cache is a bounded LRU, one per application (and so per database), and
counts its hits and misses when metrics are on.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from flask import current_app

from .metrics import cache_recorder


class VersionCache:
    """An LRU of one value per thread, valid for one version of it: serialized
    bodies, or approved counts.  A newer version replaces the older at once,
    and the whole is bounded by the values' total weight (bytes, or entries)."""

    def __init__(self, capacity: int, weigh=lambda value: 1, record=None):
        self.capacity = capacity
        self.weigh = weigh
        # Counts each lookup, hit or miss, when metrics are on (see metrics.cache_recorder).
        self.record = record
        self.used = 0
        self.entries: OrderedDict = OrderedDict()  # thread id -> (version, value, weight)
        self.lock = threading.Lock()

    def get(self, thread_id: int, version):
        """The value stored for this version of the thread, or None.

        A version is anything compared with ``==``: a number, or a tuple of
        what else the value depends on."""
        with self.lock:
            entry = self.entries.get(thread_id)
            found = entry is not None and entry[0] == version
            if found:
                self.entries.move_to_end(thread_id)
        if self.record is not None:
            self.record(found)
        return entry[1] if found and entry is not None else None

    def put(self, thread_id: int, version, value) -> None:
        """Keep ``value`` for this version of the thread (unless it alone exceeds the capacity)."""
        weight = self.weigh(value)
        if weight > self.capacity:
            return
        with self.lock:
            old = self.entries.pop(thread_id, None)
            if old is not None:
                self.used -= old[2]
            self.entries[thread_id] = (version, value, weight)
            self.used += weight
            while self.used > self.capacity:
                _, (_, _, dropped) = self.entries.popitem(last=False)
                self.used -= dropped


def app_cache(name: str, capacity: int, weigh=lambda value: 1) -> VersionCache:
    """The application's cache called ``name`` (``causerie.thread_cache``),
    made on first use; its metrics are labelled with the name's last part."""
    # One cache per application (and so per database), never module-wide.
    cache = current_app.extensions.get(name)
    if cache is None:
        record = cache_recorder(name.removeprefix("causerie."))
        cache = current_app.extensions[name] = VersionCache(capacity, weigh, record)
    return cache
