"""Stats: per-day counts, shares, median time to decision, backlog, chart and CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from service.extensions import db
from service.models import Site, utcnow
from service.moderation import stats
from tests.moderation_helpers import add_comment


@pytest.fixture
def history(app, two_sites):
    """Comments over three days on ``blog``, and one on ``other``."""
    now = utcnow() - timedelta(seconds=1)
    created = now - timedelta(days=2)
    add_comment(app, "blog", "a", status="approved", created_at=created, moderated_at=created + timedelta(minutes=10))
    add_comment(app, "blog", "b", status="approved", created_at=created, moderated_at=created + timedelta(minutes=30))
    add_comment(app, "blog", "c", status="rejected", created_at=now - timedelta(days=1),
                moderated_at=now - timedelta(days=1) + timedelta(hours=2))
    add_comment(app, "blog", "d", status="spam", created_at=now - timedelta(days=1))
    add_comment(app, "blog", "e", status="pending", created_at=now)
    add_comment(app, "blog", "old", status="approved", created_at=now - timedelta(days=40))
    add_comment(app, "other", "x", status="pending", created_at=now)
    return now


def blog_report(app, days=7, now=None):
    with app.app_context():
        site_id = db.session.scalar(sa.select(Site.id).where(Site.key == "blog"))
        return stats.compute([site_id], days, now)


def test_counts_comments_per_day_by_status(app, history):
    report = blog_report(app, now=history)
    assert len(report.days) == 7 and report.days[-1].day == history.date()
    by_day = {d.day: d.counts for d in report.days}
    assert by_day[(history - timedelta(days=2)).date()]["approved"] == 2
    assert by_day[(history - timedelta(days=1)).date()] | {} == {"approved": 0, "rejected": 1, "spam": 1,
                                                                  "pending": 0, "deleted": 0}
    assert report.received == 5


def test_days_without_comments_count_zero(app, history):
    report = blog_report(app, now=history)
    assert report.days[0].received == 0


def test_period_excludes_older_comments(app, history):
    assert blog_report(app, days=7, now=history).total("approved") == 2
    assert blog_report(app, days=90, now=history).total("approved") == 3


def test_shares_are_fractions_of_what_arrived(app, history):
    report = blog_report(app, now=history)
    assert report.share("approved") == pytest.approx(2 / 5)
    assert report.share("spam") == pytest.approx(1 / 5)


def test_median_time_to_decision_counts_decided_comments(app, history):
    report = blog_report(app, now=history)
    assert report.decided_by_moderators == 3
    assert report.median_decision_seconds == 30 * 60


def test_backlog_counts_pending_comments_of_the_sites_only(app, history):
    report = blog_report(app, now=history)
    assert report.backlog == 1 and report.oldest_waiting is not None


def test_empty_period_has_no_median_and_zero_shares(app, two_sites):
    report = blog_report(app)
    assert report.received == 0 and report.median_decision_seconds is None and report.share("approved") == 0


def test_duration_picks_a_readable_unit():
    assert stats.duration(45) == (45, "seconds")
    assert stats.duration(30 * 60) == (30, "minutes")
    assert stats.duration(5 * 3600) == (5, "hours")
    assert stats.duration(3 * 86400) == (3, "days")
    assert stats.duration(None) is None


def test_chart_bars_are_scaled_to_the_busiest_day(app, history):
    report = blog_report(app, now=history)
    chart = stats.chart(report)
    assert len(chart.bars) == 7
    tallest = max(chart.bars, key=lambda b: sum(s["height"] for s in b["segments"]))
    assert tallest["day"].received == 2
    assert all(chart.plot_top <= s["y"] <= chart.plot_bottom for b in chart.bars for s in b["segments"])


def test_stats_page_shows_figures_and_an_svg_chart(app, mod, history):
    page = mod.get("/moderate/stats?days=7").get_data(as_text=True)
    assert "<svg" in page and 'role="img"' in page and "Comments received per day" in page
    assert "Median time to decision" in page and "30 minutes" in page and "40 %" in page


def test_stats_page_in_french(app, mod, history):
    page = mod.get("/moderate/stats", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "Délai médian de décision" in page and "30 minutes" in page


def test_stats_csv_has_one_row_per_day(app, mod, history):
    response = mod.get("/moderate/stats.csv?days=7")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["date", "received", "approved", "rejected", "spam", "pending", "deleted", "filter_published",
                       "filter_held", "filter_filed", "leaked", "rescued", "untouched"]
    assert len(rows) == 8
    assert sum(int(r[1]) for r in rows[1:]) == 5


def test_stats_of_another_sites_key_are_404(app, mod):
    assert mod.get("/moderate/stats?site=other").status_code == 404
    assert mod.get("/moderate/stats.csv?site=other").status_code == 404


def test_unknown_period_falls_back_to_30_days(app, mod, history):
    rows = list(csv.reader(io.StringIO(mod.get("/moderate/stats.csv?days=abc").get_data(as_text=True))))
    assert len(rows) == 31


def test_admin_stats_cover_every_site(app, admin, history):
    rows = list(csv.reader(io.StringIO(admin.get("/moderate/stats.csv?days=7").get_data(as_text=True))))
    assert sum(int(r[1]) for r in rows[1:]) == 6


@pytest.fixture
def filter_history(app, two_sites):
    """What the spam filter decided on ``blog`` today, and what moderators made of it."""
    now = utcnow() - timedelta(seconds=1)
    later = now + timedelta(seconds=0.5)
    for text, verdict, status, moderated in (
            ("kept", "publish", "approved", False), ("leak", "publish", "spam", True),
            ("filed", "spam", "spam", False), ("rescued", "spam", "approved", True),
            ("held spam", "hold", "spam", True), ("held ham", "hold", "approved", True),
            ("filed 2", "spam", "spam", False)):
        add_comment(app, "blog", text, status=status, created_at=now, spam_verdict=verdict, spam_score=0.5,
                    moderated_at=later if moderated else None)
    return now


def test_filter_record_counts_decisions_and_overturns(app, filter_history):
    record = blog_report(app).spam_filter
    assert (record.published, record.held, record.filed) == (2, 2, 3)
    assert (record.leaked, record.rescued, record.untouched) == (1, 1, 3)


def test_filter_precision_and_recall_come_from_moderators_decisions(app, filter_history):
    record = blog_report(app).spam_filter
    assert record.precision == pytest.approx(2 / 3)  # 3 filed, 1 rescued
    assert record.recall == pytest.approx(3 / 4)  # 2 filed and kept + 1 held spam, 1 leaked


def test_filter_record_without_decisions_has_no_precision(app, two_sites):
    record = blog_report(app).spam_filter
    assert record.precision is None and record.recall is None


def test_stats_page_shows_the_filters_record(app, mod, filter_history):
    page = mod.get("/moderate/stats?days=7").get_data(as_text=True)
    assert "The spam filter" in page and "67 %" in page and "75 %" in page


def test_stats_csv_has_the_filters_record_per_day(app, mod, filter_history):
    rows = list(csv.reader(io.StringIO(mod.get("/moderate/stats.csv?days=7").get_data(as_text=True))))
    assert rows[-1][-6:] == ["2", "2", "3", "1", "1", "3"]
