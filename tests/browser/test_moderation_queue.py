"""The moderation queue in Chromium: sign in, keyboard, bulk actions, staff replies."""

from __future__ import annotations

import itertools

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from service.extensions import db
from service.models import Comment, Moderator, Site
from tests.moderation_helpers import PASSWORD, password_hash

pytestmark = pytest.mark.browser
_numbers = itertools.count(1)


@pytest.fixture
def desk(live_server):
    """A fresh site holding every comment, and its moderator's email."""
    n = next(_numbers)
    site = live_server.add_site(f"desk{n}", mode="pre")
    email = f"desk{n}@example.org"
    with live_server.app.app_context():
        row = db.session.scalar(sa.select(Site).where(Site.key == site))
        db.session.add(Moderator(email=email, name=f"Editor {n}", sites=[row],
                                 password_hash=password_hash(PASSWORD)))  # made once, checked quickly
        db.session.commit()
    return site, email


def sign_in(page, live_server, email, script=True):
    page.goto(f"{live_server.url}/moderate/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/moderate/")
    if script:
        page.wait_for_selector("html[data-keys=ready]", state="attached")


def status(live_server, comment_id):
    with live_server.app.app_context():
        return db.session.get(Comment, comment_id).status


def held(live_server, site, host_page, texts):
    url = host_page("<p>article</p>")
    return live_server.add_comments(site, url, [{"text": t, "status": "pending", "author": f"Author {i}"}
                                                for i, t in enumerate(texts)])


def test_sign_in_leads_to_the_queue(live_server, host_page, page, desk):
    site, email = desk
    held(live_server, site, host_page, ["Waiting in line"])
    sign_in(page, live_server, email)
    expect(page.locator(".item")).to_contain_text("Waiting in line")
    assert page.errors == []


def test_wrong_password_shows_an_error_next_to_the_field(live_server, page, desk):
    _, email = desk
    page.goto(f"{live_server.url}/moderate/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("not it")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match")


def test_approve_with_the_keyboard(live_server, host_page, page, desk):
    site, email = desk
    first, second = held(live_server, site, host_page, ["Older one", "Newer one"])
    sign_in(page, live_server, email)
    items = page.locator(".item")
    expect(items).to_have_count(2)
    expect(items.first).to_have_class("item status-pending current")  # the first one is ready at once
    page.keyboard.press("a")
    expect(items).to_have_count(1)
    expect(page.locator("#live")).to_have_text("1 comment approved.")
    assert status(live_server, second) == "approved" and status(live_server, first) == "pending"
    expect(items.first).to_be_focused()
    assert page.errors == []


def test_question_mark_shows_the_keys(live_server, host_page, page, desk):
    site, email = desk
    held(live_server, site, host_page, ["Anything"])
    sign_in(page, live_server, email)
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Next / previous comment")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_bulk_reject_with_x_and_r(live_server, host_page, page, desk):
    site, email = desk
    ids = held(live_server, site, host_page, ["Spammy one", "Spammy two", "Keep me"])
    sign_in(page, live_server, email)
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    expect(page.locator("#selection-count")).to_have_text("2 selected")
    page.keyboard.press("r")
    expect(page.locator(".item")).to_have_count(1)
    expect(page.locator(".item")).to_contain_text("Spammy one")  # newest first: the two newest went
    assert [status(live_server, i) for i in ids] == ["pending", "rejected", "rejected"]


def test_bulk_reject_with_the_mouse(live_server, host_page, page, desk):
    site, email = desk
    ids = held(live_server, site, host_page, ["One", "Two"])
    sign_in(page, live_server, email)
    page.get_by_text("Select all").click()
    page.get_by_role("button", name="Reject selected").click()
    expect(page.get_by_text("Nothing is waiting")).to_be_visible()
    assert {status(live_server, i) for i in ids} == {"rejected"}


def test_actions_work_without_javascript(live_server, host_page, browser, desk):
    site, email = desk
    (comment_id,) = held(live_server, site, host_page, ["No script here"])
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, live_server, email, script=False)
        page.locator(".item").get_by_role("button", name="Approve").click()
        expect(page.locator(".flash")).to_have_text("1 comment approved.")
        assert status(live_server, comment_id) == "approved"
    finally:
        context.close()


def test_staff_reply_appears_in_the_widget_with_its_badge(live_server, host_page, page, desk):
    site, email = desk
    url = host_page('<div id="causerie"></div>' + live_server.embed(site))
    (question,) = live_server.add_comments(site, url, [{"text": "Is this still true?", "author": "Reader"}])
    sign_in(page, live_server, email)
    page.goto(f"{live_server.url}/moderate/comments/{question}")
    page.get_by_label("Your reply (Markdown)").fill("Yes, we checked **today**.")
    page.get_by_role("button", name="Publish the reply").click()
    expect(page.locator(".flash")).to_have_text("Your reply is published.")
    page.goto(url)
    widget = page.locator("#causerie")
    expect(widget.locator("h2")).to_have_text("2 comments")
    reply = widget.locator("article", has_text="we checked")
    expect(reply).to_contain_text("Staff")
    expect(reply.locator("strong")).to_have_text("today")


def test_held_comment_appears_in_the_queue_with_its_reason(live_server, host_page, page, desk):
    site, email = desk
    with live_server.app.app_context():
        db.session.scalar(sa.select(Site).where(Site.key == site)).suspect_words = ["casino"]
        db.session.commit()
    url = host_page('<div id="causerie"></div>' + live_server.embed(site))
    page.goto(url)
    form = page.locator("#causerie form.f")
    form.get_by_label("Name").fill("Gambler")
    form.get_by_label("Comment", exact=True).fill("The best casino online")
    form.get_by_role("button", name="Post comment").click()
    expect(page.locator("#causerie article.pend")).to_contain_text("The best casino online")
    sign_in(page, live_server, email)
    item = page.locator(".item", has_text="The best casino online")
    expect(item.locator(".reasons")).to_contain_text("Contains a suspect word")


def test_queue_has_no_serious_accessibility_violation(live_server, host_page, browser, desk):
    from axe_playwright_python.sync_playwright import Axe

    site, email = desk
    held(live_server, site, host_page, ["Check me for contrast"])
    # axe is injected as a script, which the queue's own CSP would rightly refuse.
    context = browser.new_context(bypass_csp=True)
    try:
        page = context.new_page()
        sign_in(page, live_server, email)
        for theme in ("light", "dark"):
            page.emulate_media(color_scheme=theme)
            results = Axe().run(page)
            bad = [(v["id"], [(n["target"], n.get("failureSummary", "")[-160:]) for n in v["nodes"]][:3])
                   for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
            assert bad == [], theme
    finally:
        context.close()


def test_undo_puts_the_last_decision_back(live_server, host_page, page, desk):
    site, email = desk
    (comment_id,) = held(live_server, site, host_page, ["Approved by mistake"])
    sign_in(page, live_server, email)
    page.keyboard.press("a")
    expect(page.get_by_text("Nothing is waiting")).to_be_visible()
    assert status(live_server, comment_id) == "approved"
    page.keyboard.press("u")
    expect(page.locator(".item")).to_contain_text("Approved by mistake")
    assert status(live_server, comment_id) == "pending"
