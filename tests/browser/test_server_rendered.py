"""The server-rendered thread in a page: read without JavaScript, taken over by the widget."""

from __future__ import annotations

import itertools
import urllib.parse
import urllib.request

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PATHS = itertools.count(1)
SPECS = [
    {"author": "Ana", "text": "The **first** word"},
    {"author": "Bob", "text": "A reply to Ana", "parent": 0},
    {"author": "Cyd", "text": "Another view", "staff": True},
]
# What a layout-shift observer adds up, from the first paint on (CLS without session windows).
CLS_OBSERVER = """
window.__cls = 0;
new PerformanceObserver(list => {
  for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__cls += entry.value;
}).observe({type: 'layout-shift', buffered: true});
"""


def fragment(live_server, site, url, **params):
    """The fragment as a server-side include would fetch it."""
    query = urllib.parse.urlencode({"site": site, "url": url, **params})
    with urllib.request.urlopen(f"{live_server.url}/embed/thread?{query}") as answer:
        return answer.read().decode()


def included_page(live_server, host_page, specs=SPECS, *, script=True, after="", lang="en", **embed):
    """A page that includes its thread's fragment in #causerie (and the widget, unless not wanted)."""
    site = live_server.add_site()
    path = f"/included/{next(PATHS)}"
    url = host_page("", path=path)
    ids = live_server.add_comments(site, url, specs)
    html = fragment(live_server, site, url, lang=lang, **({"sort": embed["sort"]} if "sort" in embed else {}))
    tag = live_server.embed(site, **embed) if script else ""
    host_page(f'<div id="causerie">{html}</div>{after}{tag}', path=path, lang=lang)
    return site, url, ids


def test_without_javascript_the_included_thread_is_readable(live_server, host_page, browser):
    _, url, ids = included_page(live_server, host_page)
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(url)
        thread = page.locator("#causerie")
        expect(thread.locator("h2")).to_have_text("3 comments")
        expect(thread.get_by_text("A reply to Ana")).to_be_visible()
        expect(thread.locator(f"#comment-{ids[0]} strong")).to_have_text("first")
        expect(thread.locator(f"#comment-{ids[2]}")).to_contain_text("Staff")
        # The reply sits inside its parent's item.
        expect(thread.locator(f"li:has(> #comment-{ids[0]}) #comment-{ids[1]}")).to_have_count(1)
    finally:
        context.close()


def test_with_javascript_each_comment_shows_once_and_the_widget_works(live_server, host_page, page):
    _, url, ids = included_page(live_server, host_page)
    with page.expect_response("**/api/threads*"):
        page.goto(url)
    w = page.locator("#causerie")
    expect(w.locator("form")).to_have_count(1)
    expect(w.locator("section.c h2")).to_have_text("3 comments")
    for text in ("The first word", "A reply to Ana", "Another view"):
        # The fragment stays in the page for search engines, but is no longer shown.
        expect(page.locator(f"text={text} >> visible=true")).to_have_count(1)
        expect(page.locator(f"#causerie section.c >> text={text}")).to_have_count(1)
    expect(w.locator(f"section.c #comment-{ids[0]} .tx strong")).to_have_text("first")
    expect(w.locator(f"#comment-{ids[2]} .bg")).to_have_text("Staff")
    w.get_by_role("button", name="Reply").first.click()
    expect(w.get_by_role("heading", name="Reply to Ana")).to_be_visible()
    # Drawn once, from the fragment: the thread's answer named the same version.
    assert page.evaluate("performance.getEntriesByName('causerie-render', 'mark').length") == 1
    assert page.errors == []


def test_a_comment_posted_after_the_build_appears_once_the_thread_arrives(live_server, host_page, page):
    site, url, ids = included_page(live_server, host_page)
    live_server.add_comments(site, url, [{"author": "Dee", "text": "Written after the build"}])
    page.goto(url)
    w = page.locator("#causerie")
    expect(w.get_by_text("Written after the build")).to_have_count(1)
    expect(w.locator("section.c h2")).to_have_text("4 comments")
    expect(w.locator("section.c article")).to_have_count(4)
    assert page.evaluate("performance.getEntriesByName('causerie-render', 'mark').length") == 2


def test_the_page_works_the_same_with_and_without_the_fragment(live_server, host_page, page):
    _, with_fragment, _ = included_page(live_server, host_page)
    site = live_server.add_site()
    without = host_page('<div id="causerie"></div>' + live_server.embed(site))
    live_server.add_comments(site, without, SPECS)
    shapes = []
    for url in (with_fragment, without):
        page.goto(url)
        w = page.locator("#causerie section.c")
        expect(w.locator("form.f")).to_have_count(1)
        shapes.append(w.evaluate("s => [...s.querySelectorAll('article, h2, button, label')].map(e => e.tagName + ':' "
                                 "+ e.textContent.trim()).filter(x => !/\\d{4}|ago/.test(x))"))
    assert shapes[0] == shapes[1]


def test_taking_the_fragment_over_shifts_the_layout_by_less_than_a_tenth(live_server, host_page, page):
    specs = [{"author": f"Reader {n}", "text": f"Comment number {n}, with a few words to read."} for n in range(3)]
    footer = "<footer><h2>About this blog</h2><p>Notes on gardening.</p><p>Contact, archives, feeds.</p></footer>"
    site, url, _ = included_page(live_server, host_page, specs, script=False, after=footer)
    page.add_init_script(CLS_OBSERVER)
    page.goto(url)
    # The widget arrives once the fragment is on screen, as on a slow network.
    page.wait_for_function("performance.getEntriesByName('first-contentful-paint').length > 0")
    with page.expect_response("**/api/threads*"):
        page.evaluate("""([src, site]) => {
            const script = document.createElement('script');
            script.src = src;
            script.dataset.site = site;
            document.body.append(script);
        }""", [f"{live_server.url}/widget.js", site])
    expect(page.locator("#causerie section.c form.f")).to_have_count(1)
    expect(page.locator("#causerie section.c h2")).to_have_text("3 comments")
    # Two frames after the thread's answer: every shift it caused has been reported.
    page.evaluate("new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    cls = page.evaluate("window.__cls")
    assert cls < 0.1, cls


def test_german_page_reads_the_included_thread_in_german_without_javascript(live_server, host_page, browser):
    _, url, _ = included_page(live_server, host_page, lang="de")
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(url)
        expect(page.locator("#causerie h2")).to_have_text("3 Kommentare")
        expect(page.locator("#causerie")).to_contain_text("Team")
    finally:
        context.close()


def test_german_page_with_the_fragment_shows_the_widget_in_german_at_once(live_server, host_page, page):
    _, url, _ = included_page(live_server, host_page, lang="de")

    def never(route):
        route.abort()

    # Even before (or without) the thread's answer, the fragment gives the widget its words.
    page.route("**/api/threads*", never)
    page.goto(url)
    w = page.locator("#causerie section.c")
    expect(w.locator("h2")).to_have_text("3 Kommentare")
    expect(w.get_by_role("button", name="Antworten")).to_have_count(3)
    expect(w.get_by_role("button", name="Kommentar senden")).to_be_visible()
