"""Routes of the moderation workspace: read the request, call one function, answer.

Every route but sign-in, the static files and the signed one-click links
requires a signed-in moderator, and every comment, thread or site is looked
up through the moderator's own sites, so another site's id answers 404.
Actions answer JSON to the page's script (``Accept: application/json``, see
:func:`service.errors.wants_json`) and a redirect with a flashed message to a
plain form; errors likewise, in the contract's JSON shape or as a page.
"""

from __future__ import annotations

import csv
import io

from flask import Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf.csrf import CSRFError
from werkzeug.datastructures import MultiDict

from .. import limits, links, security
from .. import site_settings as settings_schema
from ..choices import Status
from ..errors import error_answer, wants_json
from ..extensions import Limit, client_address, db, rate_limited
from ..models import Comment, Moderator, Site
from ..notifications import subscriptions, webhooks
from ..security import csrf
from . import actions, auth, bp, login_limits, queue, stats
from .forms import BanForm, CsrfForm, LoginForm, PasswordForm, SettingsForm, TextForm
from .labels import status_label

MAX_BULK = 200


# ------------------------------------------------------------------ helpers


def _back(default: str) -> str:
    return auth.safe_next(request.form.get("next") or request.args.get("next")) or default


def _done(message: str, comment: Comment | None = None, default: str | None = None, **extra):
    """Answer a successful action: JSON for the script, else flash and go back."""
    if wants_json():
        body = {"ok": True, "message": message, **extra}
        if comment is not None:
            body["comment"] = {"id": comment.id, "status": comment.status, "pinned": comment.pinned}
        return jsonify(body)
    flash(message, "success")
    return redirect(_back(default or url_for(".queue_view")), code=303)


bp.before_request(security.check_csrf)


@bp.before_request
def _refuse_nul():
    """PostgreSQL cannot store or even compare text holding NUL, and no person types one:
    refuse it in any query or form field up front, with a 400 rather than a database error."""
    # Uploads (multipart) are left to their view, which may allow a larger body
    # than the default before Werkzeug parses it.
    form = request.form if request.mimetype == "application/x-www-form-urlencoded" else {}
    for fields in (request.args, form, request.view_args or {}):
        items = fields.items(multi=True) if isinstance(fields, MultiDict) else fields.items()
        for key, value in items:
            if "\x00" in key or (isinstance(value, str) and "\x00" in value):
                raise actions.ActionError(400, _l("The request contains a character that cannot be stored (NUL)."))


@bp.errorhandler(actions.ActionError)
def _action_error(exc: actions.ActionError):
    db.session.rollback()
    return error_answer(exc.status, str(exc.message))


@bp.errorhandler(CSRFError)
def _csrf_error(_exc):
    return error_answer(400, _("This form has expired or did not come from this page. "
                               "Go back, reload the page and try again."))


@bp.errorhandler(links.LinkError)
def _link_error(exc: links.LinkError):
    db.session.rollback()
    messages = {
        "expired": _("This link has expired. Open the moderation queue to decide on the comment."),
        "used": _("This link has already been used. Each email link works once."),
        "invalid": _("This link is not valid. It may have been cut or changed by your email program."),
    }
    if exc.kind == "confirm":
        messages["expired"] = _("This link has expired. Tick “Email me replies” again when you next comment "
                                "to get a new one.")
        messages["withdrawn"] = _("Emails about replies to this comment were stopped since this link was sent.")
    return error_answer(exc.status, messages.get(exc.reason, messages["invalid"]))


def _me() -> Moderator:
    return auth.signed_in_moderator()


# ------------------------------------------------------------------ sign in


def _login_limit() -> str:
    return current_app.config["CAUSERIE_RATELIMIT_LOGIN"]


def _failed(response) -> bool:
    return response.status_code != 303


@bp.route("/login", methods=["GET", "POST"])
@rate_limited(Limit(_login_limit, methods=["POST"], key_func=client_address, deduct_when=_failed))
def login():
    """Sign in with email and password (failures are limited, see login_limits)."""
    form = LoginForm()
    next_url = auth.safe_next(request.values.get("next"))
    if auth.current_moderator() is not None and request.method == "GET":
        return redirect(next_url or url_for(".queue_view"), code=303)
    status, headers = 200, {}
    if form.validate_on_submit():
        moderator, wait = login_limits.check(form.email.data, form.password.data)
        if moderator is not None:
            auth.login(moderator)
            response = redirect(next_url or url_for(".queue_view"), code=303)
            login_limits.remember_browser(response, moderator.email)
            return response
        if wait is None:
            form.password.errors.append(_("That email and password do not match an account."))
            status = 401
        else:
            form.password.errors.append(_too_many_failures(wait))
            status, headers = 429, {"Retry-After": str(wait)}
    elif request.method == "POST":
        status = 400
    return render_template("moderation/login.html", form=form, next=next_url), status, headers


def _too_many_failures(wait: int) -> str:
    minutes = -(-wait // 60)
    return ngettext("Too many failed sign-ins to this account from this address. Try again in %(num)d minute, "
                    "or from a browser you signed in with before.",
                    "Too many failed sign-ins to this account from this address. Try again in %(num)d minutes, "
                    "or from a browser you signed in with before.", minutes)


@bp.post("/logout")
def logout():
    """Sign out (a POST with a CSRF token, so no page can sign anyone out)."""
    auth.logout()
    flash(_("You are signed out."), "success")
    return redirect(url_for(".login"), code=303)


# ------------------------------------------------------------------ own account


def _password_change_key() -> str:
    return f"password-change:{_me().id}"


@bp.route("/account", methods=["GET", "POST"])
@auth.login_required
@rate_limited(Limit(login_limits.account_limit, methods=["POST"], key_func=_password_change_key,
                   deduct_when=_failed))
def account():
    """The signed-in moderator's own account: change their password."""
    form = PasswordForm()
    status = 200
    if form.validate_on_submit():
        if auth.change_own_password(_me(), form.current.data, form.new.data):
            db.session.commit()
            flash(_("Your password is changed. Your other sessions are signed out."), "success")
            return redirect(url_for(".account"), code=303)
        form.current.errors.append(_("This is not your current password."))
        status = 400
    elif request.method == "POST":
        status = 400
    return render_template("moderation/account.html", form=form, others=auth.other_sessions(_me())), status


@bp.post("/account/sessions")
@auth.login_required
def end_other_sessions():
    """Sign the moderator out of every other browser (a lost phone, a shared computer)."""
    ended = auth.end_sessions(_me(), keep_current=True)
    db.session.commit()
    return _done(ngettext("%(num)d other session signed out.", "%(num)d other sessions signed out.", ended),
                 default=url_for(".account"))


# ------------------------------------------------------------------ the queue


@bp.get("/")
@auth.login_required
def queue_view():
    """The queue: one view (pending, reported ...), filtered, searched, paged."""
    me = _me()
    filters = queue.Filters.from_args(request.args)
    page = queue.load(me, filters)
    return render_template("moderation/queue.html", page=page, filters=filters, sites=queue.visible_sites(me),
                           counts=queue.counts(me, filters.site), views=list(queue.View), form=CsrfForm(),
                           actions=actions.ACTIONS)


@bp.get("/comments/<id:comment_id>")
@auth.login_required
def comment_view(comment_id: int):
    """One comment with its whole context and every action."""
    me = _me()
    comment = queue.get_comment(me, comment_id)
    replies = queue.replies(comment)
    ban_form = BanForm(formdata=None)
    ban_form.by_email.data = bool(comment.email_hash)
    ban_form.by_ip.data = bool(comment.ip_hash)
    return render_template(
        "moderation/comment.html", comment=comment, replies=replies, form=CsrfForm(),
        reply_form=TextForm(formdata=None), edit_form=TextForm(formdata=None, text=comment.text),
        ban_form=ban_form, ban=actions.active_ban(comment), events=queue.comment_events(comment),
        reports=queue.open_reports([comment.id]).get(comment.id, []),
        history=queue.history([comment]).get((comment.site_id, comment.email_hash)),
    )


def _detail(comment: Comment) -> str:
    return url_for(".comment_view", comment_id=comment.id)


@bp.post("/comments/<id:comment_id>/<action>")
@auth.login_required
def act(comment_id: int, action: str):
    """Approve, reject, mark spam, delete, pin, unpin or dismiss reports."""
    comment = queue.get_comment(_me(), comment_id)
    if action not in actions.ACTIONS:
        raise actions.ActionError(400, _l("Unknown action."))
    before = comment.status
    changed = actions.perform(action, comment, _me())
    db.session.commit()
    reversible = changed and comment.status != before and before in actions.UNDO
    undo = {str(comment.id): actions.UNDO[before]} if reversible else {}
    return _done(_message(action, 1) if changed else _("Nothing to change."), comment, default=_detail(comment),
                 undo=undo)


def _message(action: str, count: int) -> str:
    messages = {
        "approve": ngettext("%(num)d comment approved.", "%(num)d comments approved.", count),
        "reject": ngettext("%(num)d comment rejected.", "%(num)d comments rejected.", count),
        "spam": ngettext("%(num)d comment marked as spam.", "%(num)d comments marked as spam.", count),
        "delete": ngettext("%(num)d comment deleted.", "%(num)d comments deleted.", count),
        "pin": ngettext("%(num)d comment pinned.", "%(num)d comments pinned.", count),
        "unpin": ngettext("%(num)d comment unpinned.", "%(num)d comments unpinned.", count),
        "resolve": ngettext("Reports dismissed on %(num)d comment.", "Reports dismissed on %(num)d comments.", count),
        "requeue": ngettext("%(num)d comment sent back to the queue.", "%(num)d comments sent back to the queue.",
                            count),
    }
    return messages[action]


@bp.post("/bulk")
@auth.login_required
def bulk():
    """One action on a selection of comments, all or nothing."""
    me = _me()
    action = request.form.get("action", "")
    if action not in actions.ACTIONS:
        raise actions.ActionError(400, _l("Unknown action."))
    raw_ids = request.form.getlist("ids")
    if not raw_ids:
        raise actions.ActionError(400, _l("Select at least one comment."))
    if len(raw_ids) > MAX_BULK:
        raise actions.ActionError(413, _l("Select at most 200 comments at once."))
    try:
        ids = sorted({int(value) for value in raw_ids})
    except ValueError:
        raise actions.ActionError(400, _l("Those are not comment numbers.")) from None
    comments = [queue.get_comment(me, comment_id) for comment_id in ids]
    before = {c.id: c.status for c in comments}
    changed = [c.id for c in comments if actions.perform(action, c, me)]
    db.session.commit()
    undo = {str(c.id): actions.UNDO[before[c.id]] for c in comments
            if c.id in changed and c.status != before[c.id] and before[c.id] in actions.UNDO}
    return _done(_message(action, len(changed)) if changed else _("Nothing to change."), changed=changed,
                 statuses={c.id: c.status for c in comments}, undo=undo)


def _submitted_text() -> str:
    """The text of an edit or staff reply form, or the friendly 400."""
    form = TextForm()
    if not form.validate():
        raise actions.ActionError(400, _l("The text cannot be empty or longer than 10,000 characters."))
    return form.text.data


@bp.post("/comments/<id:comment_id>/edit")
@auth.login_required
def edit(comment_id: int):
    """Change a comment's text (marked as edited by staff)."""
    comment = queue.get_comment(_me(), comment_id)
    actions.edit(comment, _me(), _submitted_text())
    db.session.commit()
    return _done(_("Comment updated."), comment, default=_detail(comment))


@bp.post("/comments/<id:comment_id>/reply")
@auth.login_required
def reply(comment_id: int):
    """Answer a comment as staff: published at once, with the staff badge."""
    parent = queue.get_comment(_me(), comment_id)
    answer = actions.reply(parent, _me(), _submitted_text())
    db.session.commit()
    return _done(_("Your reply is published."), answer, default=_detail(parent))


@bp.post("/comments/<id:comment_id>/ban")
@auth.login_required
def ban(comment_id: int):
    """Ban the comment's author from its site."""
    comment = queue.get_comment(_me(), comment_id)
    form = BanForm()
    if not form.validate():
        raise actions.ActionError(400, _l("Choose how long the ban lasts."))
    actions.ban(comment, _me(), duration=form.duration.data, reason=form.reason.data or "",
                by_email=form.by_email.data, by_ip=form.by_ip.data)
    db.session.commit()
    return _done(_("The author is banned from this site."), comment, default=_detail(comment))


@bp.post("/comments/<id:comment_id>/unban")
@auth.login_required
def unban(comment_id: int):
    """Lift the ban that refuses this comment's author."""
    comment = queue.get_comment(_me(), comment_id)
    current = actions.active_ban(comment)
    if current is None:
        raise actions.ActionError(409, _l("This author is not banned."))
    actions.lift_ban(current, _me(), comment)
    db.session.commit()
    return _done(_("The ban is lifted."), comment, default=_detail(comment))


@bp.post("/threads/<id:thread_id>/<any(lock, unlock):change>")
@auth.login_required
def lock(thread_id: int, change: str):
    """Close a thread to new comments, or open it again."""
    thread = queue.get_thread(_me(), thread_id)
    actions.set_locked(thread, change == "lock", _me())
    db.session.commit()
    message = _("The thread is locked.") if thread.locked else _("The thread is open again.")
    return _done(message, locked=thread.locked)


# ------------------------------------------------------------------ audit log


@bp.get("/audit")
@auth.login_required
def audit_view():
    """Who did what, when, from which status to which."""
    me = _me()
    try:
        page = min(queue.MAX_PAGE, max(1, int(request.args.get("page", "1"))))
        comment_id = int(request.args["comment"]) if request.args.get("comment") else None
    except ValueError:
        abort(400)
    site = request.args.get("site", "")[:limits.MAX_SITE_KEY]
    action = request.args.get("action", "")[:limits.MAX_ACTION]
    actor = request.args.get("actor", "")[:limits.MAX_ACTOR]
    events, total = queue.audit_page(me, site, action, actor, comment_id, page)
    known_actions, actors = queue.audit_actions(me)
    return render_template("moderation/audit.html", events=events, total=total, page=page,
                           pages=max(1, -(-total // queue.AUDIT_PER_PAGE)), sites=queue.visible_sites(me),
                           site=site, action=action, actor=actor, comment_id=comment_id,
                           known_actions=known_actions, actors=actors)


# ------------------------------------------------------------------ sites


@bp.get("/sites")
@auth.admin_required
def sites_view():
    """Every site, with a link to its settings."""
    return render_template("moderation/sites.html", sites=queue.visible_sites(_me()))


def _site(key: str) -> Site:
    site = next((s for s in queue.visible_sites(_me()) if s.key == key), None)
    if site is None:
        abort(404)
    return site


@bp.route("/sites/<key>", methods=["GET", "POST"])
@auth.admin_required
def site_settings(key: str):
    """A site's moderation mode, word lists, thresholds and notifications."""
    site = _site(key)
    form = SettingsForm(obj=None if request.method == "POST" else settings_schema.form_data(site))
    status = 200
    if form.validate_on_submit():
        settings_schema.apply(site, form.values())
        db.session.commit()
        flash(_("Settings saved."), "success")
        return redirect(url_for(".site_settings", key=site.key), code=303)
    if request.method == "POST":
        status = 400
    return render_template("moderation/settings.html", site=site, form=form, settings=settings_schema,
                           webhook_secret=webhooks.webhook_secret(site)), status


# ------------------------------------------------------------------ stats


def _period() -> tuple[str, int]:
    site = request.args.get("site", "")[:limits.MAX_SITE_KEY]
    try:
        days = int(request.args.get("days", "30"))
    except ValueError:
        days = 30
    return site, days if days in stats.PERIODS else 30


@bp.get("/stats")
@auth.login_required
def stats_view():
    """Volume, decisions and time to decision, with a chart."""
    me = _me()
    site, days = _period()
    report = stats.compute(queue.site_ids(me, site), days)
    return render_template("moderation/stats.html", report=report, chart=stats.chart(report),
                           sites=queue.visible_sites(me), site=site, days=days, periods=stats.PERIODS)


@bp.get("/stats.csv")
@auth.login_required
def stats_csv():
    """The per-day numbers of the stats page, as CSV."""
    site, days = _period()
    report = stats.compute(queue.site_ids(_me(), site), days)
    buffer = io.StringIO()
    stats.write_csv(report, csv.writer(buffer))
    name = f"causerie-stats-{site or 'all'}-{days}d.csv"
    return Response(buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# ------------------------------------------------------------------ one-click links


def _acting() -> bool:
    """Whether an emailed link's request may act: a POST only.

    Flask answers HEAD on every GET route (and Flask-WTF checks no CSRF token
    on it); link checkers and mail scanners send HEAD as well as GET, so
    anything but a POST only shows the page.
    """
    return request.method == "POST"


@bp.route("/link/<token>", methods=["GET", "POST"])
@rate_limited(Limit(_login_limit, methods=["POST"]))
def one_click(token: str):
    """A moderation link from an email: the page asks, only its form's POST acts, once."""
    link = links.read(token, "moderate")
    comment = db.session.get(Comment, link.comment_id)
    if comment is None:
        raise links.LinkError(404, "invalid")
    moderator = _link_moderator(link, comment)
    if not _acting():
        return render_template("moderation/link_confirm.html", link=link, comment=comment, form=CsrfForm())
    if comment.status != Status.PENDING:
        return error_answer(409, _("This comment was already decided: it is %(status)s now.",
                                   status=status_label(comment.status)))
    links.spend(link)
    actions.perform(link.action, comment, moderator, actor=link.recipient or "email link")
    db.session.commit()
    return render_template("moderation/link_done.html", link=link, comment=comment)


def _link_moderator(link: links.Link, comment: Comment) -> Moderator | None:
    """The account behind the link's address; one that lost the site may not act."""
    moderator = db.session.scalar(db.select(Moderator).where(Moderator.email == link.recipient))
    if moderator is not None and not moderator.can_moderate(comment.site_id):
        raise links.LinkError(404, "invalid")
    return moderator


@bp.route("/confirm/<token>", methods=["GET", "POST"])
@csrf.exempt
def confirm_replies(token: str):
    """Start the reply notifications a reader asked for: the page asks, POST acts.

    Exempt from CSRF like unsubscribing: the signed link is the credential,
    and only its button acts, because mail scanners open links.
    """
    link = links.read(token, "confirm")
    comment = db.session.get(Comment, link.comment_id)
    if comment is None or not (comment.notify or comment.follow):
        raise links.LinkError(410, "withdrawn", "confirm")
    if not _acting():
        return render_template("moderation/confirm_replies.html", comment=comment, done=False)
    subscriptions.confirm(comment)
    db.session.commit()
    return render_template("moderation/confirm_replies.html", comment=comment, done=True)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token: str):
    """Stop reply notifications: the page asks, POST (also RFC 8058 one-click) acts."""
    link = links.read(token, "unsubscribe")
    comment = db.session.get(Comment, link.comment_id)
    if comment is None:
        raise links.LinkError(404, "invalid")
    if not _acting():
        return render_template("moderation/unsubscribe.html", comment=comment, done=False)
    stopped = subscriptions.unsubscribe(comment)
    db.session.commit()
    return render_template("moderation/unsubscribe.html", comment=comment, done=True, stopped=stopped)
