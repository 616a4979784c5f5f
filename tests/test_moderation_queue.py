"""The queue pages: views, filters, context shown with each comment, the audit log,
site settings, and the seven languages."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from service.extensions import db
from service.models import Comment, Report, Site
from tests.conftest import Reader
from tests.moderation_helpers import add_comment, get


def text(response) -> str:
    return response.get_data(as_text=True)


def test_queue_lists_pending_comments_by_default(app, mod):
    add_comment(app, "blog", "Waiting for a decision")
    add_comment(app, "blog", "Already published", status="approved")
    page = text(mod.get("/moderate/"))
    assert "Waiting for a decision" in page and "Already published" not in page


def test_each_view_lists_its_status(app, mod):
    for status in ("approved", "rejected", "spam"):
        add_comment(app, "blog", f"A {status} one", status=status)
    for status in ("approved", "rejected", "spam"):
        page = text(mod.get(f"/moderate/?view={status}"))
        assert f"A {status} one" in page
        assert sum(f"A {s} one" in page for s in ("approved", "rejected", "spam")) == 1


def test_all_view_lists_every_status_but_deleted(app, mod):
    add_comment(app, "blog", "Kept", status="rejected")
    add_comment(app, "blog", "Gone", status="deleted")
    page = text(mod.get("/moderate/?view=all"))
    assert "Kept" in page and "Gone" not in page


def test_reported_view_lists_comments_with_open_reports(app, mod):
    reported = add_comment(app, "blog", "Reported one", status="approved")
    add_comment(app, "blog", "Quiet one", status="approved")
    with app.app_context():
        db.session.add(Report(comment_id=reported, reason="Personal attack"))
        db.session.commit()
    page = text(mod.get("/moderate/?view=reported"))
    assert "Reported one" in page and "Quiet one" not in page and "Personal attack" in page


def test_unknown_view_falls_back_to_pending(app, mod):
    add_comment(app, "blog", "Waiting")
    response = mod.get("/moderate/?view=<script>&sort=sideways&page=abc")
    assert response.status_code == 200 and "Waiting" in text(response)


def test_search_finds_text_and_author(app, mod):
    add_comment(app, "blog", "About gardening", author="Louise")
    add_comment(app, "blog", "About cooking", author="Marc")
    assert "About cooking" not in text(mod.get("/moderate/?q=garden"))
    page = text(mod.get("/moderate/?q=marc"))
    assert "About cooking" in page and "About gardening" not in page


def test_search_treats_like_wildcards_literally(app, mod):
    add_comment(app, "blog", "Nothing special")
    assert "Nothing special" not in text(mod.get("/moderate/?q=%25"))


def test_oldest_first_sorts_ascending(app, mod):
    from datetime import timedelta

    add_comment(app, "blog", "Older one", age=timedelta(hours=2))
    add_comment(app, "blog", "Newer one")
    page = text(mod.get("/moderate/?sort=oldest"))
    assert page.index("Older one") < page.index("Newer one")
    page = text(mod.get("/moderate/"))
    assert page.index("Newer one") < page.index("Older one")


def test_queue_is_paginated(app, mod):
    for n in range(27):
        add_comment(app, "blog", f"Comment number {n:02d}")
    first = text(mod.get("/moderate/"))
    assert "Page 1 of 2" in first and "Comment number 26" in first and "Comment number 01" not in first
    assert "Comment number 01" in text(mod.get("/moderate/?page=2"))


def test_filter_by_site_for_an_admin(app, admin):
    add_comment(app, "blog", "From the blog")
    add_comment(app, "other", "From the other site")
    page = text(admin.get("/moderate/?site=other"))
    assert "From the other site" in page and "From the blog" not in page


def test_item_shows_author_email_website_thread_and_reasons(app, mod):
    add_comment(app, "blog", "Buy now", author="Sam", email="sam@example.org", website="https://sam.example",
                reasons=["suspect_word", "too_many_links"])
    page = text(mod.get("/moderate/"))
    for expected in ("Sam", "sam@example.org", "https://sam.example", "A post", "Contains a suspect word",
                     "Too many links"):
        assert expected in page


def test_item_shows_the_parent_for_context(app, mod):
    parent = add_comment(app, "blog", "The original remark", status="approved", author="Nina")
    add_comment(app, "blog", "A reply to it", parent=parent)
    page = text(mod.get("/moderate/"))
    assert "In reply to Nina" in page and "The original remark" in page


def test_item_shows_the_commenters_history_on_the_site(app, mod):
    add_comment(app, "blog", "One", status="approved", email="regular@example.org")
    add_comment(app, "blog", "Two", status="approved", email="regular@example.org")
    add_comment(app, "blog", "Three", status="spam", email="regular@example.org")
    add_comment(app, "blog", "Four", email="regular@example.org")
    page = text(mod.get("/moderate/"))
    assert "2 approved" in page and "0 rejected" in page and "1 spam" in page


def test_held_comment_from_the_api_appears_with_its_reason(app, client, mod):
    with app.app_context():
        db.session.scalar(sa.select(Site).where(Site.key == "blog")).suspect_words = ["casino"]
        db.session.commit()
    Reader(client, "blog").post(text="Visit the casino")
    page = text(mod.get("/moderate/"))
    assert "Visit the casino" in page and "Contains a suspect word" in page


def test_comment_html_is_shown_sanitized(app, mod):
    add_comment(app, "blog", "<script>alert('x')</script>**bold**")
    page = text(mod.get("/moderate/"))
    assert "<script>alert" not in page and "<strong>bold</strong>" in page


def test_empty_queue_says_so_calmly(app, mod):
    assert "Nothing is waiting" in text(mod.get("/moderate/"))


def test_pending_count_is_shown_in_the_views(app, mod):
    for n in range(3):
        add_comment(app, "blog", f"Waiting {n}")
    assert '<span class="count">3</span>' in text(mod.get("/moderate/?view=approved"))


def test_comment_page_shows_its_audit_trail(app, mod):
    comment_id = add_comment(app, "blog")
    mod.post(f"/moderate/comments/{comment_id}/approve")
    page = text(mod.get(f"/moderate/comments/{comment_id}"))
    assert "mod@example.org" in page and "approved" in page


def test_audit_log_lists_actions_with_from_and_to_status(app, mod):
    comment_id = add_comment(app, "blog", author="Zoé")
    mod.post(f"/moderate/comments/{comment_id}/spam")
    page = text(mod.get("/moderate/audit"))
    assert "mod@example.org" in page and "marked spam" in page and "pending → spam" in page and "Zoé" in page


def test_audit_log_filters_by_action(app, mod):
    first = add_comment(app, "blog", author="Alpha")
    second = add_comment(app, "blog", author="Bravo")
    mod.post(f"/moderate/comments/{first}/approve")
    mod.post(f"/moderate/comments/{second}/reject")
    page = text(mod.get("/moderate/audit?action=reject"))
    assert "Bravo" in page and "Alpha" not in page


def test_audit_log_filters_by_comment(app, mod):
    first = add_comment(app, "blog", author="Alpha")
    second = add_comment(app, "blog", author="Bravo")
    mod.post(f"/moderate/comments/{first}/approve")
    mod.post(f"/moderate/comments/{second}/approve")
    page = text(mod.get(f"/moderate/audit?comment={second}"))
    assert "Bravo" in page and "Alpha" not in page


def test_audit_log_with_a_bad_comment_filter_is_400(app, mod):
    assert mod.get("/moderate/audit?comment=abc").status_code == 400


def settings_form(**changes):
    data = {"name": "The Blog", "mode": "pre", "origins": "https://blog.example", "banned_words": "",
            "suspect_words": "", "max_links": "3", "report_threshold": "3", "edit_window": "",
            "notify_emails": "", "digest": "instant", "language": "en", "webhook_url": ""}
    data.update(changes)
    return data


def test_settings_page_saves_every_setting(app, admin):
    response = admin.post("/moderate/sites/blog", settings_form(
        mode="post", origins="https://blog.example\nhttps://www.blog.example/", banned_words="idiot, moron",
        suspect_words="casino\ncrypto", max_links="1", report_threshold="5", edit_window="30",
        notify_emails="Desk@Example.org", digest="daily", language="fr", webhook_url="https://hooks.example/causerie"))
    assert response.status_code == 303
    with app.app_context():
        site = db.session.scalar(sa.select(Site).where(Site.key == "blog"))
        assert site.mode == "post" and site.origins == ["https://blog.example", "https://www.blog.example"]
        assert site.banned_words == ["idiot", "moron"] and site.suspect_words == ["casino", "crypto"]
        assert (site.max_links, site.report_threshold, site.edit_window) == (1, 5, 1800)
        assert site.notify_emails == ["desk@example.org"] and site.digest == "daily" and site.language == "fr"
        assert site.webhook_url == "https://hooks.example/causerie"


def test_settings_page_shows_the_current_values(app, admin):
    with app.app_context():
        db.session.scalar(sa.select(Site).where(Site.key == "blog")).suspect_words = ["casino"]
        db.session.commit()
    page = text(admin.get("/moderate/sites/blog"))
    assert "casino" in page and "https://blog.example" in page and "Webhook signing key" in page


def test_settings_refuse_a_language_the_emails_are_not_written_in(app, admin):
    response = admin.post("/moderate/sites/blog", settings_form(language="ja"))
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(Site.language).where(Site.key == "blog")) == "en"


def test_settings_with_a_bad_origin_are_refused_and_explained(app, admin):
    response = admin.post("/moderate/sites/blog", settings_form(origins="not a url"))
    assert response.status_code == 400 and 'aria-invalid="true"' in text(response)
    with app.app_context():
        assert db.session.scalar(sa.select(Site).where(Site.key == "blog")).mode == "pre"


def test_settings_with_a_bad_email_are_refused(app, admin):
    response = admin.post("/moderate/sites/blog", settings_form(notify_emails="nobody"))
    assert response.status_code == 400 and "not an email address" in text(response)


def test_settings_with_an_unknown_mode_are_refused(app, admin):
    assert admin.post("/moderate/sites/blog", settings_form(mode="anarchy")).status_code == 400


def test_settings_with_a_non_http_webhook_are_refused(app, admin):
    assert admin.post("/moderate/sites/blog", settings_form(webhook_url="ftp://files.example/x")).status_code == 400


def test_settings_of_an_unknown_site_are_404(app, admin):
    assert admin.get("/moderate/sites/nope").status_code == 404


def test_sites_page_lists_every_site_for_an_admin(app, admin):
    page = text(admin.get("/moderate/sites"))
    assert "/moderate/sites/blog" in page and "/moderate/sites/other" in page


def test_pages_are_in_french_for_a_french_browser(app, mod):
    add_comment(app, "blog", reasons=["first_time"])
    page = text(mod.get("/moderate/", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}))
    assert '<html lang="fr">' in page and "Approuver" in page and "Premier commentaire de cette personne" in page


def test_pages_are_in_english_for_other_languages(app, mod):
    add_comment(app, "blog")
    page = text(mod.get("/moderate/", headers={"Accept-Language": "ja-JP,ja;q=0.9"}))
    assert '<html lang="en">' in page and "Approve" in page


@pytest.mark.parametrize(("language", "words"), [
    ("de-DE,de;q=0.9", ("Freigeben", "Erster Kommentar dieser Person")),
    ("es-ES", ("Aprobar", "Primer comentario de esta persona")),
    ("it", ("Approva", "Primo commento di questa persona")),
    ("pt-BR", ("Aprovar", "Primeiro comentário desta pessoa")),
    ("nl-BE", ("Goedkeuren", "Eerste reactie van deze persoon")),
])
def test_pages_speak_the_five_new_languages(app, mod, language, words):
    add_comment(app, "blog", reasons=["first_time"])
    page = text(mod.get("/moderate/", headers={"Accept-Language": language}))
    assert f'<html lang="{language[:2]}">' in page
    for word in words:
        assert word in page


def test_flash_messages_are_translated(app, mod):
    comment_id = add_comment(app, "blog")
    response = mod.post(f"/moderate/comments/{comment_id}/approve", json=True,
                        headers={"Accept-Language": "fr"})
    assert response.json["message"] == "1 commentaire approuvé."


def test_error_page_is_translated(app, mod):
    response = mod.get("/moderate/comments/424242", headers={"Accept-Language": "fr"})
    assert response.status_code == 404 and "Il n’y a rien ici." in text(response)


@pytest.mark.parametrize("language", ["fr", "de", "es", "it", "pt", "nl"])
def test_each_catalog_covers_every_message(language):
    from babel.messages.pofile import read_po

    from service.i18n import TRANSLATIONS

    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalog = read_po(handle)
    untranslated = [m.id for m in catalog if m.id and not (m.string if isinstance(m.string, str) else all(m.string))]
    assert untranslated == []
    assert not any(m.fuzzy for m in catalog if m.id)


@pytest.mark.parametrize("language", ["fr", "de", "es", "it", "pt", "nl"])
def test_each_translation_uses_only_the_placeholders_of_its_message(language):
    import re

    from babel.messages.pofile import read_po

    from service.i18n import TRANSLATIONS

    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        if not message.id:
            continue
        source = "".join(message.id) if isinstance(message.id, (list, tuple)) else message.id
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        assert len(strings) == catalog.num_plurals or isinstance(message.string, str), message.id
        for string in strings:
            assert set(re.findall(r"%\((\w+)\)", string)) <= set(re.findall(r"%\((\w+)\)", source)), message.id


def test_stored_comments_are_unchanged_by_viewing(app, mod):
    comment_id = add_comment(app, "blog")
    mod.get("/moderate/")
    mod.get(f"/moderate/comments/{comment_id}")
    assert get(app, Comment, comment_id).status == "pending"


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/hook", "http://169.254.169.254/latest", "http://0x7f000001/"])
def test_settings_with_a_webhook_to_an_internal_address_are_refused_and_explained(app, admin, url):
    response = admin.post("/moderate/sites/blog", settings_form(webhook_url=url))
    assert response.status_code == 400 and "an internal address" in text(response)
    with app.app_context():
        assert db.session.scalar(sa.select(Site.webhook_url).where(Site.key == "blog")) is None


def test_settings_accept_an_internal_webhook_when_private_addresses_are_allowed(app, admin):
    app.config["CAUSERIE_WEBHOOK_ALLOW_PRIVATE"] = True
    response = admin.post("/moderate/sites/blog", settings_form(webhook_url="http://10.0.0.5/hook"))
    assert response.status_code == 303
