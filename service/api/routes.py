"""Routes of the public API: read the request, call one function, shape the answer."""

from __future__ import annotations

from flask import Response, current_app, jsonify, request

from .. import comments, read_limits, strings, threads, tickets, validation, write_limits
from ..extensions import client_address
from ..write_limits import WriteLimit
from . import allow_origins, bp


def _site_of_body() -> str:
    """Rate-limit key for the per-site posting limit."""
    try:
        payload = request.get_json(silent=True)
    except RecursionError:
        # silent=True only covers ValueError; deeply nested JSON must reach
        # validation (400), not escape from the rate limiter as a 500.
        payload = None
    site = payload.get("site") if isinstance(payload, dict) else None
    return f"site:{site}" if isinstance(site, str) else "site:?"


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _comment_answer(comment, **extra):
    return jsonify(comments.owner_answer(comment, comment.site.key, **extra))


@bp.get("/threads")
@read_limits.limited
def read_thread():
    """The approved comments of one page, with an ETag (and the widget's
    words when the page is in a language the widget does not carry)."""
    args = request.args
    ref = threads.lookup(args.get("site"), args.get("url"), args.get("thread"))
    allow_origins(ref.origins)
    lang = strings.language(args.get("lang"))
    etag = ref.etag + strings.tag(lang)
    headers = {"ETag": f'"{etag}"', "Cache-Control": "no-cache", "Causerie-Ticket": tickets.issue(ref.site_key)}
    if request.if_none_match.contains(etag):
        return Response(status=304, headers=headers)
    return Response(strings.with_table(threads.thread_body(ref), lang), mimetype="application/json", headers=headers)


@bp.get("/counts")
@read_limits.limited
def read_counts():
    """Comment counts for the pages of a listing, in one request."""
    args = request.args
    origins, counts = threads.counts(args.get("site"), args.getlist("url"))
    allow_origins(origins)
    forms = strings.plural_forms(strings.language(args.get("lang")))
    return jsonify({"counts": counts, "n": forms} if forms else {"counts": counts})


@bp.post("/comments")
@write_limits.limited(WriteLimit("POST"), WriteLimit("SITE_POST", key=_site_of_body), checked_by_view=True)
def create_comment():
    """A reader posts a comment or a reply."""
    data = validation.new_comment(validation.json_object())
    posted = comments.post(data, request.headers.get("Origin"), client_address(), limit_check=write_limits.check)
    allow_origins(posted.origins)
    return jsonify(posted.answer), 201


@bp.get("/comments/<int:comment_id>")
@read_limits.limited
def own_comment(comment_id: int):
    """The author checks on their own comment (pending or not)."""
    comment = comments.owned(comment_id, _bearer())
    allow_origins(comment.site.origins)
    return _comment_answer(comment)


@bp.patch("/comments/<int:comment_id>")
@write_limits.limited(WriteLimit("EDIT"))
def edit_comment(comment_id: int):
    """The author edits their comment while the window is open."""
    comment = comments.owned(comment_id, _bearer())
    allow_origins(comment.site.origins)
    until = comments.edit(comment, request.headers.get("Origin"), validation.edit_comment(validation.json_object()))
    return _comment_answer(comment, editable_until=threads.iso(until))


@bp.delete("/comments/<int:comment_id>")
@write_limits.limited(WriteLimit("EDIT"))
def delete_comment(comment_id: int):
    """The author deletes their comment while the window is open."""
    comment = comments.owned(comment_id, _bearer())
    allow_origins(comment.site.origins)
    comments.delete(comment, request.headers.get("Origin"))
    return Response(status=204)


@bp.post("/comments/<int:comment_id>/report")
@write_limits.limited(WriteLimit("REPORT"))
def report_comment(comment_id: int):
    """A reader flags a comment as abusive."""
    reason = validation.report(validation.json_object())
    comments.report(comment_id, request.headers.get("Origin"), reason, client_address())
    return jsonify({"reported": True}), 202


@bp.get("/openapi.json")
def openapi():
    """The contract of this API, as an OpenAPI document."""
    return current_app.send_static_file("openapi.json")
