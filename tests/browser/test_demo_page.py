"""The demo article, opened in Chromium as a newcomer would after `causerie demo`."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from service.demo import seed_demo

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(live_server):
    config = live_server.app.config
    before = config["CAUSERIE_PUBLIC_URL"]
    config["CAUSERIE_PUBLIC_URL"] = live_server.url
    with live_server.app.app_context():
        seed_demo()
    yield live_server.url
    config["CAUSERIE_PUBLIC_URL"] = before


def test_french_demo_shows_the_sample_discussion_and_takes_a_comment(demo, page):
    page.goto(f"{demo}/demo")
    w = page.locator("#causerie")
    expect(w.locator("h2")).to_have_text("10 commentaires")
    expect(w.locator("article").first).to_contain_text("Jean")
    expect(w.locator(".bg", has_text="Équipe")).to_have_count(2)
    expect(w.get_by_text("en réponse à Claire (autrice)")).to_be_visible()
    expect(w.get_by_text("« la modération invisible »")).to_be_visible()
    w.get_by_label("Nom").fill("Visiteuse")
    w.get_by_label("Commentaire", exact=True).fill("Très bon article\u202f!")
    w.get_by_role("button", name="Publier").click()
    # The demo site holds first-time commenters, so the reader sees moderation at work.
    expect(w.locator("article.pend")).to_contain_text("En attente de modération")
    assert page.errors == []


def test_english_demo_is_in_english(demo, page):
    page.goto(f"{demo}/demo/en")
    w = page.locator("#causerie")
    expect(w.locator("h2")).to_have_text("10 comments")
    expect(w.locator(".bg", has_text="Staff")).to_have_count(2)
    expect(page.get_by_role("heading", level=1)).to_have_text("The pitfalls of community management on a blog")
