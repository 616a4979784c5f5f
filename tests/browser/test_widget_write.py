"""The widget writes: posting, replying, pending, editing, deleting, reporting, errors."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from service.extensions import db
from service.models import Comment, Report

pytestmark = pytest.mark.browser


def open_thread(live_server, host_page, page, specs=(), *, locked=False, **site_fields):
    site = live_server.add_site(**site_fields)
    url = host_page('<div id="causerie"></div>' + live_server.embed(site))
    ids = live_server.add_comments(site, url, specs, locked=locked) if specs or locked else []
    page.goto(url)
    w = page.locator("#causerie")
    expect(w.locator("h2")).to_have_text(f"{len(specs)} comment" + ("" if len(specs) == 1 else "s"))
    return w, ids


def post(form, text, name=None, **fields):
    if name is not None:
        form.get_by_label("Name").fill(name)
    for label, value in fields.items():
        form.get_by_label(label).fill(value)
    form.get_by_label("Comment", exact=True).fill(text)
    form.get_by_role("button", name="Post comment").click()


# What the widget remembers for the page's one site (widget/causerie.js names the format).
REMEMBERED = "JSON.parse(localStorage.getItem(Object.keys(localStorage).find(k => k.startsWith('causerie:v2:'))))"


def stored(live_server, comment_id):
    with live_server.app.app_context():
        return db.session.get(Comment, comment_id)


def test_reader_posts_a_comment_then_replies_inline(live_server, host_page, page):
    w, _ = open_thread(live_server, host_page, page)
    post(w.locator("form.f"), "Hello **world** 👋", name="Zoé", **{"Email (optional, never shown)": "zoe@example.org"})
    first = w.locator("article").first
    expect(first).to_contain_text("Hello world 👋")
    expect(first.locator("strong")).to_have_text("world")
    expect(first).to_be_focused()
    expect(w.locator("h2")).to_have_text("1 comment")
    expect(w.get_by_role("status").first).to_have_text("Your comment is published.")

    first.get_by_role("button", name="Reply").click()
    reply_form = first.locator("form")
    expect(reply_form.get_by_role("heading")).to_have_text("Reply to Zoé")
    expect(reply_form.get_by_label("Comment", exact=True)).to_be_focused()
    # The name and email are remembered from the first comment.
    expect(reply_form.get_by_label("Name")).to_have_value("Zoé")
    expect(reply_form.get_by_label("Email (optional, never shown)")).to_have_value("zoe@example.org")
    post(reply_form, "A reply")
    reply = w.locator("section > ol > li > ol > li > article")
    expect(reply).to_contain_text("A reply")
    expect(reply).to_be_focused()
    expect(first.locator("form")).to_have_count(0)
    expect(w.locator("h2")).to_have_text("2 comments")

    page.reload()
    expect(w.locator("h2")).to_have_text("2 comments")
    expect(w.locator("section > ol > li > ol > li > article")).to_contain_text("A reply")
    expect(w.locator("form.f").get_by_label("Name")).to_have_value("Zoé")
    assert page.errors == []


def test_reply_form_can_be_cancelled_with_focus_back_on_reply(live_server, host_page, page):
    w, ids = open_thread(live_server, host_page, page, [{"text": "Root"}])
    button = w.locator(f"#comment-{ids[0]}").get_by_role("button", name="Reply")
    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    w.locator(f"#comment-{ids[0]}").get_by_role("button", name="Cancel").click()
    expect(w.locator(f"#comment-{ids[0]} form")).to_have_count(0)
    expect(button).to_be_focused()
    expect(button).to_have_attribute("aria-expanded", "false")


def test_pending_comment_stays_visible_to_its_author_across_reloads_until_moderated(live_server, host_page, page):
    w, _ = open_thread(live_server, host_page, page, mode="pre")
    post(w.locator("form.f"), "Held for review", name="Noé")
    mine = w.locator("article.pend")
    expect(mine).to_contain_text("Awaiting moderation")
    expect(w.get_by_role("status").first).to_have_text("Thank you! Your comment awaits moderation.")
    comment_id = int(mine.get_attribute("data-id"))

    live_server.clear()
    page.reload()
    expect(w.locator("article.pend")).to_contain_text("Held for review")
    expect(w.locator("h2")).to_have_text("0 comments")
    # The own-pending check is the only extra request (after its CORS preflight).
    assert [(m, p) for m, p, _ in live_server.requests("/api") if m != "OPTIONS"] == [
        ("GET", "/api/threads"), ("GET", f"/api/comments/{comment_id}")]

    # Another reader never sees it.
    other = page.context.browser.new_page()
    other.goto(page.url)
    expect(other.locator("#causerie h2")).to_have_text("0 comments")
    expect(other.locator("#causerie article")).to_have_count(0)
    other.close()

    live_server.set_status(comment_id, "approved")
    page.reload()
    expect(w.locator("h2")).to_have_text("1 comment")
    expect(w.locator("article.pend")).to_have_count(0)
    expect(w.locator(f"#comment-{comment_id}")).to_contain_text("Held for review")
    # Once approved, no more asking about it.
    live_server.clear()
    page.reload()
    expect(w.locator("h2")).to_have_text("1 comment")
    assert [p for _, p, _ in live_server.requests("/api")] == ["/api/threads"]


def test_rejected_pending_comment_disappears_and_is_forgotten(live_server, host_page, page):
    w, _ = open_thread(live_server, host_page, page, mode="pre")
    post(w.locator("form.f"), "Maybe spam", name="Sam")
    comment_id = int(w.locator("article.pend").get_attribute("data-id"))
    live_server.set_status(comment_id, "spam")
    page.reload()
    expect(w.locator("h2")).to_have_text("0 comments")
    expect(w.locator("article")).to_have_count(0)
    page.wait_for_function(f"id => !(id in {REMEMBERED}.ownComments)", arg=str(comment_id))


def test_author_edits_then_deletes_own_comment_within_the_window(live_server, host_page, page):
    w, ids = open_thread(live_server, host_page, page, [{"author": "Other", "text": "Not mine"}])
    post(w.locator("form.f"), "First *draft*", name="Ed")
    mine = w.locator("article").nth(1)
    expect(mine.locator(".ac")).to_contain_text("15 minutes left to edit")
    expect(w.locator(f"#comment-{ids[0]}").get_by_role("button", name="Edit")).to_have_count(0)
    expect(mine.get_by_role("button", name="Report")).to_have_count(0)

    mine.get_by_role("button", name="Edit").click()
    box = mine.get_by_label("Comment", exact=True)
    expect(box).to_have_value("First *draft*")
    expect(box).to_be_focused()
    box.fill("Second **version**")
    mine.get_by_role("button", name="Save").click()
    expect(mine.locator("strong")).to_have_text("version")
    expect(mine.locator("form")).to_have_count(0)
    comment_id = int(mine.get_attribute("data-id"))
    assert stored(live_server, comment_id).text == "Second **version**"

    page.accept_dialogs = True
    mine.get_by_role("button", name="Delete").click()
    expect(w.locator(f"#comment-{comment_id}")).to_have_count(0)
    expect(w.locator("h2")).to_have_text("1 comment")
    expect(w.locator("h2")).to_be_focused()
    assert stored(live_server, comment_id).status == "deleted"
    assert page.errors == []


def test_what_an_older_widget_remembered_is_rewritten_and_still_lets_the_author_edit_and_delete(
        live_server, host_page, page):
    w, _ = open_thread(live_server, host_page, page)
    post(w.locator("form.f"), "Written before the upgrade", name="Early Bird",
         **{"Email (optional, never shown)": "early@example.org"})
    comment_id = w.locator("article").get_attribute("data-id")
    # The same memory in the format of the widget before version 2: one-letter keys, no version.
    page.evaluate("""id => {
        const key = Object.keys(localStorage).find(k => k.startsWith('causerie:v2:'));
        const now = JSON.parse(localStorage.getItem(key)), own = now.ownComments[id];
        const old = {me: {a: now.author.name, e: now.author.email}, c: now.commenter, o: 'newest',
                     mine: {[id]: {k: own.editToken, u: own.editableUntil, x: own.text, p: own.pending,
                                   th: own.thread}},
                     d: {[own.thread + ' ']: {x: 'A draft kept since', u: Date.now() + 3600e3}}};
        localStorage.clear();
        localStorage.setItem(key.replace('causerie:v2:', 'causerie:'), JSON.stringify(old));
    }""", comment_id)

    page.reload()
    mine = w.locator(f"#comment-{comment_id}")
    expect(mine.get_by_role("button", name="Delete")).to_be_visible()
    expect(w.locator("form.f").get_by_label("Name")).to_have_value("Early Bird")
    expect(w.locator("form.f").get_by_label("Comment", exact=True)).to_have_value("A draft kept since")
    keys = page.evaluate("Object.keys(localStorage)")
    assert len(keys) == 1 and keys[0].startswith("causerie:v2:")
    remembered = page.evaluate(REMEMBERED)
    assert remembered["version"] == 2
    assert remembered["author"] == {"name": "Early Bird", "email": "early@example.org"}
    assert remembered["order"] == "newest"
    assert remembered["ownComments"][comment_id]["text"] == "Written before the upgrade"

    mine.get_by_role("button", name="Edit").click()
    box = mine.get_by_label("Comment", exact=True)
    expect(box).to_have_value("Written before the upgrade")
    box.fill("Edited after the upgrade")
    mine.get_by_role("button", name="Save").click()
    expect(mine.locator(".tx")).to_have_text("Edited after the upgrade")
    assert stored(live_server, int(comment_id)).text == "Edited after the upgrade"
    page.accept_dialogs = True
    mine.get_by_role("button", name="Delete").click()
    expect(w.locator(f"#comment-{comment_id}")).to_have_count(0)
    assert stored(live_server, int(comment_id)).status == "deleted"
    assert page.errors == []


def test_reader_reports_a_comment_with_a_reason(live_server, host_page, page):
    w, ids = open_thread(live_server, host_page, page, [{"author": "Troll", "text": "Rude words"}])
    target = w.locator(f"#comment-{ids[0]}")
    target.get_by_role("button", name="Report").click()
    reason = target.get_by_label("Why report this comment?")
    expect(reason).to_be_focused()
    target.get_by_role("button", name="Send report").click()
    expect(target.get_by_role("status")).to_have_text("This field is required.")
    reason.fill("Insults another reader")
    target.get_by_role("button", name="Send report").click()
    expect(target.get_by_text("Thank you. A moderator will review this comment.")).to_be_focused()
    expect(target.get_by_role("button", name="Report")).to_have_count(0)
    with live_server.app.app_context():
        assert db.session.scalars(sa.select(Report.reason).where(Report.comment_id == ids[0])).all() == [
            "Insults another reader"]


def test_rate_limited_post_says_how_long_to_wait_and_keeps_the_text(live_server, host_page, page):
    w, _ = open_thread(live_server, host_page, page)
    form = w.locator("form.f")
    live_server.app.config["CAUSERIE_RATELIMIT_POST"] = "1/minute"
    try:
        post(form, "One", name="Quick")
        expect(w.locator("article")).to_have_count(1)
        post(form, "Two, too fast")
        expect(form.get_by_role("status")).to_contain_text("Too many comments at once. Please wait")
        expect(form.get_by_role("status")).to_contain_text("second")
    finally:
        live_server.app.config["CAUSERIE_RATELIMIT_POST"] = "1000/minute"
    expect(form.get_by_label("Comment", exact=True)).to_have_value("Two, too fast")
    expect(form.get_by_role("button", name="Post comment")).to_be_enabled()


def test_network_failure_keeps_the_text_and_the_button_is_disabled_while_sending(live_server, host_page, page):
    w, _ = open_thread(live_server, host_page, page)
    form = w.locator("form.f")
    holding = []
    page.route("**/api/comments", lambda route: holding.append(route))
    post(form, "Precious words", name="Net")
    expect(form.get_by_role("button", name="Sending…")).to_be_disabled()
    page.wait_for_timeout(100)
    holding[0].abort()
    expect(form.get_by_role("status")).to_have_text("Network error. Your text is kept: please try again.")
    expect(form.get_by_label("Comment", exact=True)).to_have_value("Precious words")
    expect(form.get_by_role("button", name="Post comment")).to_be_enabled()


def test_field_errors_are_shown_next_to_their_fields(live_server, host_page, page):
    w, _ = open_thread(live_server, host_page, page)
    form = w.locator("form.f")
    form.get_by_role("button", name="Post comment").click()
    name = form.get_by_label("Name")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_be_focused()
    expect(form.locator(".er").first).to_have_text("This field is required.")
    # The service's own verdict, per field.
    post(form, "Hi", name="Val", **{"Email (optional, never shown)": "not-an-email"})
    email = form.get_by_label("Email (optional, never shown)")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_be_focused()
    expect(form.get_by_role("status")).to_have_text("Please correct the marked fields.")
    expect(name).not_to_have_attribute("aria-invalid", "true")


def test_locked_thread_shows_it_is_closed_and_offers_no_form(live_server, host_page, page):
    w, ids = open_thread(live_server, host_page, page, [{"text": "Old news"}], locked=True)
    expect(w.get_by_text("This discussion is closed.")).to_be_visible()
    expect(w.locator("form")).to_have_count(0)
    expect(w.get_by_role("button", name="Reply")).to_have_count(0)
    expect(w.get_by_role("button", name="Report")).to_be_visible()


def test_thread_locked_while_writing_closes_the_form(live_server, host_page, page):
    w, ids = open_thread(live_server, host_page, page, [{"text": "Open"}])
    with live_server.app.app_context():
        comment = db.session.get(Comment, ids[0])
        comment.thread.locked = True
        db.session.commit()
    post(w.locator("form.f"), "Too late", name="Lou")
    expect(w.get_by_text("This discussion is closed.")).to_be_visible()
    expect(w.locator("form")).to_have_count(0)


def test_posted_body_carries_the_ticket_an_empty_honeypot_and_the_widgets_language(live_server, host_page, page):
    w, _ = open_thread(live_server, host_page, page)
    with page.expect_request("**/api/comments") as request:
        post(w.locator("form.f"), "Checking", name="Bot?")
    body = json.loads(request.value.post_data)
    assert body["hp"] == ""
    assert body["ticket"]
    assert body["title"] == "A blog post"
    assert body["lang"] == "en"
    expect(w.locator("article")).to_have_count(1)
    assert stored(live_server, int(w.locator("article").first.get_attribute("data-id"))).language == "en"


def test_edit_after_the_window_closed_says_it_is_too_late(live_server, host_page, page):
    w, _ = open_thread(live_server, host_page, page)
    post(w.locator("form.f"), "Quick thought", name="Late")
    mine = w.locator("article").first
    comment_id = int(mine.get_attribute("data-id"))
    with live_server.app.app_context():
        comment = db.session.get(Comment, comment_id)
        comment.created_at = comment.created_at - timedelta(hours=1)
        db.session.commit()
    mine.get_by_role("button", name="Edit").click()
    mine.get_by_label("Comment", exact=True).fill("Changed my mind")
    mine.get_by_role("button", name="Save").click()
    expect(mine.get_by_role("status")).to_have_text("Too late to change it.")
    assert stored(live_server, comment_id).text == "Quick thought"


def test_unsent_text_survives_a_reload_and_is_forgotten_once_posted(live_server, host_page, page):
    w, _ = open_thread(live_server, host_page, page)
    w.locator("form.f").get_by_label("Comment", exact=True).fill("Half a thought « à suivre »…")
    page.reload()
    text = w.locator("form.f").get_by_label("Comment", exact=True)
    expect(text).to_have_value("Half a thought « à suivre »…")
    post(w.locator("form.f"), "Half a thought « à suivre »… and the rest.", name="Drafty")
    expect(w.locator("article")).to_have_count(1)
    page.reload()
    expect(w.locator("article")).to_have_count(1)
    expect(w.locator("form.f").get_by_label("Comment", exact=True)).to_have_value("")


def test_a_reply_draft_comes_back_in_its_own_reply_form(live_server, host_page, page):
    w, ids = open_thread(live_server, host_page, page, [{"text": "Root"}])
    root = w.locator(f"#comment-{ids[0]}")
    root.get_by_role("button", name="Reply").click()
    root.locator("form").get_by_label("Comment", exact=True).fill("My answer, not sent yet")
    page.reload()
    expect(w.locator("form.f").first.get_by_label("Comment", exact=True)).to_have_value("")
    root.get_by_role("button", name="Reply").click()
    expect(root.locator("form").get_by_label("Comment", exact=True)).to_have_value("My answer, not sent yet")


def test_a_draft_older_than_a_week_is_dropped(live_server, host_page, page):
    w, _ = open_thread(live_server, host_page, page)
    w.locator("form.f").get_by_label("Comment", exact=True).fill("Written long ago")
    page.reload()
    expect(w.locator("form.f").get_by_label("Comment", exact=True)).to_have_value("Written long ago")
    page.evaluate("""() => {
        const key = Object.keys(localStorage).find(k => k.startsWith('causerie:v2:'));
        const remembered = JSON.parse(localStorage.getItem(key));
        for (const k in remembered.drafts) remembered.drafts[k].expires = Date.now() - 1;
        localStorage.setItem(key, JSON.stringify(remembered));
    }""")
    page.reload()
    expect(w.locator("h2")).to_have_text("0 comments")
    expect(w.locator("form.f").get_by_label("Comment", exact=True)).to_have_value("")


def test_a_draft_saved_in_an_older_tab_keeps_the_edit_token_a_newer_tab_stored(live_server, host_page, page, context):
    w, _ = open_thread(live_server, host_page, page)
    older = context.new_page()
    older.goto(page.url)  # loaded before the comment below exists
    expect(older.locator("#causerie h2")).to_have_text("0 comments")

    post(w.locator("form.f"), "Posted from the first tab", name="Two Tabs")
    expect(w.locator("article")).to_have_count(1)
    older.locator("#causerie form.f").get_by_label("Comment", exact=True).fill("Drafted in the other tab")

    page.reload()
    mine = w.locator("article")
    expect(mine.get_by_role("button", name="Edit")).to_be_visible()
    expect(w.locator("form.f").get_by_label("Comment", exact=True)).to_have_value("Drafted in the other tab")
    expect(w.locator("form.f").get_by_label("Name")).to_have_value("Two Tabs")


def test_asking_for_reply_emails_tells_the_reader_to_confirm_by_email(live_server, host_page, page, monkeypatch):
    # Only queued, never sent: nothing here runs the worker.
    monkeypatch.setitem(live_server.app.config, "CAUSERIE_SMTP_URL", "smtp://127.0.0.1:9")
    w, _ = open_thread(live_server, host_page, page)
    form = w.locator("form.f")
    form.get_by_label("Email me replies").check()
    post(form, "Tell me when someone answers", name="Curious",
         **{"Email (optional, never shown)": "curious@example.org"})
    expect(w.get_by_role("status").first).to_have_text(
        "Your comment is published. To get the emails you asked for, follow the link sent to your address.")


def test_a_service_that_sends_no_email_offers_no_reply_emails(live_server, host_page, page):
    w, _ = open_thread(live_server, host_page, page)
    expect(w.locator("form.f").get_by_label("Comment", exact=True)).to_be_visible()
    expect(w.get_by_label("Email me replies")).to_have_count(0)
    post(w.locator("form.f"), "No emails here", name="Quiet")
    expect(w.locator("article")).to_have_count(1)
    assert page.errors == []


def test_following_the_page_sends_follow_and_asks_for_confirmation(live_server, host_page, page, monkeypatch):
    monkeypatch.setitem(live_server.app.config, "CAUSERIE_SMTP_URL", "smtp://127.0.0.1:9")
    w, _ = open_thread(live_server, host_page, page)
    form = w.locator("form.f")
    form.get_by_label("Email me new comments on this page").check()
    with page.expect_request("**/api/comments") as request:
        post(form, "Keep me posted", name="Watcher", **{"Email (optional, never shown)": "watcher@example.org"})
    assert request.value.post_data_json["follow"] is True
    assert request.value.post_data_json["notify"] is False
    expect(w.get_by_role("status").first).to_contain_text("follow the link sent to your address")


def test_following_without_an_email_asks_for_one_on_the_email_field(live_server, host_page, page, monkeypatch):
    monkeypatch.setitem(live_server.app.config, "CAUSERIE_SMTP_URL", "smtp://127.0.0.1:9")
    w, _ = open_thread(live_server, host_page, page)
    form = w.locator("form.f")
    form.get_by_label("Email me new comments on this page").check()
    post(form, "Keep me posted", name="Watcher")
    expect(form.get_by_label("Email (optional, never shown)")).to_have_attribute("aria-invalid", "true")
    expect(form.locator(".er").nth(1)).to_have_text("An email is needed for that.")


def test_the_widget_sends_back_the_commenter_key_its_first_comment_got(live_server, host_page, page):
    w, _ = open_thread(live_server, host_page, page)
    with page.expect_request("**/api/comments") as first_request:
        post(w.locator("form.f"), "First", name="Zoé")
    assert "commenter" not in json.loads(first_request.value.post_data)
    key = first_request.value.response().json()["commenter"]
    expect(w.locator("article")).to_have_count(1)
    page.reload()
    with page.expect_request("**/api/comments") as second_request:
        post(w.locator("form.f"), "Second")
    assert json.loads(second_request.value.post_data)["commenter"] == key
    expect(w.locator("article")).to_have_count(2)
    ids = [int(a.get_attribute("data-id")) for a in w.locator("article").all()]
    assert len({stored(live_server, i).commenter_hash for i in ids}) == 1


def test_an_edit_that_sends_a_comment_back_to_the_queue_says_so(live_server, host_page, page):
    w, _ = open_thread(live_server, host_page, page, mode="pre")
    post(w.locator("form.f"), "What a lovely article", name="Lou")
    comment_id = int(w.locator("article.pend").get_attribute("data-id"))
    live_server.set_status(comment_id, "approved")
    page.reload()
    mine = w.locator(f"#comment-{comment_id}")
    expect(w.locator("h2")).to_have_text("1 comment")
    mine.get_by_role("button", name="Edit").click()
    mine.get_by_label("Comment", exact=True).fill("Buy cheap pills now")
    mine.get_by_role("button", name="Save").click()
    expect(w.get_by_role("status").first).to_have_text("Thank you! Your comment awaits moderation.")
    expect(w.locator("h2")).to_have_text("0 comments")
    page.reload()
    expect(w.locator("article.pend")).to_contain_text("Buy cheap pills now")
    assert page.errors == []
