"""The request class: query strings parsed once per distinct string."""

from __future__ import annotations

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
