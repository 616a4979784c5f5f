"""The emails about one comment: to moderators when it is held or reported,
to a commenter when someone answered them, and to an address asked whether
it wants such emails.

Each is rendered when it is delivered, not when it is queued, and checks
again that it still has something to say: a comment decided, removed or
unsubscribed from meanwhile sends nothing.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale, gettext

from .. import links, mailer
from ..choices import Status
from ..extensions import db
from ..models import Comment, ModerationEvent, Moderator, Outbox, Site, moderator_sites
from . import outbox, subscriptions


def recipients(site: Site) -> list[str]:
    """Who hears about held comments: the site's addresses, else its moderators."""
    if site.notify_emails:
        return sorted({e.strip().lower() for e in site.notify_emails if e and "@" in e})
    return list(db.session.scalars(
        sa.select(Moderator.email).join(moderator_sites, moderator_sites.c.moderator_id == Moderator.id)
        .where(moderator_sites.c.site_id == site.id).order_by(Moderator.email)
    ))


def parent_to_notify(comment: Comment) -> Comment | None:
    """The parent whose author asked to hear about replies such as this published one."""
    if comment.status != Status.APPROVED or comment.parent_id is None:
        return None
    parent: Comment | None = comment.parent or db.session.get(Comment, comment.parent_id)
    if parent is None or not parent.notify or not parent.email or parent.status != Status.APPROVED:
        return None
    if parent.notify_confirmed_at is None:
        return None  # the address never said yes (see subscriptions)
    if parent.email_hash and parent.email_hash == comment.email_hash:
        return None  # nobody needs telling that they answered themselves
    return parent


def reply_to_notify(comment: Comment) -> Comment | None:
    """:func:`parent_to_notify`, on the reply's first publication only."""
    parent = parent_to_notify(comment)
    if parent is None:
        return None
    approvals = db.session.scalar(
        sa.select(sa.func.count(ModerationEvent.id))
        .where(ModerationEvent.comment_id == comment.id, ModerationEvent.to_status == Status.APPROVED)
    ) or 0
    # A comment approved, rejected and approved again has been announced already.
    return parent if approvals <= 1 else None


def queue_url(comment: Comment | None = None) -> str:
    """The moderation queue's address, or a comment's page in it."""
    base = current_app.config["CAUSERIE_PUBLIC_URL"] + "/moderate/"
    return f"{base}comments/{comment.id}" if comment else base


def title(comment: Comment) -> str:
    """The page a comment is on, as an email names it."""
    name: str = comment.thread.title or comment.thread.url
    return name


def site_name(site: Site) -> str:
    """A site as an email names it."""
    return site.name or site.key


def unsubscribe_headers(unsubscribe: str) -> dict[str, str]:
    """The headers that let a mail client unsubscribe in one click."""
    return {"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def held(entry: Outbox) -> None:
    """Deliver a ``moderators`` row: a held or reported comment, with its one-click links."""
    comment = outbox.comment_of(entry)
    if comment is None or comment.status != Status.PENDING:
        return  # decided before the mail went out: nothing left to ask
    address = entry.payload["to"]
    with force_locale(comment.site.language):
        body = render_template(
            "moderation/email/held.txt", comment=comment, site=comment.site, event=entry.topic,
            links=links.moderation_links(comment.id, address), queue_url=queue_url(comment),
            reports=[r for r in comment.reports if not r.resolved],
        )
        names = {"site": site_name(comment.site), "author": comment.author or gettext("Anonymous"),
                 "title": title(comment)}
        if entry.topic == "comment.reported":
            subject = gettext("[%(site)s] Reported: %(author)s on “%(title)s”", **names)
        else:
            subject = gettext("[%(site)s] Held: %(author)s on “%(title)s”", **names)
    mailer.send(mailer.build(address, subject, body))


def reply(entry: Outbox) -> None:
    """Deliver a ``reply`` row: tell a commenter who asked that someone answered."""
    answer = outbox.comment_of(entry)
    parent = parent_to_notify(answer) if answer is not None else None
    # Checked again at delivery: the reply may have been removed, or the
    # author may have unsubscribed, since it was queued.
    if answer is None or answer.status != Status.APPROVED or parent is None:
        return
    assert parent.email is not None  # parent_to_notify returns only parents with an address
    unsubscribe = links.unsubscribe_link(parent.id)
    # In the language the reader read the page in, else the site's.
    with force_locale(parent.language or answer.site.language):
        body = render_template("moderation/email/reply.txt", reply=answer, parent=parent, site=answer.site,
                               url=answer.thread.url, unsubscribe=unsubscribe)
        subject = gettext("%(author)s replied to you on “%(title)s”", author=answer.author or gettext("Someone"),
                          title=title(answer))
    mailer.send(mailer.build(parent.email, subject, body, unsubscribe_headers(unsubscribe)))


def confirmation(entry: Outbox) -> None:
    """Deliver a ``confirm`` row: ask an address whether it wants emails about replies."""
    comment = outbox.comment_of(entry)
    # Nothing to ask any more: removed, rejected by a moderator, unsubscribed
    # or erased, or confirmed meanwhile through an earlier email.
    if (comment is None or comment.status not in subscriptions.ASKING_STATUSES
            or not (comment.notify or comment.follow) or not comment.email or comment.notify_confirmed_at is not None):
        return
    site = comment.site
    # Only what the site's owner wrote and the page's address: the rest of a
    # comment is whatever the person who typed this address wanted to send.
    with force_locale(comment.language or site.language):
        body = render_template("moderation/email/confirm.txt", site=site, url=comment.thread.url,
                               confirm=links.confirm_link(comment.id), follow=comment.follow)
        subject = gettext("[%(site)s] Confirm emails about replies", site=site_name(site))
    mailer.send(mailer.build(comment.email, subject, body))
