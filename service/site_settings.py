"""A site's settings, declared once.

The settings page builds its form from :data:`SETTINGS`, the command line
its ``causerie sites add`` and ``sites set`` options, the backup writes and
reads the ``site`` object by it, and a restore creates the site through it.
A setting added here therefore shows up, and is checked the same way,
everywhere; ``tests/test_site_settings.py`` holds every copy to that.

Values come in three shapes:

* the *input* a person types, per kind: a string for text and choices, a
  bool for a flag, a whole number (or None) for a number, a list of strings
  for a list (a text area is split into lines first, see :func:`split_lines`);
* the *stored* value, on the :class:`~service.models.Site` column, which is
  also what a backup holds;
* what the settings page shows in its fields (:func:`form_data`).

:func:`clean` turns input into a stored value or raises :class:`InvalidSetting`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l

from . import netguard, urls
from .choices import DEFAULT_MODE, Digest, Mode
from .i18n import LANGUAGE_NAMES, LANGUAGES
from .limits import MAX_LIST_ITEMS, MAX_SITE_NAME, MAX_WEBHOOK_URL
from .validation import email_address

TEXT, CHOICE, FLAG, NUMBER, LIST = "text", "choice", "flag", "number", "list"


class InvalidSetting(ValueError):
    """A value a setting refuses; ``message`` (translatable) says why, ``setting`` which one
    (when known)."""

    def __init__(self, message, setting: Setting | None = None):
        super().__init__(str(message))
        self.message = message
        self.setting = setting


@dataclass(frozen=True)
class Setting:
    """One setting of a site: its column, how it is typed, checked, shown and restored."""

    name: str  # the Site column, the form field, the backup key
    kind: str  # TEXT, CHOICE, FLAG, NUMBER or LIST
    label: Any  # the settings page's label (lazily translated)
    help: str  # the command line's help, in English like the rest of the CLI
    default: Any  # a new site's value (the column's default)
    group: str  # the settings page's section: "site", "moderation" or "notifications"
    hint: Any = None  # a line under the field on the settings page
    required: bool = False
    max_length: int | None = None  # TEXT: characters stored
    one_line: bool = False  # TEXT: a restore folds control characters and cuts to max_length
    choices: tuple = ()  # CHOICE: (value, label) pairs
    radio: bool = False  # CHOICE: radio buttons rather than a drop-down
    refused: Any = None  # CHOICE: the message for a value not among the choices
    restored: Any = None  # CHOICE: what a backup without a known value gets (None: the default)
    bounds: tuple[int, int] | None = None  # NUMBER: the input's range
    unit: int = 1  # NUMBER: stored = input * unit
    item: Callable[[str], str] | None = None  # LIST: checks and normalises one entry; TEXT: the value
    sort: bool = False  # LIST: stored sorted and without duplicates
    overflow_refused: bool = True  # LIST: more than MAX_LIST_ITEMS refused, rather than cut
    option: str | None = None  # the command-line option, when not --NAME
    url: bool = False  # TEXT: an http(s) URL (the settings page also checks its syntax)

    @property
    def cli_option(self) -> str:
        """The command-line option that sets it."""
        return self.option or "--" + self.name.replace("_", "-")

    @property
    def number_range(self) -> tuple[int, int]:
        """NUMBER: the input's range, which every NUMBER setting declares."""
        assert self.bounds is not None, f"the NUMBER setting {self.name} declares no bounds"
        return self.bounds

    @property
    def values(self) -> tuple[str, ...]:
        """CHOICE: the values it accepts, as plain strings (click takes an enum member by its name)."""
        return tuple(str(value) for value, _label in self.choices)


def split_lines(text: str | None) -> list[str]:
    """One entry per line (commas also separate), blanks and duplicates dropped."""
    seen: dict[str, None] = {}
    for raw in (text or "").replace(",", "\n").splitlines():
        value = raw.strip()
        if value:
            seen.setdefault(value, None)
    return list(seen)


def _origin(value: str) -> str:
    try:
        return urls.normalize_origin(value)
    except urls.InvalidURL as exc:
        raise InvalidSetting(str(exc)) from exc


def _email(value: str) -> str:
    address = email_address(value)
    if address is None:
        raise InvalidSetting(_l("%(value)s is not an email address.", value=value))
    return address.lower()


def _webhook(value: str) -> str:
    """Webhooks go to http(s) URLs on public addresses only (see service.netguard).

    A host that does not resolve now is accepted: each delivery checks again.
    """
    if not value.lower().startswith(("http://", "https://")):
        raise InvalidSetting(_l("Use an http:// or https:// URL."))
    try:
        netguard.check(value, allow_private=current_app.config["CAUSERIE_WEBHOOK_ALLOW_PRIVATE"])
    except netguard.RefusedURL as exc:
        if exc.address is None:
            raise InvalidSetting(_l("Use an http:// or https:// URL.")) from exc
        raise InvalidSetting(_l("This URL leads to %(address)s, an internal address: webhooks only go to "
                                "public addresses.", address=exc.address)) from exc
    except OSError:
        pass
    return value


SETTINGS: tuple[Setting, ...] = (
    Setting("name", TEXT, _l("Name"), "A human name for the site (default: its key).", "", "site",
            required=True, max_length=MAX_SITE_NAME, one_line=True),
    Setting("origins", LIST, _l("Allowed origins (one per line)"),
            "An origin whose pages embed the widget (repeat for several).", [], "site",
            hint=_l("The pages that embed the widget, e.g. https://blog.example"),
            required=True, item=_origin, sort=True, option="--origin"),
    Setting("mode", CHOICE, _l("Moderation mode"),
            "auto (the default): the spam filter publishes, holds or files as spam; pre: hold every comment; "
            "first-time: hold new commenters; post: publish at once.", DEFAULT_MODE, "moderation",
            required=True, radio=True, refused=_l("Choose a moderation mode."), restored=Mode.FIRST_TIME, choices=(
                (Mode.AUTO, _l("The spam filter decides: publish what it trusts, hold what it doubts, "
                            "file as spam what it is sure of")),
                (Mode.PRE, _l("Hold every comment for review")),
                (Mode.FIRST_TIME, _l("Hold first-time commenters; publish people already approved")),
                (Mode.POST, _l("Publish at once; moderate afterwards")),
            )),
    Setting("spam_trust_first_time", FLAG,
            _l("In first-time mode, publish a first comment the spam filter is confident about"),
            "In first-time mode, publish a first comment the spam filter is confident about.", False,
            "moderation"),
    Setting("banned_words", LIST, _l("Banned words: rejected (one per line)"),
            "A word that gets a comment rejected (repeat for several).", [], "moderation",
            overflow_refused=False, option="--banned-word"),
    Setting("suspect_words", LIST, _l("Suspect words: held for review (one per line)"),
            "A word that holds a comment for review (repeat for several).", [], "moderation",
            overflow_refused=False, option="--suspect-word"),
    Setting("max_links", NUMBER, _l("Links allowed before a comment is held"),
            "Links allowed before a comment is held.", 3, "moderation", required=True, bounds=(0, 100)),
    Setting("report_threshold", NUMBER, _l("Reports that send a comment back to the queue"),
            "Reports that send a comment back to the queue.", 3, "moderation", required=True, bounds=(1, 1000)),
    Setting("edit_window", NUMBER, _l("Minutes readers may edit their comment (empty: service default)"),
            "Minutes readers may edit their comment (default: CAUSERIE_EDIT_WINDOW).", None, "moderation",
            bounds=(0, 7 * 24 * 60), unit=60),
    Setting("notify_emails", LIST, _l("Notify these addresses (one per line; empty: the site's moderators)"),
            "An address told about held comments (repeat for several; none: the site's moderators).", [],
            "notifications", item=_email, option="--notify-email"),
    Setting("digest", CHOICE, _l("Email"),
            "instant: one email per held comment; hourly or daily: a digest; off: no email.", Digest.INSTANT,
            "notifications", refused=_l("Choose how often to send email."), choices=(
                (Digest.INSTANT, _l("One email per held comment")), (Digest.HOURLY, _l("An hourly digest")),
                (Digest.DAILY, _l("A daily digest")), (Digest.OFF, _l("No email")),
            )),
    Setting("language", CHOICE, _l("Language of the emails"), "The language of the site's emails (default: en).",
            LANGUAGES[0], "notifications", refused=_l("Choose the language of the emails."),
            choices=tuple((code, LANGUAGE_NAMES[code]) for code in LANGUAGES)),
    Setting("webhook_url", TEXT, _l("Webhook URL"),
            "Receives a signed JSON POST for new and moderated comments.", None, "notifications",
            hint=_l("Receives a signed JSON POST for new and moderated comments."), max_length=MAX_WEBHOOK_URL,
            item=_webhook, url=True),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}
GROUPS = ("site", "moderation", "notifications")


def clean(setting: Setting, value) -> Any:
    """The stored value for a person's input, or :class:`InvalidSetting` saying what is wrong."""
    if setting.kind == TEXT:
        value = (value or "").strip()
        if not value:
            if setting.required:
                raise InvalidSetting(_l("This setting cannot be empty."))
            return setting.default
        if setting.max_length is not None and len(value) > setting.max_length:
            raise InvalidSetting(_l("At most %(max)d characters.", max=setting.max_length))
        return setting.item(value) if setting.item else value
    if setting.kind == CHOICE:
        if value not in setting.values:
            raise InvalidSetting(setting.refused)
        return value
    if setting.kind == FLAG:
        return bool(value)
    if setting.kind == NUMBER:
        if value is None:
            if setting.required:
                raise InvalidSetting(_l("This setting cannot be empty."))
            return None
        low, high = setting.number_range
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidSetting(_l("Choose a number from %(low)d to %(high)d.", low=low, high=high))
        return value * setting.unit
    values = list(dict.fromkeys(value or ()))
    if len(values) > MAX_LIST_ITEMS:
        if setting.overflow_refused:
            raise InvalidSetting(_l("Too many entries."))
        values = values[:MAX_LIST_ITEMS]
    if setting.item:
        values = [setting.item(v) for v in values]
    if setting.sort:
        values = sorted(set(values))
    if setting.required and not values:
        raise InvalidSetting(_l("This setting cannot be empty."))
    return values


def clean_all(given: dict) -> dict:
    """Stored values for the settings named in ``given`` (input shapes); the first refusal
    raises :class:`InvalidSetting` naming its setting."""
    cleaned = {}
    for name, value in given.items():
        try:
            cleaned[name] = clean(BY_NAME[name], value)
        except InvalidSetting as exc:
            raise InvalidSetting(exc.message, BY_NAME[name]) from exc
    return cleaned


def apply(site, values: dict) -> None:
    """Set the site's settings named in ``values`` (stored shapes, already checked)."""
    for name, value in values.items():
        if name in BY_NAME:
            setattr(site, name, value)


def current(site) -> dict:
    """Every setting of the site, stored shapes."""
    return {setting.name: getattr(site, setting.name) for setting in SETTINGS}


def as_input(setting: Setting, stored) -> Any:
    """What the settings page shows for a stored value."""
    if setting.kind == LIST:
        return "\n".join(stored or [])
    if setting.kind == NUMBER:
        return stored // setting.unit if stored is not None else None
    if setting.kind == TEXT:
        return stored or ""
    return stored


def form_data(site) -> SimpleNamespace:
    """The site's settings as the settings page's fields show them (the form's ``obj``)."""
    return SimpleNamespace(**{setting.name: as_input(setting, getattr(site, setting.name)) for setting in SETTINGS})


def export(site) -> dict:
    """Every setting of the site as a backup holds it (JSON values)."""
    return {name: list(value or []) if BY_NAME[name].kind == LIST else value
            for name, value in current(site).items()}


def restore(record: dict) -> dict:
    """The settings a restored site gets from a backup's values (already type-checked,
    None where missing): a backup is not refused for a value this version does not
    know, the setting takes the value a site without one would have."""
    values = {}
    for setting in SETTINGS:
        value = record.get(setting.name)
        if setting.kind == CHOICE and value not in setting.values:
            value = setting.restored or setting.default
        elif setting.kind == LIST:
            value = list(value or [])
        elif value is None:
            value = setting.default
        values[setting.name] = value
    return values
