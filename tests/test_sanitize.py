"""The sanitizer: Markdown in, allowlisted HTML out, whatever a reader types."""

import csv
import json
from html.parser import HTMLParser
from pathlib import Path
from unittest import mock

import bleach
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service import sanitize
from service.sanitize import clean_html, render

DATA = Path(__file__).parent / "data"
SAFE_SCHEMES = ("http://", "https://", "mailto:")
# Written out here rather than imported from the service, so that widening the
# service's allowlist fails these tests until it is widened here on purpose.
TAGS = {"p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a", "s", "del"}
ATTRIBUTES = {"href", "title", "rel", "start"}


class _Audit(HTMLParser):
    """Collects every tag and attribute of a fragment."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.attrs = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend((tag, name, value or "") for name, value in attrs)


def assert_safe(html: str) -> None:
    audit = _Audit()
    audit.feed(html)
    assert set(audit.tags) <= TAGS, html
    for _tag, name, value in audit.attrs:
        assert not name.startswith("on"), html
        assert name in ATTRIBUTES, html
        if name == "href":
            assert value.lower().startswith(SAFE_SCHEMES), html


def xss_vectors():
    return [line for line in (DATA / "xss_payloads.txt").read_text(encoding="utf-8").splitlines() if line.strip()]


def test_every_corpus_vector_renders_to_allowlisted_html():
    vectors = xss_vectors()
    assert len(vectors) > 3000
    for vector in vectors:
        assert_safe(render(vector))
        assert_safe(clean_html(vector))


@pytest.mark.parametrize("text", [
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    "<javascript:alert(1)>",
    "[[a](javascript:alert(1))](https://ok.example)",
    "[a]: javascript:alert(1)\n\n[a]",
    "![x](javascript:alert(1))",
    '<svg onload="alert(1)">',
    "<style>body{display:none}</style>",
    '<a href="http://x" onclick="alert(1)">x</a>',
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<scr<script>ipt>alert(1)</script>",
])
def test_link_and_markup_tricks_leave_nothing_executable(text):
    assert_safe(render(text))


def test_javascript_link_is_not_a_link():
    assert "<a" not in render("[x](javascript:alert(1))")


def test_raw_html_is_shown_as_text():
    assert render("<b>bold</b>") == "<p>&lt;b&gt;bold&lt;/b&gt;</p>"


def test_markdown_basics_are_kept():
    html = render("*em* **strong** `code` ~~gone~~\n\n> quoted\n\n- one\n- two")
    for tag in ("<em>", "<strong>", "<code>", "<s>", "<blockquote>", "<ul>", "<li>"):
        assert tag in html


def test_bare_urls_become_links_with_rel():
    html = render("see https://example.org/page")
    assert '<a href="https://example.org/page" rel="nofollow ugc noopener">' in html


def test_written_links_get_the_same_rel():
    assert 'rel="nofollow ugc noopener"' in render("[site](https://example.org)")


def test_a_written_link_to_another_scheme_keeps_its_text_only():
    assert render("get [the files](ftp://files.example/x) here") == "<p>get the files here</p>"


def test_a_url_written_as_a_links_text_is_not_linked_again():
    html = render("[https://example.org/a](https://example.org/b)")
    assert html.count("<a ") == 1 and 'href="https://example.org/b"' in html


def test_images_are_not_rendered():
    assert "<img" not in render("![pic](https://tracker.example/pixel.png)")


def test_line_breaks_are_kept():
    assert "<br" in render("line one\nline two")


def test_french_typography_survives():
    text = "« C’est l’été » — déjà 🎉"
    assert text in render(text)


def test_code_blocks_are_not_linkified():
    assert "<a" not in render("```\nhttps://example.org\n```")


HOSTILE_LINK_TEXTS = {
    "parentheses after a link": lambda n: "http://a.b/" + "(" * n,
    "parentheses before a link": lambda n: "(" * n + "http://a.example",
    "dotted run": lambda n: "http://" + "a." * (n // 2),
    "many links": lambda n: "a.example, " * (n // 11),
    "repeated schemes": lambda n: "mailto:" * (n // 7),
}


class _ScanCounter:
    """Counts the characters the link finder's scanners are handed, pass by pass."""

    def __init__(self, monkeypatch):
        from service.sanitize import link_finder

        self.characters = 0
        # The quick test and the full match both scan the text.
        for name in ("test", "match"):
            monkeypatch.setattr(link_finder.linkify, name, self._counting(getattr(link_finder.linkify, name)))

    def _counting(self, scan):
        def counting(text):
            self.characters += len(text)
            return scan(text)

        return counting

    def work(self, text: str) -> int:
        self.characters = 0
        render(text)
        clean_html(text)
        return self.characters


@pytest.mark.parametrize("shape", sorted(HOSTILE_LINK_TEXTS))
def test_linkify_work_grows_linearly_with_hostile_text(monkeypatch, shape):
    counter = _ScanCounter(monkeypatch)
    make = HOSTILE_LINK_TEXTS[shape]
    small, large = counter.work(make(1_250)), counter.work(make(10_000))
    assert small > 0 and large <= 9 * small  # eight times the text, at most eight times the work


def test_link_before_a_run_of_parentheses_is_linked_and_the_rest_kept_as_text():
    html = render("http://a.b/" + "(" * 5_000)
    assert html.startswith('<p><a href="http://a.b/" rel="nofollow ugc noopener">http://a.b/</a>(((')
    assert html.count("(") == 5_000


def test_bare_host_names_and_mailto_links_are_linked_but_bare_emails_are_not():
    assert '<a href="http://example.org/page" rel="nofollow ugc noopener">example.org/page</a>' in render(
        "see example.org/page")
    assert '<a href="mailto:me@example.org" rel="nofollow ugc noopener">' in render("mailto:me@example.org")
    assert "<a" not in render("write to me@example.org") and "<a" not in render("ftp://files.example/x")


def test_links_in_imported_html_are_linkified_with_rel():
    assert clean_html("<p>see https://example.org/a</p>") == (
        '<p>see <a href="https://example.org/a" rel="nofollow ugc noopener">https://example.org/a</a></p>')


def _corpus_texts() -> list[str]:
    """Every text the test data holds: hostile lists, real spam and the blog's stream."""
    spam = Path(__file__).resolve().parent.parent / "service" / "spam" / "data" / "youtube_spam.csv"
    texts = xss_vectors() + json.loads((DATA / "naughty_strings.json").read_text("utf-8"))
    for corpus in (spam, DATA / "spam" / "blog_stream.csv"):
        with corpus.open(encoding="utf-8", newline="") as handle:
            texts += [row["text"] for row in csv.DictReader(handle)]
    return texts + [
        "« C’est l’été » — déjà 🎉\nNouvelle ligne, *accent* **fort**, ~~barré~~, `code`",
        "> cité\n\n- un\n- deux\n\n1. premier\n2. second\n\n3. trois",
        'Des "guillemets" & des <chevrons> & &amp; &copy; &#x27; &unknown; \\*',
        "```\ncode block\n```\n\n    indented code\n\ttab",
        "exa\\.mple\\.org and http\\://example.org and example&#46;org",
        "line\u2028sep\u2029para\x0cform\x00nul\ufffe\U0001fffe\x85next",
    ]


def test_texts_left_out_of_bleach_render_exactly_as_bleach_would_render_them(monkeypatch):
    texts = _corpus_texts()
    fast = [render(text) for text in texts]
    monkeypatch.setattr(sanitize, "_needs_no_cleaning", lambda _rendered: None)
    assert [render(text) for text in texts] == fast


# What a text is built of in the generated comments below: Markdown's and
# HTML's own characters, entities named or numbered, link beginnings, and
# characters the HTML parser replaces or a line may break at.
_PIECES = [
    "a", "é", "«\u00a0", "’", "🎉", " ", "\n", "\n\n", "\t", "    ", "*", "**", "_", "`", "```", "~~", "---", "#",
    "&", "&amp;", "&amp", "amp;", "&copy;", "&copy", "copy", "&#", "&#39", "&#x27;", "&lt;", ";", "<", ">", '"', "'",
    "\\", "> ", "- ", "1. ", "2) ", "[", "]", "(", ")", "http://", "www.", "example.org", ".", ":", "/", "@",
    "mailto:", "javascript:", "<b>", "<!--", "\x0b", "\x00", "\x85", "\u2028", "\ufffe",
]


@given(st.lists(st.sampled_from(_PIECES), max_size=30).map("".join) | st.text(max_size=60))
@settings(max_examples=600, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
def test_generated_texts_left_out_of_bleach_render_exactly_as_bleach_would_render_them(text):
    fast = render(text)
    with mock.patch("service.sanitize._needs_no_cleaning", lambda _rendered: None):
        assert render(text) == fast


def _bleach_calls(monkeypatch) -> list[str]:
    """Record every HTML bleach is given to clean (and still clean it)."""
    calls: list[str] = []
    clean = bleach.Cleaner.clean

    def recording(cleaner, html):
        calls.append(html)
        return clean(cleaner, html)

    monkeypatch.setattr(bleach.Cleaner, "clean", recording)
    return calls


def test_most_comments_of_the_corpora_are_left_out_of_bleach(monkeypatch):
    texts = _corpus_texts()
    calls = _bleach_calls(monkeypatch)
    for text in texts:
        render(text)
    assert len(calls) < len(texts) // 4


@pytest.mark.parametrize("text", [
    "[x](https://example.org)", "see example.org", "```python\nx\n```", "a\x0bb", "\\&copy;", "2. second",
])
def test_links_classes_and_unusual_characters_go_through_bleach(monkeypatch, text):
    calls = _bleach_calls(monkeypatch)
    render(text)
    assert calls
