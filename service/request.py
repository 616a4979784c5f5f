"""The application's request class: query strings parsed once per distinct
string, and streamed forms refused whole when they reach the size limit.

Most traffic is the same few reads again and again: every reader of an
article asks for its thread with the same query string, every view of a
listing page for the same twenty counts.  Parsing a query string (twenty
percent-encoded URLs for counts) costs more than the database's answer, so
the parsed arguments, which are immutable, are shared between requests with
the same query string.  Only short strings are kept, in a small LRU, so a
client sending endless distinct queries costs a bounded amount of memory.

A body sent without a Content-Length (chunked) is read by Werkzeug up to
``MAX_CONTENT_LENGTH`` and quietly cut there.  A form parsed from the cut
would lose its last fields (the CSRF token among them) and be refused as a
bad request, or worse, be taken as it is.  A streamed form that fills the
whole allowance is refused as too large (413), as a declared length over the
limit is.  (JSON bodies get the same check in ``validation.json_object``.)
"""

from __future__ import annotations

from functools import lru_cache

from flask import Request as FlaskRequest
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream

MAX_CACHED_QUERY = 4096  # bytes
CACHED_QUERIES = 256


class WholeFormParser(FormDataParser):
    """Werkzeug's form parser, refusing a streamed body cut at the size limit."""

    def parse(self, stream, mimetype, content_length, options=None):
        """Parse as Werkzeug does; raise 413 if a body of unknown length reached the limit."""
        parsed = super().parse(stream, mimetype, content_length, options)
        if content_length is None and isinstance(stream, LimitedStream) and stream.is_exhausted:
            raise RequestEntityTooLarge()
        return parsed


class Request(FlaskRequest):
    """Flask's request, with :attr:`args` parsed once per distinct query string,
    and streamed forms checked against the size limit."""

    form_data_parser_class = WholeFormParser

    @cached_property
    def args(self) -> MultiDict[str, str]:
        """The URL parameters, shared with earlier requests with the same query string."""
        if len(self.query_string) > MAX_CACHED_QUERY or self.parameter_storage_class is not ImmutableMultiDict:
            return super().args
        return _parsed(self.query_string)


@lru_cache(maxsize=CACHED_QUERIES)
def _parsed(query: bytes) -> MultiDict[str, str]:
    # Parsed by Flask's own request code, on a request object holding only
    # the query string: the result is exactly what request.args would be.
    return FlaskRequest({"QUERY_STRING": query.decode("latin-1")}).args
