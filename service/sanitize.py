"""Markdown to safe HTML, once, at write time.

markdown-it-py renders with raw HTML switched off, then bleach cleans the
result against an explicit allowlist and turns bare URLs into links.  Even if
the Markdown renderer had a bug, nothing outside the allowlist survives the
second step.

Most comments need no cleaning: markdown-it's output is then allowlisted
tags without attributes around escaped text, with no bare URL in it, and
that is exactly what bleach would give back.  Such output is recognised by
two regular expressions and kept as it is, without bleach's parse and
serialization (eight times the Markdown's cost; a post runs an eighth
fewer instructions without it).
Anything else, a written link, a code block's class, a bare URL, or any
character not known to survive bleach unchanged, goes through bleach.

Bare URLs are found by linkify-it-py (markdown-it-py's own link finder),
which scans a text in linear time; bleach's built-in URL pattern backtracks
quadratically on runs of parentheses (10,000 characters cost seconds).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, MutableMapping
from functools import partial
from re import Pattern
from typing import Any, cast

import bleach
from bleach.linkifier import LinkifyFilter
from linkify_it import LinkifyIt
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


def _link_attributes(attrs: MutableMapping[tuple[str | None, str], str],
                     new: bool = False) -> MutableMapping[tuple[str | None, str], str] | None:
    """Every link, written or linkified, gets the same rel and no target."""
    href_key = (None, "href")
    href = attrs.get(href_key, "")
    if not href.lower().startswith(("http://", "https://", "mailto:")):
        return None  # drop the link, keep its text
    attrs[(None, "rel")] = LINK_REL
    attrs.pop((None, "target"), None)
    return attrs


class _Found:
    """One link found in a text, shaped like the ``re.Match`` that bleach's linkifier reads."""

    __slots__ = ("_start", "_end", "_text")

    def __init__(self, text: str, start: int, end: int):
        self._start, self._end, self._text = start, end, text[start:end]

    def start(self) -> int:
        """Where the link begins in the text."""
        return self._start

    def end(self) -> int:
        """Where the link ends in the text."""
        return self._end

    def group(self, _index: int = 0) -> str:
        """The link as written."""
        return self._text


class LinkFinder:
    """Bare URLs in a text, in linear time, for bleach's ``LinkifyFilter(url_re=...)``.

    Only http(s) and mailto links, written with their scheme or as a bare host
    name (``example.org/page``); emails without ``mailto:`` stay text, as they did.
    """

    def __init__(self) -> None:
        self.linkify = LinkifyIt(options={"fuzzy_email": False}).add("//", None).add("ftp:", None)

    def finditer(self, text: str) -> Iterator[_Found]:
        """Yield each link of ``text`` in order, like ``re.Pattern.finditer``."""
        # test() is the library's quick answer: a sixth of match()'s cost on a
        # text without links, which most pieces of a comment are.
        if not self.linkify.test(text):
            return
        for match in self.linkify.match(text) or ():
            yield _Found(text, match.index, match.last_index)


link_finder = LinkFinder()

_cleaner = bleach.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    protocols=ALLOWED_PROTOCOLS,
    strip=True,
    strip_comments=True,
    # bleach calls only finditer on url_re, and a callback may return None
    # to drop the link (bleach's stubs know neither).
    filters=[partial(LinkifyFilter, callbacks=[cast("Any", _link_attributes)], skip_tags={"pre", "code"},
                     parse_email=False, url_re=cast("Pattern[str]", link_finder))],
)


# The tags markdown-it writes without attributes, all of them allowlisted
# (its line break in XHTML form, which bleach writes as <br>).
_BARE_TAG = re.compile(r"</?(?:p|em|strong|code|pre|blockquote|ul|ol|li|s|del)>|<br />")
# Text between them that bleach gives back unchanged: markdown-it's four
# escapes, and no other markup or entity.  An escaped & that a name or # follows
# is left to bleach, which writes it back as the entity it spells; control
# characters other than the line feed too (the HTML parser replaces some).
_PLAIN_TEXT = re.compile(r"(?:[^<>&\x00-\x09\x0b-\x1f\x7f-\x9f]|&(?:amp;(?![#\w])|lt;|gt;|quot;))*")
_ESCAPE = re.compile(r"&(?:amp|lt|gt|quot);")


def _needs_no_cleaning(rendered: str) -> str | None:
    """``rendered`` as bleach would clean it, when it is made of
    :data:`_BARE_TAG` tags around plain text without a link to find (see the
    module's docstring); None when bleach must see it."""
    for piece in _BARE_TAG.split(rendered):
        if not _PLAIN_TEXT.fullmatch(piece):
            return None
        # bleach looks for links between a text's entities; looking in the
        # decoded text as well only sends more texts to bleach.
        parts = [*_ESCAPE.split(piece), html.unescape(piece)] if "&" in piece else [piece]
        if any(map(link_finder.linkify.test, parts)):
            return None
    return rendered.replace("<br />", "<br>")


def render(text: str) -> str:
    """Render reader Markdown to sanitized HTML."""
    rendered = _markdown.render(text)
    clean = _needs_no_cleaning(rendered)
    return (_cleaner.clean(rendered) if clean is None else clean).strip()


def clean_html(html: str) -> str:
    """Sanitize HTML that arrives as HTML (imports), with the same allowlist."""
    return _cleaner.clean(html).strip()
