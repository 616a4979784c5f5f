"""Causerie's Flask class: Flask with the request class and one saving of its own.

A thread read is a few dozen microseconds of Causerie's work inside Flask's
own request handling, so what Flask repeats on every request shows in the
benchmark.
"""

from __future__ import annotations

from flask import Flask

from .request import Request

# Every hook, view and error handler is asked about once; far more distinct
# functions than an app registers would mean something passes new ones.
MAX_SYNC_CACHE = 1024


class Causerie(Flask):
    """The application class ``create_app`` builds."""

    request_class = Request

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sync: dict = {}

    def ensure_sync(self, func):
        """Flask's answer, worked out once per function.

        Flask asks this of every hook and of the view on every request, and
        each time inspects the function's code flags; for a function the
        answer never changes.
        """
        try:
            return self._sync[func]
        except KeyError:
            pass
        wrapped = super().ensure_sync(func)
        if len(self._sync) < MAX_SYNC_CACHE:
            self._sync[func] = wrapped
        return wrapped
