"""The in-memory ceiling: the fastest a Flask app can answer Causerie's thread.

It serves Causerie's own response bytes for the 200-comment thread (fetched
once by the benchmark and passed in a file), with the same ETag and
``If-None-Match`` handling, from memory, under the same gunicorn and worker
count.  Causerie's read path cannot beat this; the targets say how close it
must come.

With ``BENCH_CEILING_DATABASE`` (a ``postgresql://`` URL or an SQLite file
path) it first runs, on one connection per worker, the one query Causerie's
read path runs: the site and the thread's version, looked up by site key and
URL.  That is the floor of any design that asks the database for the version
on every read, as the issue requires; the benchmark shows it as information.

Run: BENCH_CEILING_BODY=body.json BENCH_CEILING_ETAG=tag gunicorn ceiling_app:app
"""

from __future__ import annotations

import json
import os

from flask import Flask, Response, abort, request

app = Flask(__name__)
with open(os.environ["BENCH_CEILING_BODY"], "rb") as handle:
    BODY = handle.read()
ETAG = os.environ["BENCH_CEILING_ETAG"]
DATABASE = os.environ.get("BENCH_CEILING_DATABASE")
# The thread's URL as Causerie stored it (normalised), so the lookup finds it.
THREAD_URL = json.loads(BODY)["thread"]["url"]

# The columns Causerie's thread lookup selects, in one statement.
LOOKUP = (
    "SELECT site.id, site.key, CAST(site.origins AS TEXT), thread.id, thread.version, thread.url "
    "FROM site LEFT OUTER JOIN thread ON thread.site_id = site.id AND thread.url = {p} "
    "WHERE site.key = {p}"
)


def _connect():
    # Each gunicorn worker imports this module itself, so the connection is
    # the worker's own, as Causerie's kept read connection is.
    if DATABASE.startswith("postgresql://"):
        import psycopg  # noqa: PLC0415 - only the one-query ceiling needs a driver

        return psycopg.connect(DATABASE, autocommit=True), LOOKUP.format(p="%s")
    import sqlite3  # noqa: PLC0415

    return sqlite3.connect(DATABASE, isolation_level=None, check_same_thread=False), LOOKUP.format(p="?")


CONNECTION, STATEMENT = _connect() if DATABASE else (None, None)


@app.get("/api/threads")
def thread():
    if CONNECTION is not None:
        cursor = CONNECTION.cursor()
        cursor.execute(STATEMENT, (THREAD_URL, request.args.get("site", "")))
        found = cursor.fetchall()
        cursor.close()
        if not found:
            abort(404)
    if request.if_none_match.contains(ETAG):
        response = Response(status=304)
    else:
        response = Response(BODY, mimetype="application/json")
    response.set_etag(ETAG)
    response.headers["Cache-Control"] = "no-cache"
    return response
