"""Markdown to safe HTML, once, at write time.

markdown-it-py renders with raw HTML switched off, then bleach cleans the
result against an explicit allowlist and turns bare URLs into links.  Even if
the Markdown renderer had a bug, nothing outside the allowlist survives the
second step.
"""

from __future__ import annotations

from functools import partial

import bleach
from bleach.linkifier import LinkifyFilter
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {"p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a", "s", "del"}
)
ALLOWED_ATTRIBUTES = {"a": ["href", "title", "rel"], "ol": ["start"]}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow ugc noopener"

# Images would make every reader's browser fetch a third-party URL; headings
# and rules make no sense in a comment.  Their Markdown stays as plain text.
_markdown = (
    MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False})
    .enable("strikethrough")
    .disable(["image", "heading", "lheading", "hr", "html_block", "html_inline"])
)


def _link_attributes(attrs, new=False):
    """Every link, written or linkified, gets the same rel and no target."""
    href_key = (None, "href")
    href = attrs.get(href_key, "")
    if not href.lower().startswith(("http://", "https://", "mailto:")):
        return None  # drop the link, keep its text
    attrs[(None, "rel")] = LINK_REL
    attrs.pop((None, "target"), None)
    return attrs


_cleaner = bleach.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    protocols=ALLOWED_PROTOCOLS,
    strip=True,
    strip_comments=True,
    filters=[partial(LinkifyFilter, callbacks=[_link_attributes], skip_tags={"pre", "code"}, parse_email=False)],
)


def render(text: str) -> str:
    """Render reader Markdown to sanitized HTML."""
    return _cleaner.clean(_markdown.render(text)).strip()


def clean_html(html: str) -> str:
    """Sanitize HTML that arrives as HTML (imports), with the same allowlist."""
    return _cleaner.clean(html).strip()
