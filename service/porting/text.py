"""Bodies from other systems, made into Causerie's text and safe HTML.

A comment keeps two forms: ``text`` (the Markdown a moderator sees and edits,
and what duplicate detection fingerprints) and ``html`` (what readers get).
Sources that store HTML keep their formatting through the sanitizer's
allowlist; their ``text`` is a Markdown rendering of that HTML, so editing an
imported comment later does not lose its links or emphasis.
"""

from __future__ import annotations

import html as htmllib
import multiprocessing
import os
import re
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from html.parser import HTMLParser

from .. import sanitize
from .source import HTML, MARKDOWN, WP_HTML

HTML_CLEAN = "html-clean"  # HTML already ours (a Causerie export): cleaned again, text kept as it was

_BLOCK_TAGS = re.compile(r"<\s*/?\s*(p|div|blockquote|pre|ul|ol|li|table|h[1-6])\b", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n\s*\n")
# Only for fidelity; the sanitizer that runs afterwards is what makes it safe.
_INVISIBLE = re.compile(r"<(script|style|template|iframe|object)\b.*?(</\1\s*>|\Z)", re.IGNORECASE | re.DOTALL)
_SYNONYMS = [(re.compile(rf"<(/?){old}\b", re.IGNORECASE), rf"<\1{new}")
             for old, new in (("b", "strong"), ("i", "em"), ("strike", "s"))]


# Sanitizing is most of an import's time; big imports spread it over the CPUs.
PARALLEL_FROM = 5000
# Inline HTML and the Markdown that opens and closes it (code only outside <pre>).
INLINE_MARKS = {"em": "*", "i": "*", "strong": "**", "b": "**", "s": "~~", "del": "~~", "strike": "~~", "code": "`"}
MAX_WORKERS = 8


def render_many(items: list[tuple[str, str]], advance: Callable[[int], None] | None = None, *,
                parallel: bool = False) -> list[tuple[str, str]]:
    """:func:`render` for many ``(body, format)`` pairs, in order; with ``parallel``,
    in worker processes when there are enough of them to pay."""
    workers = min(os.cpu_count() or 1, MAX_WORKERS)
    # Forking is only safe (and cheap: nothing re-imported) from a process with
    # no other threads; the command line is one.  Otherwise, render here.
    if (parallel and len(items) >= PARALLEL_FROM and workers > 1 and threading.active_count() == 1
            and "fork" in multiprocessing.get_all_start_methods()):
        try:
            return _render_in_processes(items, workers, advance)
        except (OSError, BrokenProcessPool):
            pass  # no processes in this environment: render here
    results = []
    for body, body_format in items:
        results.append(render(body, body_format))
        if advance:
            advance(1)
    return results


def _render_pair(item: tuple[str, str]) -> tuple[str, str]:
    return render(*item)


def _render_in_processes(items, workers, advance) -> list[tuple[str, str]]:
    results = []
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        for result in pool.map(_render_pair, items, chunksize=500):
            results.append(result)
            if advance:
                advance(1)
    return results


def render(body: str, body_format: str) -> tuple[str, str]:
    """``(text, html)`` for a body in one of the source formats."""
    if body_format == MARKDOWN:
        return body, sanitize.render(body)
    if body_format == HTML_CLEAN:
        return "", sanitize.clean_html(_allowlist_synonyms(body))
    if body_format == WP_HTML:
        body = autop(body)
    elif body_format != HTML:
        raise ValueError(f"unknown body format {body_format!r}")
    return html_to_markdown(body), sanitize.clean_html(_allowlist_synonyms(body))


def _allowlist_synonyms(fragment: str) -> str:
    """Old markup the allowlist knows by another name (``<b>`` is ``<strong>``), and
    no leftover text from scripts and styles, which stripping their tags would show."""
    fragment = _INVISIBLE.sub("", fragment)
    for pattern, replacement in _SYNONYMS:
        fragment = pattern.sub(replacement, fragment)
    return fragment


def autop(fragment: str) -> str:
    """WordPress stores comments with bare newlines and shows them as paragraphs.

    A blank line starts a new paragraph and a single newline is a line break,
    as WordPress displays it; fragments that already have block markup are
    left alone rather than guessed at.
    """
    fragment = fragment.replace("\r\n", "\n").strip()
    if not fragment or _BLOCK_TAGS.search(fragment):
        return fragment
    paragraphs = [p.strip() for p in _BLANK_LINES.split(fragment) if p.strip()]
    return "".join("<p>" + p.replace("\n", "<br>\n") + "</p>" for p in paragraphs)


class _ToMarkdown(HTMLParser):
    """Just enough HTML to Markdown for comments: paragraphs, breaks, links,
    emphasis, code, quotes and lists.  Unknown tags keep their text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.links: list[str | None] = []
        self.quote = 0
        self.lists: list[list] = []  # [ordered, counter]
        self.pre = 0
        self.skip = 0

    def _newline(self, blank=False):
        prefix = "> " * self.quote
        self.out.append("\n" + (prefix.rstrip() + "\n" if blank else "") + prefix)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in ("p", "div"):
            self._newline(blank=True)
        elif tag == "br":
            self._newline()
        elif tag == "blockquote":
            self.quote += 1
            self._newline(blank=True)
        elif tag in INLINE_MARKS and not (tag == "code" and self.pre):
            self.out.append(INLINE_MARKS[tag])
        elif tag == "pre":
            self.pre += 1
            self._newline(blank=True)
            self.out.append("```")
            self._newline()
        elif tag in ("ul", "ol"):
            self.lists.append([tag == "ol", 0])
            self._newline(blank=True)
        elif tag == "li":
            self._newline()
            if self.lists and self.lists[-1][0]:
                self.lists[-1][1] += 1
                self.out.append(f"{self.lists[-1][1]}. ")
            else:
                self.out.append("- ")
        elif tag == "a":
            href = attrs.get("href") or ""
            keep = href.lower().startswith(("http://", "https://", "mailto:"))
            self.links.append(href if keep else None)
            if keep:
                self.out.append("[")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag in ("p", "div"):
            self._newline(blank=True)
        elif tag == "blockquote":
            self.quote = max(0, self.quote - 1)
            self._newline(blank=True)
        elif tag in INLINE_MARKS and not (tag == "code" and self.pre):
            self.out.append(INLINE_MARKS[tag])
        elif tag == "pre" and self.pre:
            self.pre -= 1
            self._newline()
            self.out.append("```")
            self._newline(blank=True)
        elif tag in ("ul", "ol") and self.lists:
            self.lists.pop()
            self._newline(blank=True)
        elif tag == "a" and self.links:
            href = self.links.pop()
            if href:
                self.out.append(f"]({href.replace(')', '%29').replace(' ', '%20')})")

    def handle_data(self, data):
        if self.skip:
            return
        if not self.pre:
            data = re.sub(r"\s+", " ", data)
            if not self.out or self.out[-1].endswith(("\n", "> ")):
                data = data.lstrip()
        self.out.append(data)

    def text(self) -> str:
        raw = "".join(self.out)
        lines: list[str] = []
        for line in (line.rstrip() for line in raw.split("\n")):
            # Opening and closing quotes and paragraphs leave runs of empty
            # (or only ">") lines: one, the shallowest, is enough.
            if set(line) <= {">", " "} and lines and set(lines[-1]) <= {">", " "}:
                if len(line) < len(lines[-1]):
                    lines[-1] = line
                continue
            lines.append(line)
        return "\n".join(lines).strip()


def html_to_markdown(fragment: str) -> str:
    """A Markdown rendering of an HTML comment, for ``Comment.text``."""
    parser = _ToMarkdown()
    try:
        parser.feed(fragment)
        parser.close()
    except Exception:  # noqa: BLE001 - the parser is lenient; never fail an import on a body
        return htmllib.unescape(re.sub(r"<[^>]*>", " ", fragment)).strip()
    return parser.text()
