"""The spam filter in the moderation queue: each comment's score and reasons in
plain words (English and French), the likeliest spam first, and the site setting."""

from __future__ import annotations

import html
import re

import sqlalchemy as sa

from service.extensions import db
from service.models import Site
from tests.moderation_helpers import add_comment

REASONS = [{"code": "off_topic"}, {"code": "phone"}, {"code": "link_domain", "domain": "spam.example", "spam": 4}]


def page_text(response) -> str:
    """The page's text with tags removed and entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", response.get_data(as_text=True)))


def test_held_comment_shows_its_score_and_reasons(app, mod):
    add_comment(app, "blog", spam_score=0.87, spam_verdict="hold", spam_reasons=REASONS)
    page = " ".join(page_text(mod.get("/moderate/")).split())
    assert "Spam score: 87%" in page
    assert "off-topic for this page, phone number, links to spam.example, a domain seen in 4 spam" in page


def test_reasons_are_in_french_for_a_french_moderator(app, mod):
    add_comment(app, "blog", spam_score=0.87, spam_verdict="hold", spam_reasons=REASONS)
    page = " ".join(page_text(mod.get("/moderate/", headers={"Accept-Language": "fr"})).split())
    assert "Score de spam : 87 %" in page
    assert "hors sujet pour cette page, numéro de téléphone, lien vers spam.example, un domaine vu dans 4 spams" \
        in page


def test_comment_page_shows_the_score(app, mod):
    comment_id = add_comment(app, "blog", spam_score=0.95, spam_verdict="spam", spam_reasons=[{"code": "shouting"}],
                             status="spam")
    assert "Spam score: 95%: shouting" in " ".join(page_text(mod.get(f"/moderate/comments/{comment_id}")).split())


def test_pending_view_sorts_the_likeliest_spam_first(app, mod):
    low = add_comment(app, "blog", "low", spam_score=0.1)
    unscored = add_comment(app, "blog", "unscored")
    high = add_comment(app, "blog", "high", spam_score=0.8)
    page = mod.get("/moderate/?sort=score").get_data(as_text=True)
    positions = [page.index(f'value="{cid}" id="sel-{cid}"') for cid in (high, low, unscored)]
    assert positions == sorted(positions)


def test_settings_offer_the_auto_mode_and_the_first_time_trust(app, admin):
    form = admin.get("/moderate/sites/blog").get_data(as_text=True)
    assert 'value="auto"' in form and 'name="spam_trust_first_time"' in form
    response = admin.post("/moderate/sites/blog", {
        "name": "Blog", "mode": "first-time", "spam_trust_first_time": "y", "origins": "https://blog.example",
        "max_links": 3, "report_threshold": 3, "digest": "instant", "language": "en"})
    assert response.status_code == 303, page_text(response)[:500]
    with app.app_context():
        site = db.session.scalar(sa.select(Site).where(Site.key == "blog"))
        assert (site.mode, site.spam_trust_first_time) == ("first-time", True)
