"""Words the templates use: labels for statuses, actions and rule reasons, translated."""

from __future__ import annotations

from flask_babel import get_locale, ngettext
from flask_babel import gettext as _

from .. import limits
from ..choices import Status
from ..models import Moderator
from . import auth, bp, stats
from .queue import View


@bp.record_once
def _template_constants(state):
    """The statuses and limits, so that templates compare and size fields with the code's values."""
    state.app.jinja_env.globals.update(Status=Status, View=View, limits=limits)


@bp.app_template_global()
def current_moderator() -> Moderator | None:
    """The signed-in moderator, for the page header."""
    return auth.current_moderator()


@bp.app_template_global()
def reason_label(code: str) -> str:
    """A moderator-facing explanation of an automatic-rule reason code."""
    labels = {
        "honeypot": _("Filled the hidden field only robots see"),
        "no_ticket": _("Posted without loading the thread first"),
        "too_fast": _("Posted faster than a person can type"),
        "banned": _("Banned commenter"),
        "banned_word": _("Contains a banned word"),
        "suspect_word": _("Contains a suspect word"),
        "too_many_links": _("Too many links"),
        "duplicate": _("Same text posted again"),
        "mode_pre": _("Every comment is reviewed on this site"),
        "first_time": _("First comment from this person"),
        "reported": _("Reported by readers"),
        "spam_filter": _("The spam filter is sure it is spam"),
        "spam_filter_doubts": _("The spam filter is not sure"),
        "spam_filter_failed": _("The spam filter could not score it"),
        "spam_filter_trusts": _("The spam filter trusts it"),
        "edited": _("Changed by its author after it was published"),
    }
    return labels.get(code, code)


@bp.app_template_global()
def spam_reason_label(reason: dict) -> str:
    """One of the spam filter's reasons (see :func:`service.spam.filter.reasons`) in plain words."""
    code = reason.get("code")
    count = int(reason.get("spam") or 0)
    domain = str(reason.get("domain", ""))
    if code == "link_domain":
        return ngettext("links to %(domain)s, a domain seen in %(num)d spam",
                        "links to %(domain)s, a domain seen in %(num)d spam", count, domain=domain) if count \
            else _("links to %(domain)s", domain=domain)
    if code == "website_domain":
        return ngettext("website %(domain)s, seen in %(num)d spam", "website %(domain)s, seen in %(num)d spam",
                        count, domain=domain) if count else _("website %(domain)s", domain=domain)
    if code == "words":
        return _("words seen in spam: %(words)s", words=", ".join(map(str, reason.get("words", []))))
    labels = {
        "off_topic": _("off-topic for this page"),
        "phone": _("phone number"),
        "email": _("email address in the text"),
        "links": _("links"),
        "website_first": _("a website on a first comment"),
        "website": _("gives a website"),
        "name": _("the author's name"),
        "script": _("written in a script unlike this page's"),
        "shouting": _("shouting"),
        "length": _("its length"),
        "new_commenter": _("a new commenter"),
    }
    return labels.get(str(code), str(code))


@bp.app_template_global()
def status_label(status: str | None) -> str:
    """A translated comment status."""
    labels: dict[str, str] = {
        Status.PENDING: _("pending"),
        Status.APPROVED: _("approved"),
        Status.REJECTED: _("rejected"),
        Status.SPAM: _("spam"),
        Status.DELETED: _("deleted"),
        View.REPORTED: _("reported"),
        View.ALL: _("all"),
    }
    return labels.get(status or "", status or "—")


@bp.app_template_global()
def action_label(action: str) -> str:
    """A translated audit action."""
    labels = {"created": _("arrived"), "approve": _("approved"), "reject": _("rejected"), "spam": _("marked spam"),
              "delete": _("deleted"), "deleted": _("deleted by author"), "edited": _("edited by author"),
              "edit": _("edited by staff"), "pin": _("pinned"), "unpin": _("unpinned"), "ban": _("banned author"),
              "unban": _("lifted ban"), "lock": _("locked thread"), "unlock": _("unlocked thread"),
              "staff_reply": _("staff reply"), "reported": _("sent back by reports"),
              "resolve": _("dismissed reports"), "requeue": _("sent back to the queue"),
              "imported": _("imported"), "exported": _("exported a backup"), "erased": _("erased on request"),
              "anonymised": _("anonymised on request")}
    return labels.get(action, action)


@bp.app_template_global()
def ui_language() -> str:
    """The language of this page, for <html lang>."""
    return str(get_locale() or "en")


@bp.app_template_filter("reason_text")
def reason_text(code: str) -> str:
    """Reason labels as a filter, for the plain-text emails."""
    return reason_label(code)


@bp.app_template_global()
def duration(seconds: float | None):
    """A duration as (amount, unit), see :func:`service.moderation.stats.duration`."""
    return stats.duration(seconds)


@bp.app_template_global()
def duration_text(value: tuple[int, str]) -> str:
    """"3 hours", "12 minutes" ... translated."""
    amount, unit = value
    texts = {
        "seconds": ngettext("%(num)d second", "%(num)d seconds", amount),
        "minutes": ngettext("%(num)d minute", "%(num)d minutes", amount),
        "hours": ngettext("%(num)d hour", "%(num)d hours", amount),
        "days": ngettext("%(num)d day", "%(num)d days", amount),
    }
    return texts[unit]
