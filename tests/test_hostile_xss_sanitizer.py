"""Every XSS vector of the corpus, through the renderer and the import cleaner.

The browser tests (``tests/browser/test_xss_*.py``) prove a third of the
corpus runs nothing in Chromium; ``tests/test_sanitize.py`` renders every
vector as it is; this puts all 3,295 vectors where Markdown builds links
itself (link targets, link texts, autolinks, reference definitions) and
checks that what is stored is made only of the tags and attributes a
comment may have, with links only to http, https and mailto.
The allowlist is written here again on purpose, so that widening the
service's allowlist is a decision this test makes visible.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from service import sanitize

VECTORS = [line for line in (Path(__file__).parent / "data" / "xss_payloads.txt").read_text("utf-8").splitlines()
           if line.strip()]
TAGS = {"p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a", "s", "del"}
ATTRIBUTES = {"a": {"href", "title", "rel"}, "ol": {"start"}}
SAFE_URL = re.compile(r"(https?://|mailto:)", re.IGNORECASE)
# What a browser ignores inside a URL scheme ("java\tscript:" is "javascript:").
URL_NOISE = re.compile(r"[\x00-\x20\x7f]")


class Inspector(HTMLParser):
    """Collects everything in an HTML fragment that a comment must not contain."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in TAGS:
            self.problems.append(f"tag <{tag}>")
        for name, value in attrs:
            if name not in ATTRIBUTES.get(tag, set()):
                self.problems.append(f"attribute {name} on <{tag}>")
            elif name == "href" and not SAFE_URL.match(URL_NOISE.sub("", value or "")):
                self.problems.append(f"href {value!r}")
        if tag == "a" and "nofollow" not in (dict(attrs).get("rel") or ""):
            self.problems.append("link without rel=nofollow")

    handle_startendtag = handle_starttag

    def handle_comment(self, data):
        self.problems.append("HTML comment")

    def handle_pi(self, data):
        self.problems.append("processing instruction")

    def unknown_decl(self, data):
        self.problems.append(f"declaration {data!r}")


def problems(html: str) -> list[str]:
    inspector = Inspector()
    inspector.feed(html)
    inspector.close()
    return inspector.problems


def test_the_corpus_is_the_one_documented():
    assert len(VECTORS) >= 3000


@pytest.mark.slow
def test_no_vector_of_the_corpus_survives_as_a_markdown_link_or_autolink():
    # The plain vectors go through render() and clean_html() in tests/test_sanitize.py;
    # here each one is where the Markdown renderer builds an attribute or a link itself.
    failures = {}
    for vector in VECTORS:
        for variant in (f"[click]({vector})", f"[{vector}](https://example.org/)", f"<{vector}>",
                        f"[ref]\n\n[ref]: {vector}"):
            found = problems(sanitize.render(variant))
            if found:
                failures[variant] = found
    assert failures == {}, f"{len(failures)} vectors survived, e.g. {list(failures.items())[:3]}"


def test_markdown_link_schemes_other_than_http_and_mail_are_dropped():
    for target in ("javascript:alert(1)", "JaVaScRiPt:alert(1)", "java\tscript:alert(1)", "vbscript:msgbox(1)",
                   "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "&#106;avascript:alert(1)",
                   "%6Aavascript:alert(1)", "//evil.example/x", "file:///etc/passwd"):
        html = sanitize.render(f"[x]({target}) <{target}>")
        assert "href" not in html or "https://" in html.split("href", 1)[1][:12], (target, html)
        assert problems(html) == [], (target, html)
