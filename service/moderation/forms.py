"""The moderation forms (Flask-WTF: each carries its CSRF token)."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, IntegerField, PasswordField, RadioField, SelectField, StringField,
                     TextAreaField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import URL, DataRequired, EqualTo, Length, NumberRange, Optional, ValidationError

from .. import limits, netguard, urls
from ..choices import Digest, Mode, values_of
from ..i18n import LANGUAGE_NAMES, LANGUAGES


class LoginForm(FlaskForm):
    """Email and password."""

    email = StringField(_l("Email"), validators=[DataRequired(), Length(max=limits.MAX_EMAIL)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=limits.MAX_PASSWORD)])


class PasswordForm(FlaskForm):
    """A signed-in moderator changes their own password."""

    current = PasswordField(_l("Current password"), validators=[
        DataRequired(_l("Type your current password.")), Length(max=limits.MAX_PASSWORD)])
    new = PasswordField(_l("New password"), validators=[
        DataRequired(_l("Choose a new password.")),
        Length(min=limits.MIN_PASSWORD, max=limits.MAX_PASSWORD,
               message=_l("The password must have at least %(min)d characters.", min=limits.MIN_PASSWORD))])
    confirm = PasswordField(_l("New password again"), validators=[
        EqualTo("new", message=_l("The two new passwords are not the same."))])


class CsrfForm(FlaskForm):
    """A form that only proves it came from our pages (action buttons)."""


class TextForm(FlaskForm):
    """A staff reply, or a staff edit of a comment."""

    text = TextAreaField(_l("Text"), validators=[DataRequired(), Length(max=limits.MAX_STAFF_TEXT)])


class BanForm(FlaskForm):
    """Ban a commenter from one site."""

    duration = SelectField(_l("For how long"), default="30", choices=[
        SelectChoice("1", _l("One day")), SelectChoice("7", _l("One week")), SelectChoice("30", _l("30 days")),
        SelectChoice("365", _l("One year")),
        SelectChoice("forever", _l("For good")),
    ])
    reason = StringField(_l("Reason (kept in the audit log)"), validators=[Length(max=limits.MAX_REASON)])
    by_email = BooleanField(_l("By email address"), default=True)
    by_ip = BooleanField(_l("By network address"), default=True)


def _lines(text: str | None) -> list[str]:
    """One entry per line (commas also separate), blanks and duplicates dropped."""
    seen: dict[str, None] = {}
    for raw in (text or "").replace(",", "\n").splitlines():
        value = raw.strip()
        if value:
            seen.setdefault(value, None)
    return list(seen)


class SettingsForm(FlaskForm):
    """A site's moderation and notification settings."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=limits.MAX_SITE_NAME)])
    mode = RadioField(_l("Moderation mode"), choices=[
        SelectChoice(Mode.AUTO, _l("The spam filter decides: publish what it trusts, hold what it doubts, "
                                "file as spam what it is sure of")),
        SelectChoice(Mode.PRE, _l("Hold every comment for review")),
        SelectChoice(Mode.FIRST_TIME, _l("Hold first-time commenters; publish people already approved")),
        SelectChoice(Mode.POST, _l("Publish at once; moderate afterwards")),
    ], validators=[DataRequired()])
    spam_trust_first_time = BooleanField(_l("In first-time mode, publish a first comment the spam filter is "
                                            "confident about"))
    origins = TextAreaField(_l("Allowed origins (one per line)"),
                            validators=[DataRequired(), Length(max=limits.MAX_LIST_TEXT)])
    banned_words = TextAreaField(_l("Banned words: rejected (one per line)"),
                                 validators=[Length(max=limits.MAX_LIST_TEXT)])
    suspect_words = TextAreaField(_l("Suspect words: held for review (one per line)"),
                                  validators=[Length(max=limits.MAX_LIST_TEXT)])
    max_links = IntegerField(_l("Links allowed before a comment is held"), validators=[NumberRange(0, 100)])
    report_threshold = IntegerField(_l("Reports that send a comment back to the queue"),
                                    validators=[NumberRange(1, 1000)])
    edit_window = IntegerField(_l("Minutes readers may edit their comment (empty: service default)"),
                               validators=[Optional(), NumberRange(0, 7 * 24 * 60)])
    notify_emails = TextAreaField(_l("Notify these addresses (one per line; empty: the site's moderators)"),
                                  validators=[Length(max=limits.MAX_LIST_TEXT)])
    digest = SelectField(_l("Email"), choices=[
        SelectChoice(Digest.INSTANT, _l("One email per held comment")),
        SelectChoice(Digest.HOURLY, _l("An hourly digest")),
        SelectChoice(Digest.DAILY, _l("A daily digest")), SelectChoice(Digest.OFF, _l("No email")),
    ])
    language = SelectField(_l("Language of the emails"),
                           choices=[SelectChoice(code, LANGUAGE_NAMES[code]) for code in LANGUAGES])
    webhook_url = StringField(_l("Webhook URL"), validators=[Optional(), Length(max=limits.MAX_WEBHOOK_URL),
                                                               URL(require_tld=False)])

    def validate_mode(self, field):
        """Only the modes the rules know."""
        if field.data not in values_of(Mode):
            raise ValidationError(_l("Choose a moderation mode."))

    def validate_digest(self, field):
        """Only the known frequencies."""
        if field.data not in values_of(Digest):
            raise ValidationError(_l("Choose how often to send email."))

    def validate_language(self, field):
        """Only the languages the emails are written in."""
        if field.data not in LANGUAGES:
            raise ValidationError(_l("Choose the language of the emails."))

    def validate_origins(self, field):
        """Each origin must be scheme://host[:port]."""
        values = _lines(field.data)
        if len(values) > limits.MAX_LIST_ITEMS:
            raise ValidationError(_l("Too many entries."))
        try:
            self.clean_origins = sorted({urls.normalize_origin(v) for v in values})
        except urls.InvalidURL as exc:
            raise ValidationError(str(exc)) from exc

    def validate_notify_emails(self, field):
        """Each line must be an email address."""
        values = _lines(field.data)
        if len(values) > limits.MAX_LIST_ITEMS:
            raise ValidationError(_l("Too many entries."))
        clean = []
        for value in values:
            try:
                clean.append(validate_email(value, check_deliverability=False).normalized.lower())
            except EmailNotValidError as exc:
                raise ValidationError(_l("%(value)s is not an email address.", value=value)) from exc
        self.clean_emails = clean

    def validate_webhook_url(self, field):
        """Webhooks go to http(s) URLs on public addresses only (see service.netguard).

        A host that does not resolve now is accepted: each delivery checks again.
        """
        if not field.data:
            return
        if not field.data.strip().lower().startswith(("http://", "https://")):
            raise ValidationError(_l("Use an http:// or https:// URL."))
        try:
            netguard.check(field.data.strip(), allow_private=current_app.config["CAUSERIE_WEBHOOK_ALLOW_PRIVATE"])
        except netguard.RefusedURL as exc:
            if exc.address is None:
                raise ValidationError(_l("Use an http:// or https:// URL.")) from exc
            raise ValidationError(_l("This URL leads to %(address)s, an internal address: webhooks only go to "
                                     "public addresses.", address=exc.address)) from exc
        except OSError:
            pass

    @staticmethod
    def words(text: str | None) -> list[str]:
        """A word list from the text area."""
        return _lines(text)[:limits.MAX_LIST_ITEMS]
