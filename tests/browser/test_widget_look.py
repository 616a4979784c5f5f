"""How the widget looks and speaks: languages, themes, hostile host pages, strict CSP, axe."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SPECS = [
    {"author": "Ana", "text": "Premier « avis » ’"},
    {"author": "Claire", "text": "Réponse", "parent": 0, "staff": True},
    {"author": "Bob", "text": "Épinglé", "pinned": True},
]
DARK_BACKGROUND = "rgb(13, 17, 23)"
LIGHT_BACKGROUND = "rgb(255, 255, 255)"


def load(live_server, host_page, page, *, lang="en", head="", body="", headers=None, specs=SPECS, **embed):
    site = live_server.add_site()
    url = host_page(body + '<div id="causerie"></div>' + live_server.embed(site, **embed), lang=lang, head=head,
                    headers=headers)
    ids = live_server.add_comments(site, url, specs)
    page.goto(url)
    return page.locator("#causerie"), ids


def background(w):
    return w.locator("section").evaluate("e => getComputedStyle(e).backgroundColor")


def test_french_page_gets_french_strings_everywhere(live_server, host_page, page):
    w, ids = load(live_server, host_page, page, lang="fr-FR")
    expect(w.locator("h2")).to_have_text("3 commentaires")
    expect(w.locator(f"#comment-{ids[1]} .bg")).to_have_text("Équipe")
    expect(w.locator(f"#comment-{ids[2]} .bg")).to_have_text("Épinglé")
    expect(w.get_by_role("button", name="Répondre")).to_have_count(3)
    expect(w.get_by_role("button", name="Signaler")).to_have_count(3)
    expect(w.get_by_label("E-mail (facultatif, jamais affiché)")).to_be_visible()
    expect(w.get_by_role("button", name="Publier")).to_be_visible()
    expect(w.locator(f"#comment-{ids[0]} time")).to_have_text("il y a 3 heures")
    text = w.locator("section").inner_text()
    for english in ("comments?", "Reply", "Report", "Name", "Website", "ago", "Staff", "Pinned", "Email"):
        assert not re.search(rf"\b{english}\b", text), english
    w.get_by_role("button", name="Publier").click()
    expect(w.locator(".er").first).to_have_text("Ce champ est obligatoire.")


def test_data_lang_overrides_the_page_language(live_server, host_page, page):
    site = live_server.add_site()
    url = host_page('<div id="causerie"></div>' + live_server.embed(site, lang="en"), lang="fr")
    live_server.add_comments(site, url, SPECS)
    page.goto(url)
    w = page.locator("#causerie")
    expect(w.locator("h2")).to_have_text("3 comments")
    expect(w.get_by_role("button", name="Post comment")).to_be_visible()


def test_unknown_language_falls_back_to_english(live_server, host_page, page):
    w, _ = load(live_server, host_page, page, lang="tlh")
    expect(w.locator("h2")).to_have_text("3 comments")


def test_dark_theme_by_data_theme_and_by_the_reader_preference(live_server, host_page, page):
    w, _ = load(live_server, host_page, page, theme="dark")
    expect(w.locator("h2")).to_have_text("3 comments")
    assert background(w) == DARK_BACKGROUND

    page.emulate_media(color_scheme="dark")
    w, _ = load(live_server, host_page, page)
    expect(w.locator("h2")).to_have_text("3 comments")
    assert background(w) == DARK_BACKGROUND

    w, _ = load(live_server, host_page, page, theme="light")
    expect(w.locator("h2")).to_have_text("3 comments")
    assert background(w) == LIGHT_BACKGROUND


def test_host_custom_properties_theme_the_widget(live_server, host_page, page):
    head = "<style>#causerie{--causerie-accent:#7a1fa2;--causerie-bg:#fdf6e3}</style>"
    w, _ = load(live_server, host_page, page, head=head)
    expect(w.locator("h2")).to_have_text("3 comments")
    assert background(w) == "rgb(253, 246, 227)"
    color = w.locator(".sb").evaluate("e => getComputedStyle(e).backgroundColor")
    assert color == "rgb(122, 31, 162)"


HOSTILE = """<style>
* { all: unset; color: red !important; background: lime !important; font-size: 40px !important;
    display: inline !important; border: 9px dotted blue !important; margin: 30px !important;
    padding: 25px !important; text-transform: uppercase !important; visibility: visible; }
div, section, form, textarea, button, input, ol, li, article { display: none !important; position: fixed !important;
    width: 3px !important; height: 3px !important; }
#causerie { opacity: 1; }
html, body { font-family: Georgia, serif !important; }
</style>"""


def test_hostile_host_css_does_not_break_the_widget(live_server, host_page, page):
    w, ids = load(live_server, host_page, page, head=HOSTILE)
    expect(w.locator("h2")).to_have_text("3 comments")
    textarea = w.get_by_label("Comment", exact=True)
    expect(textarea).to_be_visible()
    box = textarea.bounding_box()
    assert box["width"] > 150 and box["height"] > 40
    button = w.get_by_role("button", name="Post comment")
    expect(button).to_be_visible()
    assert button.evaluate("e => getComputedStyle(e).color") == "rgb(255, 255, 255)"
    article = w.locator(f"#comment-{ids[0]}")
    expect(article).to_be_visible()
    style = article.evaluate(
        "e => { const s = getComputedStyle(e); return [s.color, s.textTransform, s.borderTopWidth]; }")
    assert style == ["rgb(31, 35, 40)", "none", "0px"]
    # It still works: post a comment.
    w.get_by_label("Name").fill("Brave")
    textarea.fill("Still standing")
    button.click()
    expect(w.locator("article", has_text="Still standing")).to_be_visible()


def test_widget_works_under_a_strict_content_security_policy(live_server, host_page, page):
    policy = (f"default-src 'none'; script-src {live_server.url}; connect-src {live_server.url}; "
              "base-uri 'none'; form-action 'none'")
    page.add_init_script("window.__csp = []; document.addEventListener('securitypolicyviolation', "
                         "e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));")
    w, _ = load(live_server, host_page, page, headers={"Content-Security-Policy": policy})
    expect(w.locator("h2")).to_have_text("3 comments")
    # Styled: the adopted stylesheet applied without 'unsafe-inline'.
    assert background(w) == LIGHT_BACKGROUND
    assert w.locator("svg.av").first.evaluate("e => e.getBoundingClientRect().width") > 10
    w.get_by_label("Name").fill("Strict")
    w.get_by_label("Comment", exact=True).fill("Under CSP")
    w.get_by_role("button", name="Post comment").click()
    expect(w.locator("article", has_text="Under CSP")).to_be_visible()
    assert page.evaluate("window.__csp") == []
    assert page.errors == []


def test_narrow_screen_keeps_the_widget_within_the_viewport(live_server, host_page, page):
    page.set_viewport_size({"width": 320, "height": 640})
    specs = [{"author": "Deep", "text": "x" * 40, "parent": n - 1 if n else None} for n in range(8)]
    w, _ = load(live_server, host_page, page, specs=specs)
    expect(w.locator("h2")).to_have_text("8 comments")
    widest = w.locator("section").evaluate(
        "e => Math.max(...[...e.querySelectorAll('*')].map(x => x.getBoundingClientRect().right))")
    assert widest <= 320


def test_axe_finds_no_serious_or_critical_violation(live_server, host_page, page):
    w, ids = load(live_server, host_page, page)
    expect(w.locator("h2")).to_have_text("3 comments")
    w.locator(f"#comment-{ids[0]}").get_by_role("button", name="Reply").click()
    w.get_by_role("button", name="Post comment").first.click()
    expect(w.locator("[aria-invalid=true]").first).to_be_visible()
    for theme in ("light", "dark"):
        page.emulate_media(color_scheme=theme)
        results = Axe().run(page, context="#causerie")
        bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
               for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
        assert bad == [], theme
