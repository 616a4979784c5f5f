"""``causerie spam``: rebuild a site's filter, or measure the filter on a labelled stream."""

from __future__ import annotations

import csv

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from ..choices import Mode, values_of
from ..extensions import db
from ..models import Site
from . import evaluate, prior
from . import filter as spam_filter


@click.group("spam")
def spam_group() -> None:
    """The spam filter that learns from each site's moderators."""


@spam_group.command("retrain")
@click.option("--site", "site_key", required=True, help="The site whose filter to rebuild.")
@with_appcontext
def retrain_command(site_key: str) -> None:
    """Rebuild a site's filter from its moderators' decisions and imports (idempotent)."""
    site = db.session.scalar(sa.select(Site).where(Site.key == site_key))
    if site is None:
        raise click.ClickException(f"No site with the key {site_key!r}.")
    spam, ham = spam_filter.retrain(site.id)
    db.session.commit()
    click.echo(f"Site {site_key!r}: the filter learnt {spam} spam and {ham} genuine comments again.")


@spam_group.command("evaluate")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--mode", type=click.Choice(values_of(Mode)), default=Mode.AUTO.value, show_default=True,
              help="The throwaway site's moderation mode.")
@click.option("--shuffle", is_flag=True, help="Replay the rows in a random order.")
@click.option("--seed", type=int, default=0, show_default=True, help="The random order's seed (with --shuffle).")
@click.option("--without-prior", is_flag=True,
              help="Leave out the built-in prior (for a stream the prior was made from).")
def evaluate_command(csv_file: str, mode: str, shuffle: bool, seed: int, without_prior: bool) -> None:
    """Replay a labelled CSV (label,text[,author,website,url,title]) through a throwaway site,
    a moderator correcting every decision, and print what readers and moderators saw."""
    try:
        rows = evaluate.read_rows(csv_file)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise click.ClickException(f"{csv_file} is not a readable UTF-8 CSV file: {exc}") from exc
    if not rows:
        raise click.ClickException(f"{csv_file} has no labelled rows (columns label and text are needed).")
    if shuffle:
        rows = evaluate.shuffled(rows, seed)
    result = evaluate.replay(rows, mode, use_prior=not without_prior)
    order = f"shuffled with seed {seed}" if shuffle else "in order"
    click.echo(f"{csv_file}, mode {mode}, {order}{', without the prior' if without_prior else ''}:")
    for line in result.lines():
        click.echo(f"  {line}")



@spam_group.command("build-prior")
def build_prior_command() -> None:
    """For developers, after changing the filter's features: compute the built-in
    prior from its corpus and store it where every process reads it."""
    computed = prior.compute()
    prior.write(computed)
    click.echo(f"Stored the prior's counts in {prior.SHIPPED} ({len(computed.counts)} features).")
