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

With a database it also takes ``POST /api/comments``: the bare write a
comment service with Causerie's promises must make, and nothing else (no
validation, Markdown, sanitizing, rules, spam filter or rate limit): in one
transaction, insert the comment, advance its thread's version (what tells
readers) and add the audit event.  That is the floor of posting on this
database; the benchmark shows it as information beside the posting row.

Run: BENCH_CEILING_BODY=body.json BENCH_CEILING_ETAG=tag gunicorn ceiling_app:app
"""

from __future__ import annotations

import json
import os
import urllib.parse
from datetime import UTC, datetime

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

    connection = sqlite3.connect(DATABASE, isolation_level=None, check_same_thread=False)
    # As Causerie's connections: no fsync at each commit, foreign keys checked.
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
    return connection, LOOKUP.format(p="?")


CONNECTION, STATEMENT = _connect() if DATABASE else (None, None)

# The bare posting floor writes to a thread of its own, so that the thread
# the read rows measure keeps its version (and its ETag).
FLOOR_URL = urllib.parse.urljoin(THREAD_URL, "/posts/benchmark-posting-floor/")
INSERT_COMMENT = (
    "INSERT INTO comment (site_id, thread_id, author, email, text, html, status, reasons, created_at,"
    " edited_by_staff, staff, pinned, notify, follow) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, 'approved', '[]', {p},"
    " false, false, false, false, false) RETURNING id"
)
BUMP_THREAD = "UPDATE thread SET version = version + 1 WHERE id = {p}"
INSERT_EVENT = (
    "INSERT INTO moderation_event (site_id, comment_id, thread_id, actor, action, to_status, detail, created_at)"
    " VALUES ({p}, {p}, {p}, 'rules', 'created', 'approved', '', {p})"
)
SITE_ID = "SELECT id FROM site WHERE key = {p}"
NEW_THREAD = ("INSERT INTO thread (site_id, url, locked, version, created_at) VALUES ({p}, {p}, false, 1, {p})"
              " ON CONFLICT DO NOTHING")
THREAD_ID = "SELECT id FROM thread WHERE site_id = {p} AND url = {p}"
_floor_thread: dict[str, tuple[int, int]] = {}


def _placeholder() -> str:
    return "%s" if DATABASE.startswith("postgresql://") else "?"


def _thread_for(site_key: str) -> tuple[int, int]:
    """(site id, thread id) of the floor's own thread, created on first use."""
    if site_key not in _floor_thread:
        p = _placeholder()
        cursor = CONNECTION.cursor()
        cursor.execute(SITE_ID.format(p=p), (site_key,))
        (site_id,) = cursor.fetchone()
        now = datetime.now(UTC).replace(tzinfo=None)
        # Two workers may create it at once: the unique (site, url) keeps one.
        cursor.execute(NEW_THREAD.format(p=p), (site_id, FLOOR_URL, now))
        cursor.execute(THREAD_ID.format(p=p), (site_id, FLOOR_URL))
        _floor_thread[site_key] = (site_id, cursor.fetchone()[0])
        cursor.close()
    return _floor_thread[site_key]


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


@app.post("/api/comments")
def post():
    if CONNECTION is None:
        abort(404)
    body = request.get_json()
    site_id, thread_id = _thread_for(body["site"])
    p = _placeholder()
    now = datetime.now(UTC).replace(tzinfo=None)
    cursor = CONNECTION.cursor()
    cursor.execute("BEGIN")
    cursor.execute(INSERT_COMMENT.format(p=p),
                   (site_id, thread_id, body["author"], body.get("email"), body["text"], body["text"], now))
    (comment_id,) = cursor.fetchone()
    cursor.execute(BUMP_THREAD.format(p=p), (thread_id,))
    cursor.execute(INSERT_EVENT.format(p=p), (site_id, comment_id, thread_id, now))
    cursor.execute("COMMIT")
    cursor.close()
    return {"comment": {"id": comment_id}}, 201
