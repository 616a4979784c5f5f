"""Disqus XML exports (Admin > Tools > Export).

The document is ``<disqus xmlns="http://disqus.com">`` with ``<category>``,
``<thread dsq:id>`` (link, title, createdAt, isClosed, isDeleted) and
``<post dsq:id>`` elements (message as HTML, createdAt, isDeleted, isSpam,
author name and email, ipAddress, ``<thread dsq:id>`` and an optional
``<parent dsq:id>``).  Posts may come before the post they reply to.

Status: spam -> ``spam``, deleted -> ``deleted`` (a placeholder keeps its
replies' place), ``isApproved`` false (some exports) -> ``pending``, else
``approved``.  ``isHighlighted`` (featured) -> pinned.
"""

from __future__ import annotations

from html import unescape
from typing import IO
from xml.etree.ElementTree import Element

from ..choices import Status
from ..limits import MAX_STORED_AUTHOR, MAX_TITLE
from . import xmlfile
from .source import (
    HTML,
    CountingReader,
    ImportFileError,
    Progress,
    Source,
    SourceComment,
    SourceThread,
    clean_email,
    clean_line,
    clean_website,
    parse_iso,
)
from .xmlfile import flag, local, text_of

DSQ = "{http://disqus.com/disqus-internals}id"
REF_PREFIX = "disqus:"


def _check_root(root: Element) -> None:
    if local(root.tag) != "disqus":
        raise ImportFileError(
            f"This is not a Disqus export: its root element is <{local(root.tag)}>, not <disqus>."
        )


def _child(elem: Element, name: str) -> Element | None:
    for child in elem:
        if local(child.tag) == name:
            return child
    return None


def _text(elem: Element, name: str) -> str:
    return text_of(_child(elem, name))


def _ref_of(elem: Element, name: str) -> str | None:
    child = _child(elem, name)
    if child is None:
        return None
    return child.get(DSQ) or None


def read(stream: IO[bytes], progress: Progress | None = None) -> Source:
    """Read a Disqus export into a :class:`Source`."""
    source = Source("disqus")
    deleted_threads: set[str] = set()
    for elem in xmlfile.elements(CountingReader(stream, progress), 1, _check_root):
        kind = local(elem.tag)
        if kind == "thread":
            ref = elem.get(DSQ)
            if not ref:
                source.skipped["thread without a dsq:id"] += 1
                continue
            if flag(_child(elem, "isDeleted")):
                deleted_threads.add(ref)
                continue
            source.add_thread(ref, SourceThread(
                ref=ref,
                url=_text(elem, "link"),
                title=clean_line(unescape(_text(elem, "title")), MAX_TITLE) or None,
                locked=flag(_child(elem, "isClosed")),
                created_at=parse_iso(_text(elem, "createdAt")),
            ))
        elif kind == "post":
            comment = _post(elem)
            if comment is None:
                source.skipped["post without a dsq:id or thread"] += 1
            elif comment.thread_ref in deleted_threads:
                source.skipped["thread deleted in Disqus"] += 1
            else:
                source.add_comment(comment)
    return source


def _post(elem: Element) -> SourceComment | None:
    ref = elem.get(DSQ)
    thread_ref = _ref_of(elem, "thread")
    if not ref or not thread_ref:
        return None
    author = _child(elem, "author")
    name = email = website = None
    if author is not None:
        name = _text(author, "name") or _text(author, "username")
        email = _text(author, "email")
        website = _text(author, "link") or _text(author, "url")
    approved = _child(elem, "isApproved")
    if flag(_child(elem, "isSpam")):
        status = Status.SPAM
    elif flag(_child(elem, "isDeleted")):
        status = Status.DELETED
    elif approved is not None and not flag(approved):
        status = Status.PENDING
    else:
        status = Status.APPROVED
    message = _child(elem, "message")
    return SourceComment(
        ref=REF_PREFIX + ref,
        thread_ref=thread_ref,
        parent_ref=(REF_PREFIX + parent) if (parent := _ref_of(elem, "parent")) else None,
        author=clean_line(name, MAX_STORED_AUTHOR),
        email=clean_email(email),
        website=clean_website(website),
        body=(message.text or "") if message is not None else "",
        body_format=HTML,
        status=status,
        created_at=parse_iso(_text(elem, "createdAt")),
        ip_address=_text(elem, "ipAddress") or None,
        pinned=flag(_child(elem, "isHighlighted")),
    )
