"""The server-rendered thread: approved comments as an HTML fragment.

``GET /embed/thread?site=KEY&url=URL`` (or ``&thread=KEY``) answers the same
comments, in the same order and with the same sanitized HTML as the API, as
a fragment to include in the page itself: by a server-side or edge include,
or by a static-site build (``causerie render``).  Readers without
JavaScript, feed readers and search engines then read the discussion; the
widget, when it runs, takes the ``#causerie`` element holding it over.
Each comment carries schema.org ``Comment`` microdata.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from babel import Locale
from babel.dates import format_date
from flask import Blueprint, Response, render_template, request

from . import read_limits, strings, threads
from .api import allow_origins, cors_headers
from .errors import APIError

bp = Blueprint("embed", __name__, url_prefix="/embed")
bp.after_request(cors_headers)

# Replies deeper than this stay at this depth, saying whom they answer: the widget's rule.
MAX_DEPTH = 3
SORTS = ("oldest", "newest")
# Part of the ETag: a change of the fragment's markup must not be answered with a 304.
FORMAT_VERSION = "1"


@dataclass
class Node:
    """One comment of the fragment, with the replies shown inside it."""

    comment: dict
    replying_to: str | None = None
    replies: list[Node] = field(default_factory=list)


def tree(comments: list[dict], newest_first: bool = False) -> list[Node]:
    """The thread's comments, given in display order (replies after their
    parent), nested as the widget nests them: up to ``MAX_DEPTH`` levels,
    deeper replies beside their parent.  Built without recursion, so a reply
    chain of any depth is safe; ``newest_first`` reverses the top-level
    comments that are not pinned (replies keep their order)."""
    nodes: dict[int, Node] = {}
    depth: dict[int, int] = {}
    # Where a comment's replies go: inside it, or beside it below MAX_DEPTH.
    boxes: dict[int, list[Node]] = {}
    roots: list[Node] = []
    for comment in comments:
        node = nodes[comment["id"]] = Node(comment)
        parent = comment["parent_id"] if comment["parent_id"] in nodes else None
        if parent is None:
            depth[comment["id"]] = 0
            roots.append(node)
            boxes[comment["id"]] = node.replies
            continue
        depth[comment["id"]] = depth[parent] + 1
        if depth[comment["id"]] > MAX_DEPTH:
            node.replying_to = nodes[parent].comment["author"]
        boxes[parent].append(node)
        boxes[comment["id"]] = node.replies if depth[comment["id"]] < MAX_DEPTH else boxes[parent]
    if newest_first:
        pinned = [node for node in roots if node.comment["pinned"]]
        roots = pinned + [node for node in reversed(roots) if not node.comment["pinned"]]
    return roots


class Words:
    """The widget's words in one language, with its plural rule and dates."""

    def __init__(self, code: str):
        self.code = code
        self.table = strings.tables()[code]
        self.locale = Locale.parse(code)

    def __getitem__(self, key: str) -> str:
        return self.table[key]

    def count(self, number: int) -> str:
        """``3 comments``, in this language's plural form."""
        forms = self.table["n"]
        return forms.get(self.locale.plural_form(number), forms["other"]).replace("{0}", str(number))

    def replying_to(self, author: str | None) -> str:
        """``replying to NAME``."""
        return self.table["to"].replace("{0}", author or self.table["anon"])

    def date(self, iso: str) -> str:
        """A comment's day as people in this language write it (UTC)."""
        return format_date(datetime.fromisoformat(iso.rstrip("Z")), "long", locale=self.locale)


@dataclass
class Fragment:
    """One page's thread, to be rendered in one language and order."""

    ref: threads.ThreadRef
    lang: str
    newest_first: bool

    @property
    def etag(self) -> str:
        """Strong validator (unquoted): the thread's version, the words' and the order."""
        order = "n" if self.newest_first else "o"
        return f"{self.ref.etag}-e{FORMAT_VERSION}-{order}{strings.tag(self.lang)}"

    def html(self) -> str:
        """The fragment itself."""
        body = json.loads(threads.thread_body(self.ref))
        # The version is the ETag the API gives the widget for this thread and
        # language: the widget that took the fragment over need not draw it again.
        return render_template("embed/thread.html", thread=body["thread"], words=Words(self.lang),
                               roots=tree(body["comments"], self.newest_first),
                               version=f'"{self.ref.etag}{strings.tag(self.lang)}"')


def fragment(site: str | None, url: str | None, key: str | None = None, lang: str | None = None,
             sort: str | None = None) -> Fragment:
    """Find one page's thread for the fragment (one query; nothing rendered yet).

    ``lang`` picks the words (any language of the widget, English otherwise)
    and ``sort`` the order of the top-level comments (``oldest``, the
    default, or ``newest``), as the page's script tag does for the widget.
    """
    if sort not in (None, "", *SORTS):
        raise APIError(400, "invalid", "The order is oldest or newest.", {"sort": "Choose oldest or newest."})
    ref = threads.lookup(site, url, key)
    return Fragment(ref, strings.language(lang) or strings.SOURCE, sort == "newest")


@bp.errorhandler(APIError)
def _refused(exc: APIError):
    # The fragment is pasted into a page as it comes: say what went wrong in
    # an HTML comment a site owner can read, never in the page's text.
    message = exc.message.replace("--", "- -")
    response = Response(f"<!-- Causerie: {exc.code}: {message} -->\n", status=exc.status,
                        mimetype="text/html")
    response.headers.update(exc.headers)
    if exc.origins is not None:
        allow_origins(exc.origins)
    return response


@bp.get("/thread")
@read_limits.limited
def thread():
    """The server-rendered thread, with an ETag and CORS like the API."""
    args = request.args
    found = fragment(args.get("site"), args.get("url"), args.get("thread"), args.get("lang"), args.get("sort"))
    allow_origins(found.ref.origins)
    etag = found.etag
    headers = {"ETag": f'"{etag}"', "Cache-Control": "no-cache"}
    if request.if_none_match.contains(etag):
        return Response(status=304, headers=headers)
    return Response(found.html(), mimetype="text/html", headers=headers)
