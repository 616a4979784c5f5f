"""Which origins may use a site: the browser's Origin header, and the page's own URL.

A site lists the origins (``scheme://host[:port]``) whose pages embed its
widget.  Only they may write to it, read its errors through CORS, or have
their pages' threads read and written.
"""

from __future__ import annotations

import sqlalchemy as sa

from . import urls
from .errors import APIError
from .extensions import db
from .models import Site


def allowed_origin(origins: list[str], origin: str | None) -> bool:
    """Whether a browser Origin header is one of the site's origins."""
    if not origin:
        return False
    if origin in origins:  # browsers send origins already in canonical form
        return True
    try:
        return urls.normalize_origin(origin) in origins
    except urls.InvalidURL:
        return False


def any_site_allows(origin: str | None) -> bool:
    """For preflights and early errors, before the site is known."""
    if not origin:
        return False
    return any(allowed_origin(row or [], origin) for row in db.session.scalars(sa.select(Site.origins)))


def require_origin(origins: list[str], origin: str | None) -> None:
    """Writes only come from pages of the site itself."""
    if not allowed_origin(origins, origin):
        raise APIError(403, "forbidden_origin", "This site does not accept comments from this origin.",
                       origins=origins)


def check_page_origin(origins: list[str], normalized: str) -> None:
    """A page elsewhere can neither read nor write a site's threads."""
    if urls.origin_of_normalized(normalized) not in origins:
        raise APIError(403, "foreign_url", "This page is not one of the site's pages.")
