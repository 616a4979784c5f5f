"""The application's request class: query strings parsed once per distinct string.

Most traffic is the same few reads again and again: every reader of an
article asks for its thread with the same query string, every view of a
listing page for the same twenty counts.  Parsing a query string (twenty
percent-encoded URLs for counts) costs more than the database's answer, so
the parsed arguments, which are immutable, are shared between requests with
the same query string.  Only short strings are kept, in a small LRU, so a
client sending endless distinct queries costs a bounded amount of memory.
"""

from __future__ import annotations

from functools import lru_cache

from flask import Request as FlaskRequest
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.utils import cached_property

MAX_CACHED_QUERY = 4096  # bytes
CACHED_QUERIES = 256


class Request(FlaskRequest):
    """Flask's request, with :attr:`args` parsed once per distinct query string."""

    @cached_property
    def args(self) -> ImmutableMultiDict[str, str]:
        """The URL parameters, shared with earlier requests with the same query string."""
        if len(self.query_string) > MAX_CACHED_QUERY or self.parameter_storage_class is not ImmutableMultiDict:
            return FlaskRequest.args.fget(self)
        return _parsed(self.query_string)


@lru_cache(maxsize=CACHED_QUERIES)
def _parsed(query: bytes) -> ImmutableMultiDict[str, str]:
    # Parsed by Flask's own request code, on a request object holding only
    # the query string: the result is exactly what request.args would be.
    return FlaskRequest.args.fget(FlaskRequest({"QUERY_STRING": query.decode("latin-1")}))
