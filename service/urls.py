"""Thread URL normalisation, so that one article is one thread.

``https://Blog.example.org:443/post/?utm_source=x#comments`` and
``https://blog.example.org/post`` name the same article: scheme and host are
lower-cased, the default port, the fragment and tracking parameters are
dropped, the remaining query is sorted and a trailing slash is removed (except
for the root path).
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from .limits import MAX_URL

DEFAULT_PORTS = {"http": 80, "https": 443}
TRACKING_PREFIXES = ("utm_", "mtm_", "pk_")
TRACKING_NAMES = {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "yclid", "ref_src"}


class InvalidURL(ValueError):
    """Raised for anything that is not an absolute http(s) URL."""


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of an http(s) URL, normalised like threads."""
    parts = _split(url)
    return f"{parts.scheme}://{_netloc(parts)}"


def origin_of_normalized(url: str) -> str:
    """The origin of a URL that :func:`normalize` returned, without parsing it again."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def normalize_origin(origin: str) -> str:
    """Normalise a site's allowed origin as given on the command line or in settings."""
    return origin_of(origin.rstrip("/"))


@lru_cache(maxsize=8192)
def normalize(url: str) -> str:
    """Return the canonical form of a thread URL, or raise InvalidURL.

    Cached: a listing page asks for the same URLs' counts on every view, and
    the answer for a given string never changes.
    """
    parts = _split(url)
    path = quote(unquote(parts.path), safe="/:@!$&'()*+,;=-._~%")
    if path == "":
        path = "/"
    elif len(path) > 1:
        path = path.rstrip("/") or "/"
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not name.lower().startswith(TRACKING_PREFIXES) and name.lower() not in TRACKING_NAMES
    ]
    query.sort()
    normalized = urlunsplit((parts.scheme, _netloc(parts), path, urlencode(query), ""))
    if len(normalized) > MAX_URL:
        # Percent-encoding lengthens non-ASCII URLs (up to nine times): the
        # canonical form must still fit the column that stores it.
        raise InvalidURL(f"URLs are limited to {MAX_URL} characters.")
    return normalized


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _split(url: str) -> SplitResult:
    if not isinstance(url, str) or not url.strip():
        raise InvalidURL("A URL is required.")
    url = url.strip()
    if len(url) > MAX_URL:
        raise InvalidURL(f"URLs are limited to {MAX_URL} characters.")
    if _CONTROL.search(url):
        raise InvalidURL("URLs cannot contain control characters.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError as exc:
        raise InvalidURL("This is not a valid URL.") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise InvalidURL("Only http and https URLs are accepted.")
    if not parts.hostname:
        raise InvalidURL("The URL has no host.")
    return parts._replace(scheme=scheme)


def _netloc(parts: SplitResult) -> str:
    assert parts.hostname is not None  # _split refuses a URL without a host
    host = parts.hostname.lower().rstrip(".")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise InvalidURL("The URL's host name is not valid.") from exc
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    port = parts.port
    if port is None or port == DEFAULT_PORTS[parts.scheme]:
        return host
    return f"{host}:{port}"
