"""Errors as the public contract shapes them.

API errors are JSON: ``{"error": {"code", "message", "fields"}}`` with the
right status.  Pages made for people (/moderate, /demo) get a friendly HTML
page instead, unless their own script asks for JSON (see :func:`wants_json`).
"""

from __future__ import annotations

import math
import time

from flask import Flask, g, jsonify, render_template, request
from flask_limiter.errors import RateLimitExceeded
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import app_limiter, db


class APIError(Exception):
    """An error a client caused, with its HTTP status and machine-readable code."""

    def __init__(self, status: int, code: str, message: str, fields: dict | None = None, headers=None,
                 origins: list[str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.headers = headers or {}
        # The origins of the site that refused the request, when it is known:
        # only they may read the refusal (see the API's CORS hook).
        self.origins = origins


def too_many_requests(seconds: int, headers: dict[str, str] | None = None) -> APIError:
    """The 429 of a rate limit, saying in how many seconds to come back (and in ``Retry-After``)."""
    return APIError(429, "rate_limited", f"Too many requests; try again in {seconds} seconds.",
                    headers={"Retry-After": str(seconds), **(headers or {})})


class InvalidInputError(APIError):
    """400 with per-field messages."""

    def __init__(self, fields: dict, message: str = "Some fields are not valid."):
        super().__init__(400, "invalid", message, fields)


def unknown_site() -> APIError:
    """The contract's 404 for a site key that names no registered site."""
    return APIError(404, "unknown_site", "No site is registered with this key.")


def error_response(status: int, code: str, message: str, fields: dict | None = None, headers=None):
    """Build the JSON error response of the contract."""
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


_CODES = {
    400: ("bad_request", "The request could not be understood."),
    401: ("unauthorized", "You need to sign in."),
    403: ("forbidden", "This is not allowed."),
    404: ("not_found", "There is nothing here."),
    405: ("method_not_allowed", "This method is not allowed here."),
    409: ("conflict", "This cannot be done in the current state."),
    413: ("too_large", "The request is too large."),
    415: ("not_json", "Send JSON with Content-Type: application/json."),
    429: ("rate_limited", "Too many requests; please wait before trying again."),
}


# Pages made for people, whose errors are pages too unless the request asks for JSON.
_PAGES = ("/moderate", "/demo")


def wants_json() -> bool:
    """Whether this request is answered in JSON rather than with an HTML page.

    The API, and every other path made for programs (feeds, the embed,
    health, metrics), always answers JSON.  The pages made for people (the
    moderation workspace, the demo) answer HTML, unless the request's Accept
    header prefers JSON to HTML, as the moderation page's script does."""
    if not request.path.startswith(_PAGES):
        return True
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def error_answer(status: int, message: str, code: str | None = None, headers=None):
    """An error as the request wants it (see :func:`wants_json`): the
    contract's JSON, or the friendly HTML page; ``code`` defaults to the
    status's own (``not_found``)."""
    code = code or _CODES.get(status, ("error",))[0]
    if wants_json():
        return error_response(status, code, message, headers=headers)
    return render_template("error.html", status=status, code=code, message=message), status, headers or {}


def register(app: Flask) -> None:
    """Install the handlers that give every error its contract shape."""

    @app.errorhandler(APIError)
    def _api_error(exc: APIError):
        if exc.origins is not None:
            g.cors_origins = exc.origins
        return error_response(exc.status, exc.code, exc.message, exc.fields, exc.headers)

    @app.errorhandler(RateLimitExceeded)
    def _rate_limited(exc: RateLimitExceeded):
        retry = _retry_after(exc)
        if not wants_json():
            page = render_template("error.html", status=429, code="rate_limited", message=_CODES[429][1])
            return page, 429, {"Retry-After": str(retry)}
        return _api_error(too_many_requests(retry))

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        code, message = _CODES.get(exc.code or 0, ("error", exc.description or "Error."))
        methods = getattr(exc, "valid_methods", None)  # a 405's
        allow = {"Allow": ", ".join(methods)} if exc.code == 405 and methods else None
        return error_answer(exc.code or 500, message, code, allow)

    @app.errorhandler(OperationalError)
    def _database_unavailable(exc: OperationalError):
        # A database that is down or locked past the busy timeout is a
        # temporary condition: say so, and let the client retry.
        db.session.rollback()
        app.logger.warning("Database unavailable on %s %s: %s", request.method, request.path, exc)
        message = "The service is busy; nothing was stored, please try again."
        return error_answer(503, message, "unavailable", {"Retry-After": "2"})

    @app.errorhandler(InternalServerError)
    def _server_error(exc):
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        if not wants_json():
            message = "Something broke on our side."
            return render_template("error.html", status=500, code="server_error", message=message), 500
        return error_response(500, "server_error", "Something broke on our side; nothing you sent was stored.")


def _retry_after(exc: RateLimitExceeded) -> int:
    """Seconds until the window that refused the request frees a slot."""
    current = app_limiter().current_limit
    if current is None:
        return 60
    # reset_at is a whole second, rounded up: never say more than the window.
    return min(current.limit.get_expiry(), max(1, math.ceil(current.reset_at - time.time())))
