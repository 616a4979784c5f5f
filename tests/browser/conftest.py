"""Browser fixtures: the app on a live server, host pages on another origin, Chromium.

``live_server`` runs the service on ``127.0.0.1`` and ``host_page`` serves
pages from ``localhost`` on another port, so the widget always talks to the
API cross-origin, as it does on a real blog.  One Chromium serves the whole
session; every test gets a fresh context (no shared localStorage or cache).

Reuse from other test modules under ``tests/browser``::

    def test_something(live_server, host_page, page):
        site = live_server.add_site("mine", mode="post")
        page.goto(host_page(live_server.embed(site)))
"""

from __future__ import annotations

import itertools
import os
import threading
from datetime import timedelta
from html import escape

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from service import sanitize
from service.extensions import db
from service.models import Comment, Site, Thread, utcnow
from tests.conftest import make_app

CHROMIUM = os.environ.get("CAUSERIE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


class _Thread(threading.Thread):
    def __init__(self, wsgi_app, host):
        super().__init__(daemon=True)
        self.server = make_server(host, 0, wsgi_app, threaded=True)
        self.port = self.server.server_port

    def run(self):
        self.server.serve_forever()

    def stop(self):
        self.server.shutdown()


class HostPages:
    """A second origin serving test pages from memory (``http://localhost:PORT``)."""

    def __init__(self):
        self.pages: dict[str, tuple[str, dict]] = {}
        self.counter = itertools.count(1)
        self.thread = _Thread(self._wsgi, "127.0.0.1")
        self.origin = f"http://localhost:{self.thread.port}"

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        html, headers = self.pages.get(request.path, ("not found", {}))
        status = 200 if request.path in self.pages else 404
        return Response(html, status=status, mimetype="text/html", headers=headers)(environ, start_response)

    def add(self, body: str, *, lang: str = "en", head: str = "", headers: dict | None = None,
            title: str = "A blog post", path: str | None = None) -> str:
        """Serve ``body`` in a page of its own and return the page's URL."""
        path = path or f"/post/{next(self.counter)}"
        if body.lstrip().lower().startswith("<!doctype"):
            html = body
        else:
            html = (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{escape(title)}</title>'
                    f"{head}</head><body><main><h1>{escape(title)}</h1>{body}</main></body></html>")
        self.pages[path] = (html, headers or {})
        return self.origin + path


class LiveServer:
    """The Causerie app served on a real port, with helpers to arrange data."""

    def __init__(self, app, host_origin: str):
        self.app = app
        self.host_origin = host_origin
        self.log: list[tuple[str, str, int]] = []
        self.thread = _Thread(self._logged, "127.0.0.1")
        self.url = f"http://127.0.0.1:{self.thread.port}"
        self.keys = itertools.count(1)

    def _logged(self, environ, start_response):
        def recording_start(status, headers, *args):
            self.log.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], int(status.split()[0])))
            return start_response(status, headers, *args)

        return self.app(environ, recording_start)

    def requests(self, path_prefix: str = "/") -> list[tuple[str, str, int]]:
        """What the service was asked since the last ``clear()``."""
        return [entry for entry in self.log if entry[1].startswith(path_prefix)]

    def clear(self) -> None:
        self.log.clear()

    def add_site(self, key: str | None = None, **fields) -> str:
        """A site whose pages are the host pages' origin; returns its key."""
        key = key or f"site{next(self.keys)}"
        fields.setdefault("mode", "post")
        with self.app.app_context():
            db.session.add(Site(key=key, name=key, origins=[self.host_origin], **fields))
            db.session.commit()
        return key

    def add_comments(self, site_key: str, url: str, specs, *, locked: bool = False) -> list[int]:
        """Store approved comments directly: each spec is a dict of Comment fields,
        with ``text`` rendered like the write path does, and ``parent`` an index
        into the specs.  Returns the ids in order."""
        ids: list[int] = []
        with self.app.app_context():
            site = db.session.scalar(sa.select(Site).where(Site.key == site_key))
            thread = db.session.scalar(sa.select(Thread).where(Thread.site_id == site.id, Thread.url == url))
            if thread is None:
                thread = Thread(site_id=site.id, url=url, title="A blog post")
                db.session.add(thread)
            thread.locked = locked
            db.session.flush()
            start = utcnow() - timedelta(hours=len(specs))
            for n, spec in enumerate(specs):
                spec = dict(spec)
                parent = spec.pop("parent", None)
                text = spec.pop("text", "A comment.")
                fields = {"author": "Alex", "status": "approved", "created_at": start + timedelta(minutes=n)}
                fields.update(spec)
                comment = Comment(site_id=site.id, thread=thread, text=text,
                                  html=fields.pop("html", None) or sanitize.render(text),
                                  parent_id=ids[parent] if parent is not None else None, **fields)
                db.session.add(comment)
                db.session.flush()
                ids.append(comment.id)
            db.session.commit()
        return ids

    def set_status(self, comment_id: int, status: str) -> None:
        """Act as a moderator would on one comment."""
        with self.app.app_context():
            db.session.get(Comment, comment_id).status = status
            db.session.commit()

    def embed(self, site_key: str, **data) -> str:
        """The script tag a site owner pastes, with optional data-* options."""
        attrs = "".join(f' data-{name.replace("_", "-")}="{escape(str(value))}"' for name, value in data.items())
        return f'<script src="{self.url}/widget.js" data-site="{site_key}"{attrs} defer></script>'


@pytest.fixture(scope="session")
def _host_pages():
    pages = HostPages()
    pages.thread.start()
    yield pages
    pages.thread.stop()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, _host_pages):
    """The service on ``http://127.0.0.1:PORT`` for the whole session."""
    tmp = tmp_path_factory.mktemp("live")
    app = make_app(f"sqlite:///{tmp / 'causerie.db'}", tmp)
    server = LiveServer(app, _host_pages.origin)
    server.thread.start()
    yield server
    server.thread.stop()
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def host_page(_host_pages):
    """``host_page(body, lang=..., head=..., headers=...)`` -> URL of a page on the other origin."""
    return _host_pages.add


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, driven by Playwright, shared by the session."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser):
    """A fresh browser profile for one test."""
    context = browser.new_context()
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def page(context):
    """A page whose uncaught script errors and dialogs are kept in ``page.errors``.

    Dialogs are dismissed, unless a test sets ``page.accept_dialogs = True``."""
    page = context.new_page()
    page.errors = []
    page.accept_dialogs = False

    def on_dialog(dialog):
        if page.accept_dialogs:
            dialog.accept()
        else:
            page.errors.append(f"dialog: {dialog.message}")
            dialog.dismiss()

    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("dialog", on_dialog)
    return page
