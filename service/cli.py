"""The ``causerie`` command line: a Flask CLI group bound to the app factory.

``causerie X`` and ``flask --app wsgi X`` run the same commands.
"""

from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from . import site_settings
from .demo import seed_demo
from .doctor import doctor_command
from .embed import SORTS, fragment
from .errors import APIError
from .extensions import db, init_migrations
from .models import Comment, Moderator, Site
from .moderation import auth
from .porting.cli import COMMANDS as PORTING_COMMANDS
from .server import run_command
from .spam.cli import spam_group
from .validation import SITE_KEY_RULE, email_address, valid_site_key
from .worker import worker_command


@click.command("init")
@with_appcontext
def init_command():
    """Create or upgrade the database to the latest migration (idempotent)."""
    from flask_migrate import upgrade  # noqa: PLC0415 - Alembic loads only for this command

    init_migrations(current_app)
    upgrade(directory=current_app.extensions["migrate"].directory)
    click.echo(f"Database ready: {_safe_url(current_app.config['SQLALCHEMY_DATABASE_URI'])}")


def _safe_url(url: str) -> str:
    return sa.engine.make_url(url).render_as_string(hide_password=True)


@click.group("sites")
def sites_group():
    """Register, change and list sites."""


def _setting_option(setting: site_settings.Setting):
    """The command-line option of one site setting; not given, it is None (or empty)."""
    name = setting.cli_option
    if setting.kind == site_settings.FLAG:
        return click.option(f"{name}/--no-{name[2:]}", setting.name, default=None, help=setting.help)
    if setting.kind == site_settings.LIST:
        return click.option(name, setting.name, multiple=True, help=setting.help)
    if setting.kind == site_settings.CHOICE:
        return click.option(name, setting.name, type=click.Choice(setting.values), help=setting.help)
    if setting.kind == site_settings.NUMBER:
        return click.option(name, setting.name, type=click.IntRange(*setting.number_range), help=setting.help)
    return click.option(name, setting.name, help=setting.help)


def _setting_options(command):
    """An option for every site setting (``site_settings.SETTINGS``)."""
    for setting in reversed(site_settings.SETTINGS):
        command = _setting_option(setting)(command)
    return command


def _checked(options: dict) -> dict:
    """The stored values of the settings given on the command line, checked like the settings page."""
    given = {name: value for name, value in options.items() if value is not None and value != ()}
    try:
        return site_settings.clean_all(given)
    except site_settings.InvalidSetting as exc:
        raise click.BadParameter(str(exc.message), param_hint=exc.setting.cli_option if exc.setting else None) from exc


@sites_group.command("add")
@click.argument("key")
@_setting_options
@with_appcontext
def sites_add(key, **options):
    """Register a site under KEY (--origin is required; the name defaults to KEY)."""
    if not valid_site_key(key):
        raise click.BadParameter(SITE_KEY_RULE, param_hint="KEY")
    options["name"] = options["name"] or key
    missing = [s.cli_option for s in site_settings.SETTINGS
               if s.required and s.default in (None, "", []) and options[s.name] in (None, ())]
    if missing:
        raise click.UsageError(f"Missing option {', '.join(missing)}.")
    values = _checked(options)
    if db.session.scalar(sa.select(Site.id).where(Site.key == key)):
        raise click.ClickException(f"A site with the key {key!r} already exists.")
    site = Site(key=key)
    site_settings.apply(site, values)
    db.session.add(site)
    db.session.commit()
    click.echo(f"Site {key!r} registered. Embed it with:")
    public_url = current_app.config["CAUSERIE_PUBLIC_URL"]
    click.echo(f'  <script src="{public_url}/widget.js" data-site="{key}" defer></script>')


@sites_group.command("set")
@click.argument("key")
@_setting_options
@with_appcontext
def sites_set(key, **options):
    """Change settings of the site KEY (a list option given replaces the whole list)."""
    site = db.session.scalar(sa.select(Site).where(Site.key == key))
    if site is None:
        raise click.ClickException(f"No site with the key {key!r}.")
    values = _checked(options)
    if not values:
        raise click.UsageError("Give at least one setting to change.")
    site_settings.apply(site, values)
    db.session.commit()
    click.echo(f"Site {key!r} updated: {', '.join(values)}.")


@sites_group.command("list")
@with_appcontext
def sites_list():
    """Sites with their origins, modes and comment counts."""
    counts = dict(db.session.execute(
        sa.select(Comment.site_id, sa.func.count(Comment.id)).group_by(Comment.site_id)).all())
    sites = db.session.scalars(sa.select(Site).order_by(Site.key)).all()
    if not sites:
        click.echo("No sites yet: add one with `causerie sites add KEY --origin URL`.")
    for site in sites:
        click.echo(f"{site.key}\t{site.mode}\t{counts.get(site.id, 0)} comments\t{' '.join(site.origins or [])}")


@click.group("moderators")
def moderators_group():
    """Manage moderator accounts."""


@moderators_group.command("add")
@click.argument("email")
@click.option("--site", "site_keys", multiple=True, help="A site this moderator may moderate.")
@click.option("--admin", is_flag=True, help="Moderate every site, manage sites and moderators.")
@click.option("--name", default="", help="The name shown on staff replies.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def moderators_add(email, site_keys, admin, name, password_stdin):
    """Create a moderator account (the password is prompted for)."""
    address = email_address(email.strip())
    if address is None:
        raise click.BadParameter("not an email address", param_hint="EMAIL")
    email = address.lower()
    if db.session.scalar(sa.select(Moderator.id).where(Moderator.email == email)):
        raise click.ClickException(f"A moderator {email} already exists.")
    sites = []
    for key in site_keys:
        site = db.session.scalar(sa.select(Site).where(Site.key == key))
        if site is None:
            raise click.ClickException(f"No site with the key {key!r}.")
        sites.append(site)
    if not admin and not sites:
        raise click.UsageError("Give at least one --site, or --admin.")
    password = _new_password(password_stdin)
    db.session.add(Moderator(email=email, name=name or email.split("@")[0], is_admin=admin, sites=sites,
                             password_hash=auth.hash_password(password)))
    db.session.commit()
    click.echo(f"Moderator {email} created{' (admin)' if admin else ''}.")


def _new_password(from_stdin: bool) -> str:
    """A new password, read from standard input or prompted for twice; refused if too short."""
    password = sys.stdin.readline().rstrip("\n") if from_stdin else click.prompt(
        "Password", hide_input=True, confirmation_prompt=True)
    problem = auth.password_problem(password)
    if problem:
        raise click.ClickException(problem)
    return password


def _moderator(email: str) -> Moderator:
    """The moderator with this email, or a clear error."""
    email = email.strip().lower()
    moderator = db.session.scalar(sa.select(Moderator).where(Moderator.email == email))
    if moderator is None:
        raise click.ClickException(f"No moderator has the email {email}.")
    return moderator


def _sessions(count: int) -> str:
    return f"{count} session{'' if count == 1 else 's'}"


@moderators_group.command("passwd")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
@with_appcontext
def moderators_passwd(email, password_stdin):
    """Change a moderator's password; every session of the account is signed out."""
    moderator = _moderator(email)
    ended = auth.set_password(moderator, _new_password(password_stdin))
    db.session.commit()
    click.echo(f"Password of {moderator.email} changed; {_sessions(ended)} signed out.")


@moderators_group.command("revoke")
@click.argument("email")
@with_appcontext
def moderators_revoke(email):
    """Sign a moderator out everywhere (the password stays)."""
    moderator = _moderator(email)
    ended = auth.end_sessions(moderator)
    db.session.commit()
    click.echo(f"{moderator.email} is signed out everywhere ({_sessions(ended)} ended).")


@moderators_group.command("remove")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def moderators_remove(email, yes):
    """Remove a moderator account and end its sessions (the audit log keeps its email)."""
    moderator = _moderator(email)
    email = moderator.email
    if not yes:
        click.confirm(f"Remove the moderator {email}?", abort=True)
    db.session.delete(moderator)
    db.session.commit()
    click.echo(f"Moderator {email} removed; their audit log entries and staff replies are kept.")


@click.command("demo")
@with_appcontext
def demo_command():
    """Create the demo site and a sample discussion (idempotent)."""
    site = seed_demo()
    public = current_app.config["CAUSERIE_PUBLIC_URL"]
    click.echo(f"Demo site {site.key!r} ready: open {public}/demo")
    click.echo(f"Comments wait in its moderation queue, {public}/moderate/ ; to sign in, first create an account:")
    click.echo("  causerie moderators add you@example.org --admin")


@click.command("render")
@click.option("--site", "site_key", required=True, help="The site key.")
@click.option("--url", help="The page's URL (as the widget would send it).")
@click.option("--thread", "thread_key", help="The page's thread key, for pages that set data-thread.")
@click.option("--lang", default="en", show_default=True, help="The language of the words around the comments.")
@click.option("--sort", type=click.Choice(SORTS), default=SORTS[0], show_default=True,
              help="The order of the top-level comments.")
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-",
              help="Write the fragment to this file instead of standard output.")
@with_appcontext
def render_command(site_key, url, thread_key, lang, sort, output):
    """Print the server-rendered thread of a page, for static-site builds."""
    if not url and not thread_key:
        raise click.UsageError("Give --url or --thread.")
    try:
        html = fragment(site_key, url or None, thread_key, lang, sort).html()
    except APIError as exc:
        raise click.ClickException(exc.message) from exc
    output.write(html)


COMMANDS = (init_command, sites_group, moderators_group, demo_command, worker_command, doctor_command,
            render_command, spam_group, *PORTING_COMMANDS)


def register(app: Flask) -> None:
    """Attach every command to the app's ``flask`` CLI."""
    for command in COMMANDS:
        app.cli.add_command(command)


def _factory():
    from . import create_app  # noqa: PLC0415 - avoid a cycle at import time

    return create_app()


main = FlaskGroup(create_app=_factory, help="Causerie, the self-hosted comment service.")
# gunicorn rather than Flask's development server (``causerie run --debug`` for that).
main.add_command(run_command)
