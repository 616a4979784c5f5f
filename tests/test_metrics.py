"""``/metrics``: off without a token, Prometheus text with it, counted by route."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families

from service import metrics
from service.extensions import db
from service.models import Outbox
from tests.conftest import ORIGIN, add_site
from tests.moderation_helpers import add_comment
from tests.servers import ROOT

TOKEN = "scrape-me-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def app_settings():
    return {"CAUSERIE_METRICS_TOKEN": TOKEN}


def samples(client) -> dict:
    """The scrape as {(sample name, sorted labels): value}."""
    response = client.get("/metrics", headers=AUTH)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


@pytest.mark.parametrize("app_settings", [{}])
def test_metrics_do_not_exist_without_a_token(client):
    assert client.get("/metrics", headers=AUTH).status_code == 404


def test_metrics_refuse_a_scrape_without_the_token(client):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN},
                    {"Authorization": f"Basic {TOKEN}"}):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_metrics_count_requests_by_url_rule_and_status(client, reader):
    first = reader.post().get_json()["comment"]["id"]
    second = reader.post(text="Encore").get_json()["comment"]["id"]
    client.get(f"/api/comments/{first}", headers={"Authorization": "Bearer nope", "Origin": ORIGIN})
    client.get(f"/api/comments/{second}", headers={"Authorization": "Bearer nope", "Origin": ORIGIN})
    client.get("/no/such/page")
    found = samples(client)
    rule = "/api/comments/<int:comment_id>"
    assert found[("causerie_http_requests_total", (("method", "GET"), ("route", rule), ("status", "403")))] == 2
    assert found[("causerie_http_requests_total", (("method", "POST"), ("route", "/api/comments"),
                                                   ("status", "201")))] == 2
    assert found[("causerie_http_requests_total", (("method", "GET"), ("route", "unmatched"), ("status", "404")))] == 1
    assert not any(str(first) in dict(labels).get("route", "") for _, labels in found)
    timed = ("causerie_http_request_duration_seconds_count", (("method", "POST"), ("route", "/api/comments")))
    assert found[timed] == 2


def test_metrics_count_the_read_caches_hits_and_misses(client, reader):
    reader.post()
    for _ in range(3):
        reader.read()
    client.get("/api/counts", query_string={"site": "blog", "url": f"{ORIGIN}/post"})
    client.get("/api/counts", query_string={"site": "blog", "url": f"{ORIGIN}/post"})
    found = samples(client)
    lookups = {dict(labels)["cache"] + ":" + dict(labels)["result"]: value
               for (name, labels), value in found.items() if name == "causerie_cache_lookups_total"}
    # The post itself read the thread once (for its ticket) before it existed.
    assert lookups["thread_cache:miss"] == 1 and lookups["thread_cache:hit"] == 2
    assert lookups["count_cache:miss"] == 1 and lookups["count_cache:hit"] == 1


def test_metrics_gauge_pending_and_reported_comments_per_site(app, client, reader, site):
    add_site(app, "quiet")
    add_comment(app, site, status="pending")
    add_comment(app, site, status="pending")
    published = reader.post().get_json()["comment"]["id"]
    assert reader.report(published).status_code == 202
    found = samples(client)
    assert found[("causerie_comments_pending", (("site", "blog"),))] == 2
    assert found[("causerie_comments_pending", (("site", "quiet"),))] == 0
    assert found[("causerie_comments_reported", (("site", "blog"),))] == 1


def test_metrics_gauge_the_outbox_backlog_and_failed_deliveries(app, client):
    with app.app_context():
        db.session.add_all([Outbox(topic="comment.created", status="pending"),
                            Outbox(topic="comment.created", status="pending"),
                            Outbox(topic="comment.created", status="failed"),
                            Outbox(topic="comment.created", status="sent")])
        db.session.commit()
    found = samples(client)
    assert found[("causerie_outbox_backlog", ())] == 2
    assert found[("causerie_outbox_failed", ())] == 1


def test_spam_decisions_are_counted_by_decision(app, client):
    with app.app_context():
        metrics.count_spam_decision("spam")
        metrics.count_spam_decision("spam")
        metrics.count_spam_decision("publish")
    found = samples(client)
    assert found[("causerie_spam_decisions_total", (("decision", "spam"),))] == 2
    assert found[("causerie_spam_decisions_total", (("decision", "publish"),))] == 1


@pytest.mark.parametrize("app_settings", [{}])
def test_counting_a_spam_decision_without_metrics_does_nothing(app):
    with app.app_context():
        metrics.count_spam_decision("spam")
    assert metrics.KEY not in app.extensions


def test_a_web_worker_without_a_token_does_not_load_prometheus_client(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("CAUSERIE_")}
    env.update({"CAUSERIE_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}", "CAUSERIE_SECRET_KEY": "x"})
    loaded = subprocess.run([sys.executable, "-c", "import sys, wsgi; print(' '.join(sys.modules))"], cwd=ROOT,
                            env=env, capture_output=True, text=True, check=True).stdout.split()
    assert "prometheus_client" not in loaded
