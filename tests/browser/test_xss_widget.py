"""XSS, end to end: about a thousand known vectors, posted through the API as
comment text, author name and website, approved, then rendered by the widget
in Chromium on a host page of another origin.

Nothing may run: ``alert``/``confirm``/``prompt``/``print`` are replaced by a
sentinel in every frame before any script runs, and dialogs, page errors and
navigations are watched too.  The widget's shadow DOM may hold no event-handler
attribute and no ``javascript:``/``data:``/``vbscript:`` URL, a comment's body
only the tags a comment may have, and nothing may leave its comment's box or
reach the host page.  A few vectors are also typed into the widget itself, so
the author's own views (a held comment, before and after a reload, and an
edit) are covered too.  ``test_xss_moderation.py`` shows the same comments
to a signed-in moderator.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from service.extensions import db
from service.models import Comment, Site

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CORPUS = [line for line in (Path(__file__).parent.parent / "data" / "xss_payloads.txt").read_text("utf-8")
          .splitlines() if line.strip()]
# Every third vector of the corpus (all of it goes through the sanitizer in
# tests/test_hostile_xss_sanitizer.py), in threads of a size the widget draws at once.
VECTORS = CORPUS[::3]
PER_THREAD = 280

SENTINEL = """
(() => {
  const hits = [];
  Object.defineProperty(window, '__xss', {value: hits});
  for (const name of ['alert', 'confirm', 'prompt', 'print']) {
    const trap = function (...args) { hits.push(name + '(' + args.map(String).join(',').slice(0, 80) + ')'); };
    try { Object.defineProperty(window, name, {value: trap, writable: false, configurable: false}); } catch (e) {}
  }
  document.addEventListener('securitypolicyviolation',
    e => hits.push('csp:' + e.effectiveDirective + ' ' + String(e.sample).slice(0, 80)), true);
})();
"""

# Runs in the page: everything in the widget that a vector could have turned into script.
INSPECT_WIDGET = """
(expected) => {
  const out = {bad: [], escaped: [], authors: {}, articles: 0, light: []};
  const root = document.getElementById('causerie').shadowRoot;
  const urlAttrs = new Set(['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'srcdoc', 'background',
                            'poster', 'codebase', 'cite', 'ping', 'manifest', 'srcset', 'style']);
  const allowed = new Set(['p', 'br', 'em', 'strong', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'a', 's', 'del']);
  const walk = node => {
    for (const el of node.querySelectorAll('*')) {
      for (const attr of el.attributes) {
        const name = attr.name.toLowerCase();
        const value = attr.value.replace(/[\\u0000-\\u0020\\u007f]/g, '').toLowerCase();
        if (name.startsWith('on')) out.bad.push(`${el.localName}[${name}]`);
        // A URL attribute must not start with a script scheme; a style may hold url() anywhere.
        const scheme = name === 'style' ? /(javascript|data|vbscript):/ : /^(javascript|data|vbscript):/;
        if (urlAttrs.has(name) && scheme.test(value))
          out.bad.push(`${el.localName}[${name}=${attr.value.slice(0, 80)}]`);
      }
      if (el.closest('.tx') && el.classList && !el.classList.contains('tx') && !allowed.has(el.localName))
        out.bad.push('tag in a comment: ' + el.localName);
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(root);
  for (const article of root.querySelectorAll('article')) {
    out.articles += 1;
    const box = article.getBoundingClientRect();
    for (const el of article.querySelectorAll('.tx, .tx *, .au')) {
      const r = el.getBoundingClientRect();
      if (!r.width && !r.height) continue;
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1)
        out.escaped.push(`${article.id} ${el.localName}: ${Math.round(r.left)}-${Math.round(r.right)} of ` +
                         `${Math.round(box.left)}-${Math.round(box.right)}`);
      const position = getComputedStyle(el).position;
      if (position === 'fixed' || position === 'absolute') out.escaped.push(`${article.id} positioned ${position}`);
    }
    const author = article.querySelector('.au');
    out.authors[article.dataset.id] = author ? author.textContent : null;
  }
  // The host page keeps exactly what it was served: its heading, the widget's host and the script.
  for (const el of document.body.querySelectorAll('*'))
    if (!['MAIN', 'H1', 'SCRIPT'].includes(el.tagName) && el.id !== 'causerie')
      out.light.push(el.outerHTML.slice(0, 80));
  return out;
}
"""


@dataclass
class Corpus:
    """The vectors as stored: threads (page URL -> comment ids) and what each comment holds."""

    pages: dict[str, list[int]] = field(default_factory=dict)
    authors: dict[int, str] = field(default_factory=dict)
    vectors: dict[int, str] = field(default_factory=dict)
    websites: int = 0
    site_keys: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


_addresses = (f"10.77.{n // 250}.{n % 250 + 1}" for n in itertools.count())


def _post(client, origin, site, url, ticket, vector):
    """Post ``vector`` as text, name and website; fields the API refuses by design fall back to plain values."""
    body = {"site": site, "url": url, "ticket": ticket, "text": vector, "author": vector[:80],
            "website": f"https://example.org/{vector}"[:500]}
    for fallback in ({}, {"website": None}, {"author": "XSS", "website": None}):
        attempt = {k: v for k, v in {**body, **fallback}.items() if v is not None}
        response = client.post("/api/comments", json=attempt, headers={"Origin": origin},
                               environ_base={"REMOTE_ADDR": next(_addresses)})
        assert response.status_code in (201, 400), (vector, response.status_code, response.get_data(as_text=True))
        if response.status_code == 201:
            return response.get_json()["comment"]["id"], attempt
        fields = response.get_json()["error"]["fields"]
        if "text" in fields:
            return None, None
    return None, None


_posted: dict[int, Corpus] = {}


@pytest.fixture(scope="session")
def xss_corpus(live_server, _host_pages):
    """The vectors posted through the API on a few sites' threads, then approved as a moderator would.

    Posted once per live server, though each module that imports the fixture gets its own copy of it."""
    if id(live_server) not in _posted:
        _posted[id(live_server)] = _post_corpus(live_server, _host_pages)
    return _posted[id(live_server)]


def _post_corpus(live_server, _host_pages) -> Corpus:
    corpus = Corpus()
    client = live_server.app.test_client()
    origin = live_server.host_origin
    for start in range(0, len(VECTORS), PER_THREAD):
        site = live_server.add_site(f"xss{start // PER_THREAD + 1}", mode="post")
        corpus.site_keys.append(site)
        url = _host_pages.add('<div id="causerie"></div>' + live_server.embed(site), title="Hostile comments")
        ticket = client.get("/api/threads", query_string={"site": site, "url": url},
                            headers={"Origin": origin}).headers["Causerie-Ticket"]
        ids = []
        for vector in VECTORS[start:start + PER_THREAD]:
            comment_id, sent = _post(client, origin, site, url, ticket, vector)
            if comment_id is None:
                corpus.refused.append(vector)
                continue
            ids.append(comment_id)
            corpus.authors[comment_id] = sent["author"].strip()
            corpus.vectors[comment_id] = vector
            corpus.websites += "website" in sent
        corpus.pages[url] = ids
    with live_server.app.app_context():
        site_ids = db.session.scalars(sa.select(Site.id).where(Site.key.in_(corpus.site_keys))).all()
        db.session.execute(sa.update(Comment).where(Comment.site_id.in_(site_ids)).values(status="approved"))
        db.session.commit()
    return corpus


def watch(page):
    """Install the sentinel and record navigations away from the page."""
    page.add_init_script(SENTINEL)
    page.navigations = []
    page.on("framenavigated", lambda frame: page.navigations.append(frame.url))
    return page


def test_no_xss_vector_runs_in_the_widget_or_leaves_anything_active_in_its_dom(live_server, page, xss_corpus):
    watch(page)
    executed, inspected = [], 0
    for url, ids in xss_corpus.pages.items():
        page.navigations.clear()
        page.goto(url)
        expect(page.locator("#causerie h2")).to_have_text(f"{len(ids)} comments", timeout=20_000)
        page.wait_for_timeout(300)  # let any error or load handler a vector planted fire
        found = page.evaluate(INSPECT_WIDGET, None)
        executed += page.evaluate("window.__xss")
        assert found["bad"] == [], found["bad"][:20]
        assert found["escaped"] == [], found["escaped"][:20]
        assert found["light"] == [], found["light"][:20]
        assert found["articles"] == len(ids)
        assert {int(k): v for k, v in found["authors"].items()} == {i: xss_corpus.authors[i] for i in ids}
        assert page.url == url and all(nav.startswith(("http://", "about:")) for nav in page.navigations), (
            page.navigations)
        assert len(page.frames) == 1
        inspected += len(ids)
    executed += list(page.errors)
    print(f"\nxss widget: {len(VECTORS)} vectors tried as text, name and website ({xss_corpus.websites} as a "
          f"website), {inspected} rendered in {len(xss_corpus.pages)} page loads, "
          f"{len(xss_corpus.refused)} refused by validation, {len(executed)} executed")
    assert executed == []
    assert inspected >= 300


def test_the_sentinel_and_the_inspection_catch_a_vector_that_gets_through(live_server, host_page, page):
    """The detectors above, shown to work: unsanitized HTML stored behind the service's back does run."""
    watch(page)
    site = live_server.add_site()
    url = host_page('<img src="/none" onerror="alert(1)"><div id="causerie"></div>' + live_server.embed(site))
    live_server.add_comments(site, url, [{"html": '<p>x</p><a href="javascript:alert(2)" onclick="alert(3)">x</a>'
                                                  '<img src="/none" onerror="alert(4)">'}])
    page.goto(url)
    expect(page.locator("#causerie h2")).to_have_text("1 comment")
    page.wait_for_timeout(300)
    found = page.evaluate(INSPECT_WIDGET, None)
    assert sorted(page.evaluate("window.__xss")) == ["alert(1)", "alert(4)"]
    assert {"a[onclick]", "a[href=javascript:alert(2)]", "img[onerror]", "tag in a comment: img"} <= set(found["bad"])
    assert found["light"] and found["light"][0].startswith("<img")


FORM_VECTORS = [
    '<img src=x onerror=alert(1)>',
    '"><svg/onload=alert(2)>',
    "javascript:alert(3)//",
    "<a href=\"javascript:alert(4)\">click</a> [md](javascript:alert(5))",
]


def test_vectors_typed_into_the_widget_run_nothing_in_the_authors_own_pending_view(live_server, host_page, page):
    """The author's own held comment is drawn from the post's answer and, after a reload, from the
    author's own copy: the other rendering paths of the widget."""
    watch(page)
    site = live_server.add_site(mode="pre")
    url = host_page('<div id="causerie"></div>' + live_server.embed(site))
    page.goto(url)
    w = page.locator("#causerie")
    expect(w.locator("h2")).to_have_text("0 comments")
    form = w.locator("form.f")
    for n, vector in enumerate(FORM_VECTORS):
        form.get_by_label("Name").fill(vector[:80])
        form.get_by_label("Website (optional)").fill(f"https://example.org/{vector}")
        form.get_by_label("Comment", exact=True).fill(f"{vector} #{n}")
        form.get_by_role("button", name="Post comment").click()
        expect(w.locator("article.pend")).to_have_count(n + 1)
    for attempt in ("posted", "reloaded"):
        if attempt == "reloaded":
            page.reload()
            expect(w.locator("article.pend")).to_have_count(len(FORM_VECTORS))
        page.wait_for_timeout(300)
        found = page.evaluate(INSPECT_WIDGET, None)
        assert found["bad"] == [] and found["escaped"] == [] and found["light"] == [], (attempt, found)
        assert sorted(found["authors"].values()) == sorted(v[:80].strip() for v in FORM_VECTORS), attempt
    assert page.evaluate("window.__xss") == []
    assert page.errors == []


def test_vectors_saved_through_the_widgets_edit_box_run_nothing(live_server, host_page, page):
    """An author's edit is redrawn from the edit's answer: one more rendering path."""
    watch(page)
    site = live_server.add_site(mode="post")
    url = host_page('<div id="causerie"></div>' + live_server.embed(site))
    page.goto(url)
    w = page.locator("#causerie")
    form = w.locator("form.f")
    form.get_by_label("Name").fill("Ed")
    form.get_by_label("Comment", exact=True).fill("A harmless first draft")
    form.get_by_role("button", name="Post comment").click()
    mine = w.locator("article").first
    expect(mine).to_contain_text("A harmless first draft")
    for n, vector in enumerate(FORM_VECTORS):
        mine.get_by_role("button", name="Edit").click()
        mine.get_by_label("Comment", exact=True).fill(f"{vector} (edit {n})")
        mine.get_by_role("button", name="Save").click()
        expect(mine.locator(".tx")).to_contain_text(f"(edit {n})")
        page.wait_for_timeout(200)
        found = page.evaluate(INSPECT_WIDGET, None)
        assert found["bad"] == [] and found["escaped"] == [] and found["light"] == [], (vector, found)
    assert page.evaluate("window.__xss") == []
    assert page.errors == []
