"""``causerie worker``: delivers the notification outbox.

Run it next to the web processes (systemd, a container, ...), or from cron
with ``--once``.  Several workers may run at once: each row is claimed with a
lease before it is sent.
"""

from __future__ import annotations

import signal
import time

import click
from flask.cli import with_appcontext

from .extensions import db
from .notifications import delivery, outbox


@click.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due, then exit (for cron and tests).")
@click.option("--interval", default=5.0, show_default=True, type=click.FloatRange(0.1, 3600),
              help="Seconds to wait when nothing is due.")
@click.option("--retry-failed", is_flag=True, help="First put deliveries that failed for good back in the queue.")
@with_appcontext
def worker_command(once, interval, retry_failed):
    """Deliver notification emails, digests and webhooks, retrying with backoff."""
    if retry_failed:
        click.echo(f"{outbox.retry_failed()} failed deliveries queued again.")
    stopping = []
    # A stop signal lets the current delivery finish instead of cutting it off.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.append(True))
    while True:
        result = delivery.run_once()
        db.session.remove()
        if once or result.sent or result.retried or result.failed:
            click.echo(f"sent {result.sent}, retrying {result.retried}, failed {result.failed}, "
                       f"digests queued {result.digests}")
        if once or stopping:
            return
        if result.sent or result.retried or result.failed:
            continue  # there may be more due right now
        deadline = time.monotonic() + interval
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.1)
        if stopping:
            return
