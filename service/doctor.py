"""``causerie doctor``: check what a deployment needs, and say what to fix.

Each check is a plain function returning :class:`Check` lines; the command
prints them as ``OK``/``FAIL`` and exits with status 1 when any failed.  Run
it on each instance, with the same environment as the service.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext
from limits.storage import storage_from_string

from . import mailer
from .doctor_probe import PROBE_HEADER, fingerprint, token
from .extensions import REDIS_SCHEMES, REDIS_TIMEOUTS, db
from .files import migrations_dir

MIN_SECRET_LENGTH = 32
TIMEOUT = 10  # seconds, for each service asked


@dataclass(frozen=True)
class Check:
    """One line of the diagnosis."""

    ok: bool
    topic: str
    message: str

    def __str__(self) -> str:
        return f"{'OK  ' if self.ok else 'FAIL'}  {self.topic}: {self.message}"


def secret_key() -> list[Check]:
    """A key set in the environment, long enough, the same everywhere."""
    configured = (os.environ.get("CAUSERIE_SECRET_KEY") or "").strip()
    if not configured:
        return [Check(False, "secret key", "CAUSERIE_SECRET_KEY is not set: this instance uses a key generated into "
                      "its instance folder, which no other instance shares (sessions and links break between "
                      "them). Set CAUSERIE_SECRET_KEY to the same long random value everywhere, e.g. "
                      "`python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`.")]
    if len(configured) < MIN_SECRET_LENGTH:
        return [Check(False, "secret key", f"CAUSERIE_SECRET_KEY has {len(configured)} characters: use at least "
                      f"{MIN_SECRET_LENGTH} random ones.")]
    printed = fingerprint(current_app.config["SECRET_KEY"])
    return [Check(True, "secret key", f"set; fingerprint {printed} (it must be the same on every instance)")]


def database() -> list[Check]:
    """The database answers, and is migrated to the latest revision."""
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415 - the command line only
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    url = db.engine.url.render_as_string(hide_password=True)
    try:
        with db.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return [Check(False, "database", f"{url} does not answer ({reason}): check CAUSERIE_DATABASE_URL, that the "
                      "server runs and that this machine may connect to it.")]
    heads = set(ScriptDirectory(str(migrations_dir())).get_heads())
    if current != heads:
        at = ", ".join(sorted(current)) or "no revision"
        return [Check(False, "database", f"{url} answers but is at {at}, not at {', '.join(sorted(heads))}: run "
                      "`causerie init`.")]
    return [Check(True, "database", f"{url} answers, migrated to {', '.join(sorted(heads))}")]


# The comment table may change by this many rows, or by as many as it held
# when last analyzed if more, before its statistics count as stale.
STALE_STATISTICS = 1000
_STATISTICS = sa.text(
    "SELECT current_setting('autovacuum') = 'on', s.n_mod_since_analyze, c.reltuples"
    " FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid WHERE s.relid = to_regclass('comment')")


def database_statistics() -> list[Check]:
    """On PostgreSQL, the planner's statistics of the comments are current
    (autovacuum keeps them, or ANALYZE run regularly).

    Without them the planner guesses, and may look for a commenter's
    approved comment through the site's index: a scan of every approved
    comment of the site at every post.
    """
    if db.engine.dialect.name != "postgresql":
        return []
    try:
        with db.engine.connect() as connection:
            row = connection.execute(_STATISTICS).one_or_none()
    except sa.exc.SQLAlchemyError:
        return []  # the database check says why
    if row is None:
        return []  # no comment table yet: the database check says to run init
    autovacuum, changed, known = row
    setting = "on" if autovacuum else "off"
    if changed > max(STALE_STATISTICS, known):
        return [Check(False, "database statistics", f"the comment table changed by {changed:,} rows since "
                      f"PostgreSQL last gathered its statistics (autovacuum is {setting}): queries may take slow "
                      "plans, a post scanning every approved comment of its site. Turn autovacuum on, or run "
                      "`vacuumdb --analyze-only` regularly (hourly from cron, say).")]
    if autovacuum:
        return [Check(True, "database statistics", "current, kept by autovacuum")]
    return [Check(True, "database statistics", "current, though autovacuum is off: keep running "
                  "`vacuumdb --analyze-only` regularly")]


def rate_limit_storage() -> list[Check]:
    """Redis (or another shared storage) answers when one is configured."""
    uri = current_app.config["RATELIMIT_STORAGE_URI"]
    if uri.startswith("memory://"):
        return [Check(True, "rate limits", "counted in each process's memory: right for one process; with several "
                      "workers or machines set CAUSERIE_RATELIMIT_STORAGE_URI=redis://...")]
    options = dict(REDIS_TIMEOUTS) if uri.startswith(REDIS_SCHEMES) else {}
    try:
        answers = storage_from_string(uri, **options).check()
    except Exception as exc:  # noqa: BLE001 - any driver's failure is the same diagnosis
        answers, detail = False, f" ({type(exc).__name__}: {exc})"
    else:
        detail = ""
    safe = sa.engine.make_url(uri).render_as_string(hide_password=True) if "://" in uri else uri
    if not answers:
        return [Check(False, "rate limits", f"{safe} does not answer{detail}: start it, or fix "
                      "CAUSERIE_RATELIMIT_STORAGE_URI (each process counts alone meanwhile).")]
    return [Check(True, "rate limits", f"{safe} answers")]


def smtp() -> list[Check]:
    """The SMTP server takes our login, when email is configured."""
    if not mailer.configured():
        return [Check(True, "email", "CAUSERIE_SMTP_URL is not set: no email is sent (nor offered to readers)")]
    try:
        mailer.connect().close()
    except mailer.MailError as exc:
        return [Check(False, "email", f"the SMTP server refused or did not answer ({exc}): check CAUSERIE_SMTP_URL "
                      "(host, port, user, password, ?starttls=1).")]
    return [Check(True, "email", "the SMTP server answers and accepts the login")]


def public_url() -> list[Check]:
    """The public URL answers, and the proxies in front match CAUSERIE_TRUSTED_PROXIES."""
    base = current_app.config["CAUSERIE_PUBLIC_URL"]
    request = urllib.request.Request(f"{base}/healthz", headers={PROBE_HEADER: token(current_app.config["SECRET_KEY"])})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return [Check(False, "public URL", f"{base}/healthz answers {exc.code}: see that instance's /healthz and "
                      "logs (503 means its database does not answer).")]
    except (OSError, ValueError) as exc:
        return [Check(False, "public URL", f"{base}/healthz does not answer ({exc}): check CAUSERIE_PUBLIC_URL, "
                      "DNS, the proxy and that the service runs.")]
    checks = [Check(True, "public URL", f"{base} answers")]
    seen = body.get("doctor")
    if seen is None:
        return [*checks, Check(False, "secret key", f"the service at {base} does not share this key (or predates "
                               "this check): give every instance the same CAUSERIE_SECRET_KEY, then compare "
                               "fingerprints.")]
    return [*checks, _proxies(seen)]


def _proxies(seen: dict) -> Check:
    hops, trusted = seen["forwarded_for"], seen["trusted_proxies"]
    if hops == trusted:
        where = f"{hops} prox{'y' if hops == 1 else 'ies'} in front" if hops else "no proxy in front"
        return Check(True, "proxies", f"{where} and CAUSERIE_TRUSTED_PROXIES={trusted}: rate limits see the "
                     f"reader's address (here {seen['client']}, over {seen['scheme']})")
    if hops > trusted:
        return Check(False, "proxies", f"the request passed {hops} prox{'y' if hops == 1 else 'ies'} adding "
                     f"X-Forwarded-For, but the service trusts {trusted}: rate limits count every reader as "
                     f"{seen['client']}. Set CAUSERIE_TRUSTED_PROXIES={hops}.")
    return Check(False, "proxies", f"the service trusts {trusted} prox{'y' if trusted == 1 else 'ies'} but the "
                 f"request came through {hops} adding X-Forwarded-For: any client can choose its address by "
                 f"sending that header. Set CAUSERIE_TRUSTED_PROXIES={hops}, or have the proxy set "
                 "X-Forwarded-For (nginx: proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for).")


CHECKS = (secret_key, database, database_statistics, rate_limit_storage, smtp, public_url)


def diagnose() -> list[Check]:
    """Every check, in order."""
    return [line for check in CHECKS for line in check()]


@click.command("doctor")
@with_appcontext
def doctor_command():
    """Check this deployment's settings and services, and say what to fix."""
    lines = diagnose()
    for line in lines:
        click.echo(str(line))
    failed = sum(not line.ok for line in lines)
    if failed:
        click.echo(f"{failed} problem{'s' if failed > 1 else ''} to fix.", err=True)
        raise SystemExit(1)
    click.echo("Everything checked is fine.")
