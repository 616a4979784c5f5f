"""The in-memory ceiling: the fastest a Flask app can answer Causerie's thread.

It serves Causerie's own response bytes for the 200-comment thread (fetched
once by the benchmark and passed in a file), with the same ETag and
``If-None-Match`` handling, from memory, under the same gunicorn and worker
count.  Causerie's read path cannot beat this; the targets say how close it
must come.

Run: BENCH_CEILING_BODY=body.json BENCH_CEILING_ETAG=tag gunicorn ceiling_app:app
"""

from __future__ import annotations

import os

from flask import Flask, Response, request

app = Flask(__name__)
with open(os.environ["BENCH_CEILING_BODY"], "rb") as handle:
    BODY = handle.read()
ETAG = os.environ["BENCH_CEILING_ETAG"]


@app.get("/api/threads")
def thread():
    if request.if_none_match.contains(ETAG):
        response = Response(status=304)
    else:
        response = Response(BODY, mimetype="application/json")
    response.set_etag(ETAG)
    response.headers["Cache-Control"] = "no-cache"
    return response
