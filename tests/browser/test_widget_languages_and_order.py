"""The widget in seven languages, and in the reading order a reader chooses."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SPECS = [
    {"author": "Ana", "text": "Oldest root"},
    {"author": "Bob", "text": "First reply", "parent": 0},
    {"author": "Cyd", "text": "Middle root", "staff": True},
    {"author": "Dee", "text": "Second reply", "parent": 0},
    {"author": "Eve", "text": "Newest root"},
]
# Per language: the heading for five comments, the reply button, the post button, the staff badge.
LANGUAGES = {
    "de": ("5 Kommentare", "Antworten", "Kommentar senden", "Team", "vor 5 Stunden"),
    "es": ("5 comentarios", "Responder", "Publicar comentario", "Equipo", "hace 5 horas"),
    "it": ("5 commenti", "Rispondi", "Pubblica il commento", "Redazione", "5 ore fa"),
    "pt": ("5 comentários", "Responder", "Publicar comentário", "Equipe", "há 5 horas"),
    "nl": ("5 reacties", "Reageren", "Reactie plaatsen", "Redactie", "5 uur geleden"),
}


def load(live_server, host_page, page, *, lang="en", specs=SPECS, **embed):
    site = live_server.add_site()
    url = host_page('<div id="causerie"></div>' + live_server.embed(site, **embed), lang=lang)
    ids = live_server.add_comments(site, url, specs)
    live_server.clear()
    page.goto(url)
    return site, url, page.locator("#causerie"), ids


def roots(w):
    return w.locator("section > ol > li > article .tx")


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_page_language_shows_the_widget_in_that_language_in_two_requests(live_server, host_page, page, lang):
    heading, reply, send, staff, ago = LANGUAGES[lang]
    _, _, w, ids = load(live_server, host_page, page, lang=lang)
    expect(w.locator("h2")).to_have_text(heading)
    expect(w.get_by_role("button", name=reply, exact=True)).to_have_count(5)
    expect(w.get_by_role("button", name=send)).to_be_visible()
    expect(w.locator(f"#comment-{ids[2]} .bg")).to_have_text(staff)
    expect(w.locator(f"#comment-{ids[0]} time")).to_have_text(ago)
    text = w.locator("section").inner_text()
    for english in ("comments", "Reply", "Report", "Post comment", "Staff", "ago", "Email"):
        assert not re.search(rf"\b{english}\b", text), english
    assert [path for _, path, _ in live_server.requests()] == ["/widget.js", "/api/threads"]
    assert page.errors == []


def test_data_lang_picks_a_language_the_page_is_not_in(live_server, host_page, page):
    site = live_server.add_site()
    url = host_page('<div id="causerie"></div>' + live_server.embed(site, lang="it"), lang="fr")
    live_server.add_comments(site, url, SPECS)
    page.goto(url)
    w = page.locator("#causerie")
    expect(w.locator("h2")).to_have_text("5 commenti")


def test_listing_page_counts_speak_the_pages_language_in_one_request(live_server, host_page, page):
    site = live_server.add_site()
    article = host_page("<p>article</p>")
    live_server.add_comments(site, article, [{"text": "a"}, {"text": "b"}])
    listing = host_page(f'<p><span data-causerie-count="{article}">…</span> '
                        f'<span data-causerie-count="/nothing">…</span></p>' + live_server.embed(site), lang="de")
    live_server.clear()
    page.goto(listing)
    expect(page.locator("[data-causerie-count]")).to_have_text(["2 Kommentare", "0 Kommentare"])
    assert [path for _, path, _ in live_server.requests("/api")] == ["/api/counts"]


def test_oldest_first_is_the_default_order_with_replies_under_their_parent(live_server, host_page, page):
    _, _, w, _ = load(live_server, host_page, page)
    expect(roots(w)).to_have_text(["Oldest root", "Middle root", "Newest root"])
    expect(w.locator("section > ol > li").first.locator("ol .tx")).to_have_text(["First reply", "Second reply"])


def test_data_sort_newest_puts_the_latest_comment_first_and_keeps_replies_in_order(live_server, host_page, page):
    _, _, w, _ = load(live_server, host_page, page, sort="newest")
    expect(roots(w)).to_have_text(["Newest root", "Middle root", "Oldest root"])
    expect(w.locator("section > ol > li").last.locator("ol .tx")).to_have_text(["First reply", "Second reply"])
    expect(w.get_by_role("button", name="Newest first")).to_have_attribute("aria-pressed", "true")


def test_pinned_comments_stay_first_in_either_order(live_server, host_page, page):
    specs = [{"text": "Pinned old", "pinned": True}, {"text": "Plain"}, {"text": "Plain newer"}]
    _, _, w, _ = load(live_server, host_page, page, specs=specs, sort="newest")
    expect(roots(w)).to_have_text(["Pinned old", "Plain newer", "Plain"])


def test_the_readers_choice_of_order_is_remembered_for_the_site(live_server, host_page, page):
    site, url, w, _ = load(live_server, host_page, page)
    toggle = w.get_by_role("button", name="Newest first")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.click()
    expect(roots(w)).to_have_text(["Newest root", "Middle root", "Oldest root"])
    other = host_page('<div id="causerie"></div>' + live_server.embed(site))
    live_server.add_comments(site, other, [{"text": "Before"}, {"text": "After"}])
    page.goto(other)
    expect(roots(w)).to_have_text(["After", "Before"])
    w.get_by_role("button", name="Newest first").click()
    expect(roots(w)).to_have_text(["Before", "After"])


def test_a_new_comment_goes_first_when_newest_first(live_server, host_page, page):
    _, _, w, _ = load(live_server, host_page, page, sort="newest")
    w.get_by_label("Name").fill("Zed")
    w.get_by_label("Comment", exact=True).fill("Brand new")
    w.get_by_role("button", name="Post comment").click()
    expect(roots(w).first).to_have_text("Brand new")
