"""Sending email over SMTP, configured by ``CAUSERIE_SMTP_URL``.

``smtp://user:password@host:587?starttls=1`` (STARTTLS), ``smtps://host:465``
(TLS from the start) or plain ``smtp://host:25``.  No URL, no email.
"""

from __future__ import annotations

import smtplib
import ssl
import unicodedata
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from itertools import groupby
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app

TIMEOUT = 20


class MailError(Exception):
    """The message could not be handed to the SMTP server (retry later)."""


def configured() -> bool:
    """Whether this service sends email at all."""
    return bool(current_app.config.get("CAUSERIE_SMTP_URL"))


def build(to: str, subject: str, body: str, headers: dict[str, str] | None = None) -> EmailMessage:
    """A plain-text message from the service's sender address."""
    message = EmailMessage()
    sender = current_app.config["CAUSERIE_MAIL_FROM"]
    message["From"] = header_value(sender)
    message["To"] = header_value(to)
    message["Subject"] = header_value(subject)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "causerie.local")
    message["Auto-Submitted"] = "auto-generated"
    for name, value in (headers or {}).items():
        message[name] = header_value(value)
    message.set_content(body)
    return message


# Characters that break a header line (str.splitlines splits on all of them,
# and the email package refuses them): controls, and Unicode's line and
# paragraph separators, which a reader can put in a name or a page title.
_LINE_BREAKING = ("Cc", "Zl", "Zp")


def header_value(value: str) -> str:
    """``value`` on one line: every control character and line or paragraph
    separator becomes a space (a run of them, one)."""
    runs = groupby(str(value), key=lambda ch: unicodedata.category(ch) in _LINE_BREAKING)
    return "".join(" " if breaking else "".join(chars) for breaking, chars in runs).strip()


def send(message: EmailMessage) -> None:
    """Deliver ``message`` now; raise :class:`MailError` if the server cannot take it."""
    with connect() as server:
        try:
            server.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(f"{type(exc).__name__}: {exc}") from exc


def connect() -> smtplib.SMTP:
    """An SMTP connection, secured and signed in as ``CAUSERIE_SMTP_URL`` says
    (close it, or use it in a ``with`` block); :class:`MailError` if that fails.
    ``causerie doctor`` checks the settings with it."""
    url = current_app.config.get("CAUSERIE_SMTP_URL")
    if not url:
        raise MailError("CAUSERIE_SMTP_URL is not set")
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise MailError(f"unsupported SMTP URL scheme {parts.scheme!r}")
    options = parse_qs(parts.query)
    host = parts.hostname or "localhost"
    server: smtplib.SMTP | None = None
    try:
        if parts.scheme == "smtps":
            server = smtplib.SMTP_SSL(host, parts.port or 465, timeout=TIMEOUT,
                                      context=ssl.create_default_context())
        else:
            server = smtplib.SMTP(host, parts.port or 25, timeout=TIMEOUT)
        if options.get("starttls", ["0"])[0] in ("1", "true", "yes"):
            server.starttls(context=ssl.create_default_context())
        if parts.username:
            server.login(unquote(parts.username), unquote(parts.password or ""))
    except (OSError, smtplib.SMTPException) as exc:
        if server is not None:
            server.close()
        raise MailError(f"{type(exc).__name__}: {exc}") from exc
    return server
