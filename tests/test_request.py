"""The request class: query strings parsed once per distinct string; streamed
forms refused whole at the size limit."""

from __future__ import annotations

import io

import pytest
from flask import Request as FlaskRequest
from flask import request

from service.request import MAX_CACHED_QUERY


def _args(app, query: str):
    with app.test_request_context(f"/api/counts?{query}"):
        return request.args


def test_the_same_query_string_is_parsed_once(app):
    query = "site=blog&url=https%3A%2F%2Fblog.example%2Fa%2F&url=https%3A%2F%2Fblog.example%2Fb%2F"
    assert _args(app, query) is _args(app, query)


def test_another_query_string_gets_its_own_arguments(app):
    assert _args(app, "site=blog&url=a").getlist("url") == ["a"]
    assert _args(app, "site=blog&url=b").getlist("url") == ["b"]


def test_a_long_query_string_is_parsed_every_time(app):
    query = "site=blog&url=" + "a" * MAX_CACHED_QUERY
    first, second = _args(app, query), _args(app, query)
    assert first == second
    assert first is not second


@pytest.mark.parametrize("query", [
    "url=caf%C3%A9&url=%E9t%E9",          # UTF-8, and bytes that are not UTF-8
    "a=1+2&b=&c&=d",                       # plus as space, blank values, no value, no name
    "site=%F0%9F%92%AC&x=%zz&y=%",         # an emoji; broken escapes
    "guillemets=%C2%AB+bonjour+%C2%BB&apostrophe=l%E2%80%99article",
])
def test_arguments_are_the_ones_flask_itself_parses(app, query):
    with app.test_request_context(f"/api/threads?{query}"):
        assert list(request.args.items(multi=True)) == list(FlaskRequest(request.environ).args.items(multi=True))


def _streamed_form(app, body: bytes) -> dict:
    """Parse ``body`` as a form sent chunked (no Content-Length), as gunicorn passes it on."""
    with app.test_request_context("/moderate/login", method="POST", input_stream=io.BytesIO(body),
                                  content_type="application/x-www-form-urlencoded") as context:
        context.request.environ.pop("CONTENT_LENGTH", None)
        context.request.environ["wsgi.input_terminated"] = True
        return request.form.to_dict()


def test_a_streamed_form_under_the_size_limit_is_read_whole(app):
    body = "email=r%C3%A9mi%40example.org&text=" + "a" * 1000
    assert _streamed_form(app, body.encode()) == {"email": "rémi@example.org", "text": "a" * 1000}


def test_a_streamed_form_reaching_the_size_limit_is_refused_as_too_large(app):
    from werkzeug.exceptions import RequestEntityTooLarge

    body = b"csrf_token=t&text=" + b"a" * app.config["MAX_CONTENT_LENGTH"]
    with pytest.raises(RequestEntityTooLarge):
        _streamed_form(app, body)
