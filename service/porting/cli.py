"""Data in and out on the command line: ``causerie import FORMAT FILE --site KEY``,
``causerie export --site KEY``, and the privacy tools ``causerie gdpr export|erase
EMAIL`` and ``causerie purge``."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from .. import privacy
from ..extensions import db
from ..models import Site
from ..validation import SITE_KEY_RULE, valid_site_key
from .source import ImportFileError, Source

# The format readers, the importer and the backup writer are imported by the
# commands that use them (PLC0415 below): every process that builds the app
# registers these commands, web workers included, and those modules, with
# multiprocessing, sqlite3 and the XML parsers they bring, cost each of them
# about 2 MB for nothing.

# Below this size a progress bar would only flash by.
PROGRESS_FROM_BYTES = 1_000_000


class _Bars:
    """One click progress bar at a time, for reading and then each import step."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.stack = ExitStack()

    def step(self, label: str, total: int):
        """Start a bar for ``total`` units and return its ``update``; None when quiet."""
        self.stack.close()
        if not self.enabled or total <= 0:
            return None
        bar = self.stack.enter_context(click.progressbar(length=total, label=label, file=sys.stderr))
        return bar.update

    def close(self):
        """Finish the bar on screen, if any."""
        self.stack.close()


def _rewrites(_ctx, _param, values) -> dict:
    from .importer import parse_rewrites  # noqa: PLC0415

    try:
        return parse_rewrites(values)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _options(require_site: bool = True):
    """The options every import format shares."""
    def decorate(command):
        for option in reversed([
            click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
            click.option("--site", "site_key", required=require_site, metavar="KEY",
                         help="The site to import into." + ("" if require_site else
                                                            " Default: the key in the file.")),
            click.option("--dry-run", is_flag=True, help="Report what would be imported; write nothing."),
            click.option("--rewrite-host", "rewrites", multiple=True, metavar="OLD=NEW", callback=_rewrites,
                         help="Move pages from host OLD to NEW, a host or https://host (repeatable), "
                              "for a blog that moved."),
        ]):
            command = option(command)
        return with_appcontext(command)
    return decorate


def _run(read, file: Path, site_key: str | None, dry_run: bool, rewrites: dict) -> None:
    from . import importer  # noqa: PLC0415

    bars = _Bars(file.stat().st_size >= PROGRESS_FROM_BYTES)
    try:
        source: Source = read(bars)
        key = site_key or (source.site or {}).get("key")
        if not key:
            raise click.UsageError("Give the site to import into with --site KEY.")
        if not valid_site_key(key):
            raise click.BadParameter(SITE_KEY_RULE, param_hint="--site")
        summary = importer.run(source, key, dry_run=dry_run, rewrites=rewrites, step=bars.step,
                               actor="causerie import", parallel=True)
    except ImportFileError as exc:
        raise click.ClickException(f"{file}: {exc} Nothing was imported.") from exc
    except OSError as exc:
        raise click.ClickException(f"{file}: {exc.strerror or exc}. Nothing was imported.") from exc
    finally:
        bars.close()
    for line in summary.lines():
        click.echo(line)


def _xml_reader(module, file: Path):
    def read(bars: _Bars) -> Source:
        with open(file, "rb") as stream:
            return module.read(stream, bars.step("Reading", file.stat().st_size))
    return read


@click.group("import")
def import_group():
    """Import comments from Disqus, WordPress, Isso or a Causerie export.

    Importing the same file again adds nothing; --dry-run shows what would
    happen.  A file that cannot be read whole is refused and nothing is written.
    """


@import_group.command("disqus")
@_options()
def import_disqus(file, site_key, dry_run, rewrites):
    """Import a Disqus XML export (Admin > Tools > Export)."""
    from . import disqus  # noqa: PLC0415

    _run(_xml_reader(disqus, file), file, site_key, dry_run, rewrites)


@import_group.command("wordpress")
@_options()
def import_wordpress(file, site_key, dry_run, rewrites):
    """Import a WordPress WXR export (Tools > Export)."""
    from . import wordpress  # noqa: PLC0415

    _run(_xml_reader(wordpress, file), file, site_key, dry_run, rewrites)


@import_group.command("isso")
@_options()
@click.option("--base-url", metavar="URL",
              help="Where Isso's pages live (Isso stores paths). Default: the site's only origin.")
def import_isso(file, site_key, dry_run, rewrites, base_url):
    """Import an Isso SQLite database (its dbpath)."""
    from . import isso  # noqa: PLC0415

    if base_url is None:
        origins = db.session.scalar(sa.select(Site.origins).where(Site.key == site_key))
        if origins is None:
            raise click.ClickException(f"There is no site with the key {site_key!r}.")
        if len(origins) != 1:
            raise click.UsageError("The site has several origins: say which one Isso's pages are on with --base-url.")
        base_url = origins[0]

    def read(bars: _Bars) -> Source:
        return isso.read(file, base_url, bars.step("Reading", isso.count(file)))

    _run(read, file, site_key, dry_run, rewrites)


@import_group.command("json")
@_options(require_site=False)
def import_json(file, site_key, dry_run, rewrites):
    """Restore a Causerie export (from `causerie export`).

    Into an empty database it recreates the site, its threads and comments, so
    that exporting again gives the same document.
    """
    from . import backup  # noqa: PLC0415

    def read(bars: _Bars) -> Source:
        with open(file, "rb") as stream:
            return backup.read(stream)

    _run(read, file, site_key, dry_run, rewrites)


@click.command("export")
@click.option("--site", "site_key", required=True, metavar="KEY", help="The site to export.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file (default: standard output).")
@with_appcontext
def export_command(site_key, output):
    """Write a site's settings, threads and every comment as one JSON document.

    `causerie import json FILE` restores it.
    """
    from . import backup  # noqa: PLC0415

    try:
        if output is None:
            count = backup.write(site_key, sys.stdout)
        else:
            count = _write_atomically(backup.write, site_key, output)
    except LookupError as exc:
        raise click.ClickException(f"There is no site with the key {site_key!r}.") from exc
    click.echo(f"Exported {count} comments of site {site_key!r}"
               f"{f' to {output}' if output else ''}.", err=True)


def _write_atomically(write, site_key: str, output: Path) -> int:
    """A backup file is either complete or not there: written aside, then renamed."""
    directory = output.resolve().parent
    fd, temporary = tempfile.mkstemp(prefix=f".{output.name}.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            count = write(site_key, handle)
        os.chmod(temporary, 0o600)  # it holds emails
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return count


@click.group("gdpr")
def gdpr_group():
    """Answer a person's requests about their data: access and erasure."""


def _site_option(command):
    return click.option("--site", "site_key", metavar="KEY", help="Only this site (default: every site).")(command)


@gdpr_group.command("export")
@click.argument("email")
@_site_option
@with_appcontext
def gdpr_export(email, site_key):
    """Print, as JSON, every comment and datum held for EMAIL."""
    _known_site(site_key)
    document = privacy.personal_data(email, site_key)
    click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    click.echo(f"{len(document['comments'])} comments found for {email}.", err=True)


@gdpr_group.command("erase")
@click.argument("email")
@click.option("--keep-text", "mode", flag_value="keep-text",
              help="Keep the comments' text, anonymous (name, email, website and IP hash removed).")
@click.option("--delete", "mode", flag_value="delete",
              help="Delete the comments too; replies keep their place under a placeholder.")
@click.option("--lift-bans", is_flag=True, help="Also remove bans on this address (kept by default).")
@_site_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def gdpr_erase(email, mode, lift_bans, site_key, yes):
    """Erase EMAIL's personal data: choose --keep-text or --delete."""
    if mode is None:
        raise click.UsageError("Choose what happens to the comments: --keep-text or --delete.")
    _known_site(site_key)
    found = privacy.comment_count(email, site_key)
    if not found and not lift_bans:
        click.echo(f"No comments are held for {email}.")
    what = "delete" if mode == "delete" else "anonymise"
    if found and not yes:
        click.confirm(f"{what.capitalize()} {found} comments of {email}? This cannot be undone", abort=True)
    result = privacy.erase(email, mode, site_key=site_key, lift_bans=lift_bans, actor="causerie gdpr erase")
    if result.comments:
        click.echo(f"{result.comments} comments {'deleted' if mode == 'delete' else 'anonymised'}: "
                   "name, email, website and IP hash removed.")
    if result.bans_lifted:
        click.echo(f"{result.bans_lifted} bans on this address lifted.")
    if result.bans_kept:
        click.echo(f"{result.bans_kept} bans on this address kept (they hold only a keyed hash); "
                   "add --lift-bans to remove them.")
    if result.moderator_account:
        click.echo("A moderator account uses this address: it was left alone (remove it separately).")


@click.command("purge")
@click.option("--days", type=click.IntRange(min=0), metavar="N",
              help="Retention in days (default: CAUSERIE_IP_RETENTION_DAYS).")
@click.option("--dry-run", is_flag=True, help="Count what would be purged; change nothing.")
@with_appcontext
def purge_command(days, dry_run):
    """Erase IP hashes of comments and reports older than the retention period,
    and bans that ended before it.

    Run it daily (cron or a systemd timer).
    """
    result = privacy.purge(days, dry_run=dry_run)
    verb = "would be erased" if dry_run else "erased"
    click.echo(f"IP hashes older than {result.cutoff:%Y-%m-%d %H:%M} UTC {verb}: "
               f"{result.comments} on comments, {result.reports} on reports.")
    click.echo(f"Bans that ended before then {'would be ' if dry_run else ''}removed: {result.bans}.")


def _known_site(site_key: str | None) -> None:
    if site_key is not None and db.session.scalar(sa.select(Site.id).where(Site.key == site_key)) is None:
        raise click.ClickException(f"There is no site with the key {site_key!r}.")


COMMANDS = (import_group, export_command, gdpr_group, purge_command)
