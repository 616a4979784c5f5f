"""The widget's public JSON API, mounted at /api (CORS per site)."""

from flask import Blueprint, g, request

from ..origins import allowed_origin, any_site_allows

bp = Blueprint("api", __name__, url_prefix="/api")

EXPOSED_HEADERS = "ETag, Causerie-Ticket, Retry-After"
ALLOWED_METHODS = "GET, POST, PATCH, DELETE"
ALLOWED_HEADERS = "Content-Type, Authorization"


def allow_origins(origins: list[str]) -> None:
    """Name the origins that may read this response (the request's site's)."""
    g.cors_origins = origins


@bp.after_request
def cors_headers(response):
    """CORS headers go only to an origin the site (or, before the site is
    known, some site) allows; every other origin gets none."""
    # Added rather than merged: nothing else in the API sets these headers,
    # and this runs on every thread read.
    headers = response.headers
    headers.add("Vary", "Origin")
    origin = request.headers.get("Origin")
    if not origin:
        return response
    origins = g.get("cors_origins")
    allowed = allowed_origin(origins, origin) if origins is not None else any_site_allows(origin)
    if allowed:
        headers.add("Access-Control-Allow-Origin", origin)
        headers.add("Access-Control-Expose-Headers", EXPOSED_HEADERS)
        if request.method == "OPTIONS":
            headers.add("Access-Control-Allow-Methods", ALLOWED_METHODS)
            headers.add("Access-Control-Allow-Headers", ALLOWED_HEADERS)
            headers.add("Access-Control-Max-Age", "7200")
    return response


from . import routes  # noqa: E402,F401 - routes register themselves on bp
