"""XSS in the moderation UI: the comments of ``test_xss_widget.py`` (the same
vectors as text, author name and website) shown to a signed-in moderator.

The queue pages, single-comment pages, and the search box and filters fed
with vectors (reflected input) must run nothing: no sentinel call, no
dialog, no script blocked by the Content-Security-Policy (a blocked inline
script still means the page let markup through), no event-handler attribute
and no script URL anywhere in the page.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect
from werkzeug.security import generate_password_hash

from service.extensions import db
from service.models import Moderator

from .test_xss_widget import VECTORS, watch, xss_corpus  # noqa: F401 - xss_corpus is a fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]
EMAIL = "xss-admin@example.org"
PASSWORD = "correct horse battery staple"
PER_PAGE = 25
QUEUE_PAGES = 13  # 325 comments, each its own vector

INSPECT_PAGE = """
() => {
  const bad = [];
  const urlAttrs = new Set(['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'srcdoc', 'background',
                            'poster', 'codebase', 'cite', 'ping', 'manifest', 'srcset']);
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      const value = attr.value.replace(/[\\u0000-\\u0020\\u007f]/g, '').toLowerCase();
      if (name.startsWith('on')) bad.push(`${el.localName}[${name}]`);
      if (urlAttrs.has(name) && /^(javascript|vbscript):/.test(value))
        bad.push(`${el.localName}[${name}=${attr.value.slice(0, 80)}]`);
      // The page's own CSP allows data: images (identicons); nothing else may carry a data: URL.
      if (urlAttrs.has(name) && /^data:/.test(value) && el.localName !== 'img')
        bad.push(`${el.localName}[${name}] data:`);
    }
    if (['iframe', 'object', 'embed', 'frame', 'base', 'meta'].includes(el.localName) && el.closest('main'))
      bad.push('tag ' + el.localName);
    if (el.localName === 'script' && !el.src) bad.push('inline script');
  }
  return bad;
}
"""


@pytest.fixture(scope="module")
def moderator(live_server):
    with live_server.app.app_context():
        db.session.add(Moderator(email=EMAIL, is_admin=True,
                                 password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")))
        db.session.commit()
    return EMAIL


def sign_in(page, live_server):
    page.goto(f"{live_server.url}/moderate/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/moderate/")


def check(page, path, live_server):
    """Load one moderation page and return what ran or stayed active on it."""
    page.goto(f"{live_server.url}{path}")
    assert page.url.startswith(live_server.url), page.url
    return page.evaluate("window.__xss.slice()"), page.evaluate(INSPECT_PAGE)


def test_no_xss_vector_runs_in_the_moderation_ui(live_server, page, moderator, xss_corpus):
    watch(page)
    sign_in(page, live_server)
    executed, active, shown = [], [], set()
    # The queue: newest first, every comment on the pages is one vector.
    for number in range(1, QUEUE_PAGES + 1):
        ran, found = check(page, f"/moderate/?view=approved&page={number}", live_server)
        executed += ran
        active += found
        shown |= {int(i) for i in page.locator("[data-id]").evaluate_all(
            "els => els.map(e => e.dataset.id).filter(Boolean)") if str(i).isdigit()}
    # Single comments: the vectors that aim at attribute context (quotes) show their website, name, text.
    quoting = [cid for cid, vector in xss_corpus.vectors.items() if '"' in vector or "'" in vector][:6]
    for cid in quoting:
        ran, found = check(page, f"/moderate/comments/{cid}", live_server)
        executed += ran
        active += found
        shown.add(cid)
    # Reflected input: vectors in the search box and the filters.
    reflected = VECTORS[:: max(1, len(VECTORS) // 8)][:8]
    for vector in reflected:
        for path in (f"/moderate/?{urlencode({'q': vector, 'view': 'all'})}",
                     f"/moderate/audit?{urlencode({'actor': vector, 'action': vector})}"):
            ran, found = check(page, path, live_server)
            executed += ran
            active += found
    executed += page.errors
    print(f"\nxss moderation: {len(shown)} stored vectors shown on {QUEUE_PAGES} queue pages and "
          f"{len(quoting)} comment pages, {len(reflected)} vectors reflected through search and filters; "
          f"{len(executed)} executed, {len(active)} active attributes or tags")
    assert executed == []
    assert active == []
    assert len(shown) >= 300


def test_the_moderation_ui_refuses_to_be_framed_by_another_page(live_server, host_page, page):
    """Clickjacking: a page on another origin cannot show the sign-in form (or the queue) in a frame."""
    url = host_page(f'<iframe id="trap" src="{live_server.url}/moderate/login" width="600" height="400"></iframe>')
    page.goto(url)
    page.wait_for_timeout(500)
    framed = [frame for frame in page.frames if frame is not page.main_frame]
    assert len(framed) == 1
    assert not framed[0].url.startswith(live_server.url) or framed[0].locator("input").count() == 0
    expect(page.frame_locator("#trap").locator("#email")).to_have_count(0)
