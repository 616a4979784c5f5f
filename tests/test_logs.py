"""``CAUSERIE_LOG_FORMAT=json``: one JSON object per request, request ids, errors in the same shape."""

from __future__ import annotations

import io
import json
import logging
import os

import pytest

from service import settings
from service.logs import REQUEST_ID_HEADER

JSON = {"CAUSERIE_LOG_FORMAT": "json"}


@pytest.fixture
def app_settings():
    return JSON


@pytest.fixture(autouse=True)
def restored_logger():
    """JSON mode takes over the app's logger, which is the process's: give it back."""
    logger = logging.getLogger("service")
    saved = logger.handlers[:], logger.propagate, logger.level
    yield
    logger.handlers[:], logger.propagate = saved[0], saved[1]
    logger.setLevel(saved[2])


@pytest.fixture
def log(app):
    """What the app logs, as the list of its lines."""
    stream = io.StringIO()
    app.logger.handlers[0].setStream(stream)
    return lambda: stream.getvalue().splitlines()


def test_json_logs_write_one_object_per_request(client, log, reader):
    reader.read()
    client.get("/api/comments/12345", headers={"Origin": "https://blog.example"})
    lines = [json.loads(line) for line in log()]
    assert [line["message"] for line in lines] == ["request", "request"]
    first, second = lines
    assert first["method"] == "GET" and first["route"] == "/api/threads" and first["status"] == 200
    assert second["route"] == "/api/comments/<int:comment_id>" and second["path"] == "/api/comments/12345"
    for line in lines:
        assert line["pid"] == os.getpid()
        assert line["duration_ms"] >= 0
        assert line["time"].startswith("20") and line["level"] == "INFO"
        assert len(line["request_id"]) == 32


def test_each_request_gets_its_own_id_in_the_answer_and_the_log(client, log):
    ids = [client.get("/healthz").headers[REQUEST_ID_HEADER] for _ in range(2)]
    assert ids[0] != ids[1]
    assert [json.loads(line)["request_id"] for line in log()] == ids


def test_a_proxys_request_id_is_ignored_unless_the_proxy_is_trusted(client, log):
    answer = client.get("/healthz", headers={REQUEST_ID_HEADER: "from-the-client"})
    assert answer.headers[REQUEST_ID_HEADER] != "from-the-client"


@pytest.mark.parametrize("app_settings", [{**JSON, "CAUSERIE_TRUSTED_PROXIES": 1}])
def test_a_trusted_proxys_request_id_is_kept(client, log):
    answer = client.get("/healthz", headers={REQUEST_ID_HEADER: "nginx-4f2a9c"})
    assert answer.headers[REQUEST_ID_HEADER] == "nginx-4f2a9c"
    assert json.loads(log()[0])["request_id"] == "nginx-4f2a9c"
    # Not an id: a line break or spaces would let a client write into the log.
    assert client.get("/healthz", headers={REQUEST_ID_HEADER: "a b"}).headers[REQUEST_ID_HEADER] != "a b"


def test_an_error_is_logged_as_json_with_its_traceback(app, client, log):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():
        raise ZeroDivisionError("deliberate")

    assert client.get("/boom").status_code == 500
    lines = [json.loads(line) for line in log()]
    errors = [line for line in lines if line["level"] == "ERROR"]
    assert errors and all("ZeroDivisionError: deliberate" in line["traceback"] for line in errors)
    request_id = lines[-1]["request_id"]
    assert lines[-1]["status"] == 500
    assert all(line["request_id"] == request_id for line in errors)


@pytest.mark.parametrize("app_settings", [{}])
def test_text_logs_are_the_default_and_add_no_request_id(client):
    assert settings.log_format() == "text"
    assert REQUEST_ID_HEADER not in client.get("/healthz").headers


def test_an_unknown_log_format_is_refused(monkeypatch):
    monkeypatch.setenv("CAUSERIE_LOG_FORMAT", "xml")
    with pytest.raises(RuntimeError, match="CAUSERIE_LOG_FORMAT"):
        settings.log_format()
