"""WordPress eXtended RSS (WXR) exports (Tools > Export), versions 1.0 to 1.2.

An RSS 2.0 document whose ``<item>`` elements are posts and pages (title,
link, ``wp:post_id``, ``wp:post_type``, ``wp:status``,
``wp:comment_status``, ``wp:post_date_gmt``), each with its
``<wp:comment>`` entries: ``comment_id``, ``comment_author``,
``comment_author_email``, ``comment_author_url``, ``comment_author_IP``,
``comment_date_gmt`` (or ``comment_date``), ``comment_content`` (HTML with
bare newlines), ``comment_approved``, ``comment_type``, ``comment_parent``.

Status: ``1`` -> approved, ``0`` -> pending, ``spam`` -> spam, ``trash`` and
``post-trashed`` -> deleted.  Pingbacks and trackbacks are not comments and
are skipped, as are nav menu items and attachments.  A post whose comments
are closed becomes a locked thread.
"""

from __future__ import annotations

from datetime import datetime
from html import unescape
from typing import IO
from xml.etree.ElementTree import Element

from ..choices import Status
from ..limits import MAX_STORED_AUTHOR, MAX_TITLE
from . import xmlfile
from .source import (
    WP_HTML,
    CountingReader,
    ImportFileError,
    Progress,
    Source,
    SourceComment,
    SourceThread,
    clean_email,
    clean_line,
    clean_website,
)
from .xmlfile import local, namespace, text_of

WP_NAMESPACE_PREFIX = "http://wordpress.org/export/"
REF_PREFIX = "wordpress:"
STATUSES = {"1": Status.APPROVED, "approve": Status.APPROVED, "0": Status.PENDING, "hold": Status.PENDING,
            "spam": Status.SPAM, "trash": Status.DELETED, "post-trashed": Status.DELETED}
COMMENT_TYPES = ("", "comment")
SKIPPED_POST_TYPES = ("attachment", "nav_menu_item", "revision", "custom_css", "wp_block", "wp_navigation")


def _check_root(root: Element) -> None:
    if local(root.tag) != "rss":
        raise ImportFileError(
            f"This is not a WordPress export: its root element is <{local(root.tag)}>, not <rss>."
        )


def _fields(elem: Element) -> dict[str, Element]:
    """Children by local name; WXR has no repeated fields we read except comments."""
    return {local(child.tag): child for child in elem}


def _wp_date(fields: dict[str, Element], gmt: str, local_name: str) -> datetime | None:
    for name in (gmt, local_name):
        value = text_of(fields.get(name))
        if value and not value.startswith("0000"):
            try:
                return datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
            except ValueError:
                continue
    return None


def read(stream: IO[bytes], progress: Progress | None = None) -> Source:
    """Read a WXR file into a :class:`Source`."""
    source = Source("wordpress")
    saw_wordpress = False
    for elem in xmlfile.elements(CountingReader(stream, progress), 2, _check_root):
        if namespace(elem.tag).startswith(WP_NAMESPACE_PREFIX):
            saw_wordpress = True
        if local(elem.tag) != "item":
            continue
        fields = _fields(elem)
        if any(namespace(child.tag).startswith(WP_NAMESPACE_PREFIX) for child in elem):
            saw_wordpress = True
        _item(source, elem, fields)
    if not saw_wordpress:
        raise ImportFileError("This is an RSS feed, not a WordPress export: it has no wp: elements.")
    return source


def _item(source: Source, item: Element, fields: dict[str, Element]) -> None:
    comments = [child for child in item if local(child.tag) == "comment"
                and namespace(child.tag).startswith(WP_NAMESPACE_PREFIX)]
    if not comments:
        return
    post_type = text_of(fields.get("post_type"))
    if post_type in SKIPPED_POST_TYPES:
        source.skipped[f"comment on a WordPress {post_type}"] += len(comments)
        return
    ref = text_of(fields.get("post_id")) or text_of(fields.get("guid")) or text_of(fields.get("link"))
    if not ref:
        source.skipped["post without an id or link"] += len(comments)
        return
    source.add_thread(ref, SourceThread(
        ref=ref,
        url=text_of(fields.get("link")),
        # WordPress stores titles and names with HTML entities (&#8217; for ’).
        title=clean_line(unescape(text_of(fields.get("title"))), MAX_TITLE) or None,
        locked=text_of(fields.get("comment_status")) == "closed",
        created_at=_wp_date(fields, "post_date_gmt", "post_date"),
    ))
    for entry in comments:
        _comment(source, ref, _fields(entry))


def _comment(source: Source, thread_ref: str, fields: dict[str, Element]) -> None:
    comment_id = text_of(fields.get("comment_id"))
    if not comment_id:
        source.skipped["comment without a comment_id"] += 1
        return
    kind = text_of(fields.get("comment_type"))
    if kind not in COMMENT_TYPES:
        source.skipped[f"{kind} (not a comment)"] += 1
        return
    approved = text_of(fields.get("comment_approved")).lower()
    parent = text_of(fields.get("comment_parent"))
    content = fields.get("comment_content")
    source.add_comment(SourceComment(
        ref=REF_PREFIX + comment_id,
        thread_ref=thread_ref,
        parent_ref=REF_PREFIX + parent if parent and parent != "0" else None,
        author=clean_line(unescape(text_of(fields.get("comment_author"))), MAX_STORED_AUTHOR),
        email=clean_email(text_of(fields.get("comment_author_email"))),
        website=clean_website(text_of(fields.get("comment_author_url"))),
        body=(content.text or "") if content is not None else "",
        body_format=WP_HTML,
        status=STATUSES.get(approved, Status.PENDING),
        reasons=[] if approved in STATUSES else [f"unknown WordPress status {approved[:40]!r}"],
        created_at=_wp_date(fields, "comment_date_gmt", "comment_date"),
        ip_address=text_of(fields.get("comment_author_IP")) or None,
    ))
