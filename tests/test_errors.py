"""Errors answer in JSON or as an HTML page, by one rule for the whole app."""

from __future__ import annotations

import pytest

from service.errors import wants_json

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
SCRIPT = "application/json"


@pytest.mark.parametrize(("path", "accept", "json"), [
    ("/api/threads", BROWSER, True),
    ("/api/threads", None, True),
    ("/feeds/blog.atom", BROWSER, True),
    ("/moderate/", BROWSER, False),
    ("/moderate/", None, False),
    ("/moderate/", "*/*", False),
    ("/moderate/comments/1/approve", SCRIPT, True),
    ("/moderate/comments/1/approve", "application/json, text/html;q=0.5", True),
    ("/demo", BROWSER, False),
])
def test_api_and_program_paths_answer_json_and_pages_answer_json_only_when_it_is_preferred(app, path, accept, json):
    headers = {"Accept": accept} if accept else {}
    with app.test_request_context(path, headers=headers):
        assert wants_json() is json


def test_an_api_error_is_json_even_for_a_browser(client):
    response = client.get("/api/nowhere", headers={"Accept": BROWSER})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_a_missing_moderation_page_is_an_html_page_for_a_browser(client):
    response = client.get("/moderate/nowhere", headers={"Accept": BROWSER})
    assert response.status_code == 404 and response.mimetype == "text/html"


def test_a_missing_moderation_page_is_the_json_error_for_the_page_script(client):
    response = client.get("/moderate/nowhere", headers={"Accept": SCRIPT})
    assert response.status_code == 404
    assert response.get_json() == {"error": {"code": "not_found", "message": "There is nothing here.", "fields": {}}}
