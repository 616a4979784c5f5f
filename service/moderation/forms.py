"""The moderation forms (Flask-WTF: each carries its CSRF token)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, PasswordField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import URL, DataRequired, EqualTo, Length, NumberRange, Optional, ValidationError

from .. import limits, site_settings


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


class _Checked:
    """Checks the field's input with its site setting and keeps the stored value on the form."""

    def __init__(self, setting: site_settings.Setting):
        self.setting = setting

    def __call__(self, form, field):
        data = site_settings.split_lines(field.data) if self.setting.kind == site_settings.LIST else field.data
        try:
            form.cleaned[self.setting.name] = site_settings.clean(self.setting, data)
        except site_settings.InvalidSetting as exc:
            raise ValidationError(exc.message) from exc


def _settings_field(setting: site_settings.Setting):
    """The settings page's field for one site setting."""
    required = [DataRequired()] if setting.required else []
    checked = _Checked(setting)
    if setting.kind == site_settings.TEXT:
        url = [Optional(), URL(require_tld=False)] if setting.url else []
        return StringField(setting.label, validators=[*required, *url, Length(max=setting.max_length), checked])
    if setting.kind == site_settings.CHOICE:
        field = RadioField if setting.radio else SelectField
        return field(setting.label, choices=[SelectChoice(value, label) for value, label in setting.choices],
                     validators=[*required, checked])
    if setting.kind == site_settings.FLAG:
        return BooleanField(setting.label, validators=[checked])
    if setting.kind == site_settings.NUMBER:
        return IntegerField(setting.label, validators=[*([] if setting.required else [Optional()]),
                                                       NumberRange(*setting.number_range), checked])
    return TextAreaField(setting.label, validators=[*required, Length(max=limits.MAX_LIST_TEXT), checked])


class SettingsForm(FlaskForm):
    """A site's settings: one field per entry of ``site_settings.SETTINGS``."""

    def values(self) -> dict:
        """The stored value of every setting, once the form has validated.

        A field left empty where that is allowed stops its checks early
        (WTForms' Optional); it gets the value empty input stands for.
        """
        return {setting.name: self.cleaned[setting.name] if setting.name in self.cleaned
                else site_settings.clean(setting, None) for setting in site_settings.SETTINGS}

    def validate(self, extra_validators=None) -> bool:
        """Check every field, keeping each setting's stored value in ``cleaned``."""
        self.cleaned: dict[str, Any] = {}
        return super().validate(extra_validators)


for _setting in site_settings.SETTINGS:
    setattr(SettingsForm, _setting.name, _settings_field(_setting))
del _setting
