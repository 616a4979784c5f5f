"""``/metrics`` for Prometheus, on only when ``CAUSERIE_METRICS_TOKEN`` is set.

Without the token the route does not exist (404) and no request pays for
metrics.  With it, a scrape must send ``Authorization: Bearer <token>``
(401 otherwise) and gets Prometheus' text format:

- ``causerie_http_requests_total{route,method,status}`` and
  ``causerie_http_request_duration_seconds{route,method}``, by URL rule
  (``/api/comments/<int:comment_id>``, never the raw path);
- ``causerie_cache_lookups_total{cache,result}``: the read path's caches of
  thread bodies and counts, ``hit`` or ``miss``;
- ``causerie_spam_decisions_total{decision}``: what the spam filter decided,
  counted by :func:`count_spam_decision`;
- computed from the database at each scrape: ``causerie_comments_pending{site}``,
  ``causerie_comments_reported{site}`` (open reader reports),
  ``causerie_outbox_backlog`` (deliveries waiting) and
  ``causerie_outbox_failed`` (deliveries given up on).

Under gunicorn's several workers the counts are added up across processes
with prometheus_client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, set
by ``causerie run``, see ``server``).  prometheus_client chooses that mode
when it is first imported, which is why it is imported here only once the
app has metrics switched on, never at module import.
"""

from __future__ import annotations

import hmac
import os
import time

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, request

from .choices import Delivery, Status
from .errors import error_response
from .extensions import db
from .models import Comment, Outbox, Report, Site

KEY = "causerie_metrics"
# Seconds; a thread read is well under the first bucket, an import may take the last.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
UNMATCHED = "unmatched"


class Metrics:
    """The app's metrics (prometheus_client objects) and its scrape registry."""

    def __init__(self, app: Flask):
        from prometheus_client import (  # noqa: PLC0415 - see module docstring
            CollectorRegistry,
            Counter,
            Histogram,
            multiprocess,
        )

        self.token = app.config["CAUSERIE_METRICS_TOKEN"].encode()
        self.shared = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.registry = CollectorRegistry()
        # In multiprocess mode the counts are read back from the workers'
        # files at scrape time, not from these objects' registry.
        own = None if self.shared else self.registry
        if self.shared:
            multiprocess.MultiProcessCollector(self.registry)
        self.registry.register(_DatabaseCollector())
        self.requests = Counter("causerie_http_requests", "HTTP requests answered, by URL rule and status.",
                                ("route", "method", "status"), registry=own)
        self.latency = Histogram("causerie_http_request_duration_seconds", "Time to answer a request, by URL rule.",
                                 ("route", "method"), buckets=BUCKETS, registry=own)
        self.cache = Counter("causerie_cache_lookups", "Read-path cache lookups, by cache and result.",
                             ("cache", "result"), registry=own)
        self.spam = Counter("causerie_spam_decisions", "Spam filter decisions, by decision.", ("decision",),
                            registry=own)
        # labels() validates and hashes on every call: each combination's
        # children are looked up once, then kept.
        self._children: dict = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (self.requests.labels(route, method, str(status)),
                                              self.latency.labels(route, method))
        children[0].inc()
        children[1].observe(seconds)

    def authorized(self, header: str | None) -> bool:
        """Whether ``Authorization`` carries the token (compared in constant time)."""
        scheme, _, token = (header or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), self.token)


class _DatabaseCollector:
    """Gauges counted in the database when Prometheus scrapes, so every worker agrees."""

    def __init__(self):
        from prometheus_client.core import GaugeMetricFamily  # noqa: PLC0415 - see module docstring

        self.family = GaugeMetricFamily

    def collect(self):
        """The gauges, one query each."""
        open_report = sa.exists().where(Report.comment_id == Comment.id, Report.resolved.is_(False))
        per_site = {
            "causerie_comments_pending": ("Comments waiting for a moderator, by site.",
                                          Comment.status == Status.PENDING),
            "causerie_comments_reported": ("Comments with open reader reports, by site.",
                                           sa.and_(open_report, Comment.status != Status.DELETED)),
        }
        for name, (documentation, condition) in per_site.items():
            gauge = self.family(name, documentation, labels=("site",))
            counted = sa.select(Site.key, sa.func.count(Comment.id)).outerjoin(
                Comment, sa.and_(Comment.site_id == Site.id, condition)).group_by(Site.key).order_by(Site.key)
            for key, count in db.session.execute(counted):
                gauge.add_metric((key,), count)
            yield gauge
        by_status = dict(db.session.execute(
            sa.select(Outbox.status, sa.func.count(Outbox.id)).group_by(Outbox.status)).all())
        yield self.family("causerie_outbox_backlog", "Emails and webhooks waiting to be delivered.",
                          value=by_status.get(Delivery.PENDING, 0))
        yield self.family("causerie_outbox_failed", "Deliveries given up on after every retry.",
                          value=by_status.get(Delivery.FAILED, 0))


def init_app(app: Flask) -> None:
    """Switch metrics on when ``CAUSERIE_METRICS_TOKEN`` is set."""
    if not app.config.get("CAUSERIE_METRICS_TOKEN"):
        return
    app.extensions[KEY] = Metrics(app)
    app.before_request(_start)
    app.after_request(_count)
    app.add_url_rule("/metrics", "metrics", scrape)


def _start() -> None:
    g.metrics_started = time.perf_counter()


def _count(response: Response) -> Response:
    started = g.get("metrics_started")
    if started is not None:
        rule = request.url_rule
        current_app.extensions[KEY].observe(rule.rule if rule is not None else UNMATCHED, request.method,
                                            response.status_code, time.perf_counter() - started)
    return response


def scrape():
    """Prometheus' text format, for a scraper holding the token."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest  # noqa: PLC0415 - see module docstring

    metrics: Metrics = current_app.extensions[KEY]
    if not metrics.authorized(request.headers.get("Authorization")):
        return error_response(401, "unauthorized", "Send the metrics token as a Bearer token.",
                              headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    return Response(generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST,
                                                                "Cache-Control": "no-store"})


def cache_recorder(name: str):
    """For a read-path cache: a function counting a lookup (``True`` for a
    hit), or None when metrics are off (so the cache pays nothing)."""
    metrics: Metrics | None = current_app.extensions.get(KEY)
    if metrics is None:
        return None
    hit, miss = metrics.cache.labels(name, "hit"), metrics.cache.labels(name, "miss")
    return lambda found: (hit if found else miss).inc()


def count_spam_decision(decision: str) -> None:
    """Count one decision of the spam filter (``publish``, ``hold``, ``spam``, ...)
    in ``causerie_spam_decisions_total``; nothing when metrics are off."""
    metrics: Metrics | None = current_app.extensions.get(KEY)
    if metrics is not None:
        metrics.spam.labels(decision).inc()
