"""Who may call what: every route of the service, and the people it answers.

``tests/test_access_table.py`` checks the whole URL map against this table:
a route that is not listed here fails the suite, and every listed route is
called as each kind of caller to prove the rule holds.  Adding a route means
adding its line here, which is the moment to decide who may call it.

The callers, from the least to the most trusted:

``ANYONE``
    Any client, signed in or not, from any origin (public reads, assets,
    the sign-in form itself; rate limits still apply).
``SITE_ORIGIN``
    A page of the site the request names: the browser's ``Origin`` must be one
    of the site's origins, or the write is refused with 403.
``AUTHOR``
    Whoever holds the comment's edit token (``Authorization: Bearer``); writes
    must also come from the site's origin.
``MODERATOR``
    Any signed-in moderator; the page only ever shows the sites they moderate.
``SITE_MODERATOR``
    A signed-in moderator of the site the addressed comment or thread belongs
    to (or an admin); other moderators get 404, as if it did not exist.
``ADMIN``
    A signed-in administrator.
``SIGNED_LINK``
    Whoever holds a link signed with the secret key (emails): forged or
    altered tokens get 404, expired or spent ones 410.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ANYONE = "anyone"
SITE_ORIGIN = "site origin"
AUTHOR = "comment author (edit token)"
MODERATOR = "signed-in moderator (own sites only)"
SITE_MODERATOR = "signed-in moderator of that site"
ADMIN = "admin"
SIGNED_LINK = "signed link"


@dataclass(frozen=True)
class Rule:
    """Who may call one endpoint, and why."""

    who: str
    why: str


TABLE: dict[str, Rule] = {
    # The widget's public API.
    "api.read_thread": Rule(ANYONE, "approved comments are public; CORS limits which pages may read them"),
    "api.read_counts": Rule(ANYONE, "counts of approved comments are public"),
    "api.openapi": Rule(ANYONE, "the public contract"),
    "api.create_comment": Rule(SITE_ORIGIN, "only the site's pages post into its threads"),
    "api.report_comment": Rule(SITE_ORIGIN, "only the site's readers report its comments"),
    "api.own_comment": Rule(AUTHOR, "a pending comment is shown to its author only"),
    "api.edit_comment": Rule(AUTHOR, "only the author edits, from the site's pages"),
    "api.delete_comment": Rule(AUTHOR, "only the author deletes, from the site's pages"),
    # Atom feeds of approved comments.
    "feeds.site_atom": Rule(ANYONE, "approved comments are public"),
    "feeds.thread_atom": Rule(ANYONE, "approved comments are public"),
    # The server-rendered thread, for includes and static builds.
    "embed.thread": Rule(ANYONE, "approved comments are public; CORS limits which pages may read them"),
    # Service endpoints and assets.
    "health.healthz": Rule(ANYONE, "load balancers and monitors"),
    "widget.script": Rule(ANYONE, "the embeddable script"),
    "static": Rule(ANYONE, "public assets (the OpenAPI file, demo and moderation assets)"),
    "demo.article_fr": Rule(ANYONE, "the demo article"),
    "demo.article_en": Rule(ANYONE, "the demo article"),
    "demo.static": Rule(ANYONE, "the demo's assets"),
    # The moderation workspace.
    "moderation.static": Rule(ANYONE, "stylesheet and script of the moderation pages"),
    "moderation.login": Rule(ANYONE, "the sign-in form (rate-limited against brute force)"),
    "moderation.logout": Rule(ANYONE, "ends the caller's own session; CSRF-protected"),
    "moderation.account": Rule(MODERATOR, "the moderator's own account: changing their own password"),
    "moderation.end_other_sessions": Rule(MODERATOR, "signs the caller's own account out of its other browsers"),
    "moderation.queue_view": Rule(MODERATOR, "the queue of the moderator's sites"),
    "moderation.audit_view": Rule(MODERATOR, "the audit log of the moderator's sites"),
    "moderation.stats_view": Rule(MODERATOR, "statistics of the moderator's sites"),
    "moderation.stats_csv": Rule(MODERATOR, "statistics of the moderator's sites"),
    "moderation.comment_view": Rule(SITE_MODERATOR, "a comment, its email and history"),
    "moderation.act": Rule(SITE_MODERATOR, "approve, reject, spam, delete, pin"),
    "moderation.bulk": Rule(SITE_MODERATOR, "an action on several comments, all of the moderator's sites"),
    "moderation.edit": Rule(SITE_MODERATOR, "staff edit of a comment"),
    "moderation.reply": Rule(SITE_MODERATOR, "staff reply, with the staff badge"),
    "moderation.ban": Rule(SITE_MODERATOR, "ban a commenter from the site"),
    "moderation.unban": Rule(SITE_MODERATOR, "lift a ban"),
    "moderation.lock": Rule(SITE_MODERATOR, "lock or unlock a thread"),
    "moderation.sites_view": Rule(ADMIN, "the list of sites"),
    "moderation.site_settings": Rule(ADMIN, "a site's settings: origins, words, notifications"),
    "moderation.site_data": Rule(ADMIN, "a site's import form and backup download"),
    "moderation.site_import": Rule(ADMIN, "import comments into a site from an uploaded file"),
    "moderation.site_export": Rule(ADMIN, "a site's whole backup, commenters' emails included"),
    "moderation.one_click": Rule(SIGNED_LINK, "approve/reject/spam from an email, once"),
    "moderation.confirm_replies": Rule(SIGNED_LINK, "say yes to reply notifications from an email"),
    "moderation.unsubscribe": Rule(SIGNED_LINK, "stop reply notifications from an email"),
}

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"'
                   r'|name="csrf-token"[^>]*content="([^"]+)"')


def csrf_token(client, path: str = "/moderate/login") -> str:
    """A CSRF token valid for ``client``'s current session, read from a page."""
    html = client.get(path).get_data(as_text=True)
    match = _CSRF.search(html)
    assert match, f"no CSRF token on {path}"
    return next(group for group in match.groups() if group)


def sign_in(client, email: str, password: str):
    """Sign in through the real form; returns the response (303 on success)."""
    token = csrf_token(client)
    return client.post("/moderate/login", data={"email": email, "password": password, "csrf_token": token})


def is_login_redirect(response) -> bool:
    """Whether ``response`` sends the caller to the sign-in page."""
    return response.status_code in (302, 303) and "/moderate/login" in response.headers.get("Location", "")
