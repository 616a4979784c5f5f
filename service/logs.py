"""Logs: readable text by default, one JSON object per line with
``CAUSERIE_LOG_FORMAT=json``.

In JSON mode every request writes one line (time, request id, method,
route, path, status, duration, worker pid), errors carry their traceback in
the same shape, and gunicorn's own messages too when it is started by
``causerie run``.  Each request has an id, sent back as ``X-Request-Id``: the
proxy's own ``X-Request-Id`` when the proxy is trusted
(``CAUSERIE_TRUSTED_PROXIES`` > 0), a new one otherwise, so a line in the
proxy's log and a line here can be matched.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
import uuid

from flask import Flask, Response, current_app, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

from . import settings

REQUEST_ID_HEADER = "X-Request-Id"
# A proxy's id is taken as it is only when it looks like one (no spaces or
# control characters, which would let a client write into the log).
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
FORMAT = "%(levelname)s %(name)s %(message)s"
RENAMED = {"levelname": "level", "name": "logger", "exc_info": "traceback"}


def json_enabled() -> bool:
    """Whether this process logs JSON (``CAUSERIE_LOG_FORMAT=json``)."""
    return settings.log_format() == "json"


class _Context(logging.Filter):
    """Adds the worker's pid, and the request id inside a request, to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.pid = os.getpid()
        if has_request_context() and "request_id" in g:
            record.request_id = g.request_id
        return True


def formatter() -> logging.Formatter:
    """The JSON formatter: ``time``, ``level``, ``logger``, ``message`` and any extra fields."""
    return JsonFormatter(FORMAT, rename_fields=RENAMED, timestamp="time", json_ensure_ascii=False)


def handler() -> logging.Handler:
    """A handler writing JSON lines to standard error."""
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(formatter())
    stream.addFilter(_Context())
    return stream


def gunicorn_config() -> dict:
    """gunicorn's ``logconfig_dict``: its messages as JSON lines too, in JSON
    mode (empty, gunicorn's own default, in text mode)."""
    if not json_enabled():
        return {}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": _Context}},
        "formatters": {"json": {"()": formatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                                "formatter": "json", "filters": ["context"]}},
        "root": {"handlers": ["stderr"], "level": "INFO"},
        "loggers": {
            "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            # The app writes its own line per request, with the route and request id.
            "gunicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
    }


def init_app(app: Flask) -> None:
    """In JSON mode: log the app's messages as JSON, and one line per request."""
    if app.config["CAUSERIE_LOG_FORMAT"] != "json":
        return
    app.logger.handlers[:] = [handler()]
    app.logger.setLevel(logging.INFO)
    app.logger.propagate = False
    app.before_request(_start)
    app.after_request(_finish)


def request_id() -> str:
    """The id of this request: the trusted proxy's, or a new one."""
    given = request.headers.get(REQUEST_ID_HEADER)
    if given and current_app.config["CAUSERIE_TRUSTED_PROXIES"] and _REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def _start() -> None:
    g.request_started = time.perf_counter()
    g.request_id = request_id()


def _finish(response: Response) -> Response:
    if "request_id" not in g:  # a hook before ours answered first
        _start()
    response.headers[REQUEST_ID_HEADER] = g.request_id
    rule = request.url_rule
    current_app.logger.info("request", extra={
        "method": request.method,
        "route": rule.rule if rule is not None else None,
        "path": request.path,
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - g.request_started) * 1000, 3),
    })
    return response
