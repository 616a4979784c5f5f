"""Moderation statistics: what arrived, what was decided, how fast.

All numbers are per period (the last N days, in UTC) over a set of sites.
The chart is plain SVG geometry computed here and drawn by a template: no
JavaScript library, and it prints and reads without a network.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from ..choices import SpamVerdict, Status
from ..extensions import db
from ..models import Comment, utcnow

PERIODS = (7, 30, 90, 365)
# The CSV's columns.
STATUSES = (Status.APPROVED, Status.REJECTED, Status.SPAM, Status.PENDING, Status.DELETED)
# The chart's stacked segments, bottom up.
CHART_STATUSES = (Status.APPROVED, Status.PENDING, Status.REJECTED, Status.SPAM)
# What the spam filter did, and how moderators answered it (see FilterRecord).
FILTER_COLUMNS = ("filter_published", "filter_held", "filter_filed", "leaked", "rescued", "untouched")
UNWANTED = (Status.SPAM, Status.REJECTED, Status.DELETED)


@dataclass
class FilterRecord:
    """The spam filter's decisions over a period, and the moderators' answers to them.

    A comment's truth is what a moderator decided when one did; otherwise the
    filter's call stands (nobody overturned it).
    """

    published: int = 0  # the filter trusted it
    held: int = 0  # the filter doubted
    filed: int = 0  # the filter was sure it was spam
    leaked: int = 0  # published, then a moderator removed it as unwanted
    rescued: int = 0  # filed as spam, then a moderator approved it
    held_spam: int = 0  # held, and a moderator removed it
    untouched: int = 0  # published or filed, and no moderator had to open it

    def add(self, verdict: str, status: str, moderated: bool, count: int) -> None:
        """Count ``count`` comments the filter called ``verdict`` that now have ``status``."""
        if verdict == SpamVerdict.PUBLISH:
            self.published += count
            self.leaked += count if moderated and status in UNWANTED else 0
        elif verdict == SpamVerdict.HOLD:
            self.held += count
            self.held_spam += count if moderated and status in UNWANTED else 0
        elif verdict == SpamVerdict.SPAM:
            self.filed += count
            self.rescued += count if moderated and status == Status.APPROVED else 0
        if verdict in (SpamVerdict.PUBLISH, SpamVerdict.SPAM) and not moderated:
            self.untouched += count

    @property
    def precision(self) -> float | None:
        """Of what it filed as spam, the share moderators left there."""
        return (self.filed - self.rescued) / self.filed if self.filed else None

    @property
    def recall(self) -> float | None:
        """Of the spam known (filed and kept, held and removed, leaked), the share kept from readers."""
        caught = self.filed - self.rescued + self.held_spam
        return caught / (caught + self.leaked) if caught + self.leaked else None

    @property
    def overturned(self) -> int:
        """Decisions of the filter a moderator reversed."""
        return self.leaked + self.rescued

    def row(self) -> list[int]:
        """The numbers in the order of :data:`FILTER_COLUMNS`."""
        return [self.published, self.held, self.filed, self.leaked, self.rescued, self.untouched]


@dataclass
class Day:
    """The comments that arrived on one day, by their status now."""

    day: date
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    spam_filter: FilterRecord = field(default_factory=FilterRecord)

    @property
    def received(self) -> int:
        """Every comment that arrived that day."""
        return sum(self.counts.values())


@dataclass
class Report:
    """The numbers of one period."""

    start: date
    end: date
    days: list[Day]
    decided_by_moderators: int
    median_decision_seconds: float | None
    backlog: int
    oldest_waiting: datetime | None
    spam_filter: FilterRecord = field(default_factory=FilterRecord)

    @property
    def received(self) -> int:
        """Comments that arrived in the period."""
        return sum(d.received for d in self.days)

    def total(self, status: str) -> int:
        """Comments of the period that have ``status`` now."""
        return sum(d.counts[status] for d in self.days)

    def share(self, status: str) -> float:
        """The fraction (0..1) of the period's comments that have ``status`` now."""
        return self.total(status) / self.received if self.received else 0.0


def compute(site_ids: list[int], days: int, now: datetime | None = None) -> Report:
    """The report for the last ``days`` days (today included) of these sites."""
    now = now or utcnow()
    end = now.date()
    start = end - timedelta(days=days - 1)
    since = datetime.combine(start, datetime.min.time())
    in_period = sa.and_(Comment.site_id.in_(site_ids), Comment.created_at >= since, Comment.created_at <= now)

    by_day = {start + timedelta(days=i): Day(start + timedelta(days=i)) for i in range(days)}
    day_column = sa.func.date(Comment.created_at)
    for day_value, status, count in db.session.execute(
        sa.select(day_column, Comment.status, sa.func.count(Comment.id)).where(in_period)
        .group_by(day_column, Comment.status)
    ):
        # SQLite answers a string, PostgreSQL a date.
        key = date.fromisoformat(str(day_value)[:10])
        if key in by_day and status in STATUSES:
            by_day[key].counts[status] += count

    spam_filter = FilterRecord()
    moderated = Comment.moderated_at.is_not(None)
    for day_value, verdict, status, was_moderated, count in db.session.execute(
        sa.select(day_column, Comment.spam_verdict, Comment.status, moderated, sa.func.count(Comment.id))
        .where(in_period, Comment.spam_verdict.is_not(None))
        .group_by(day_column, Comment.spam_verdict, Comment.status, moderated)
    ):
        key = date.fromisoformat(str(day_value)[:10])
        spam_filter.add(verdict, status, bool(was_moderated), count)
        if key in by_day:
            by_day[key].spam_filter.add(verdict, status, bool(was_moderated), count)

    # Time to decision counts the comments a person decided; rules decide instantly.
    durations = [
        (moderated - created).total_seconds()
        for created, moderated in db.session.execute(
            sa.select(Comment.created_at, sa.type_coerce(Comment.moderated_at, sa.DateTime))
            .where(in_period, Comment.moderated_at.is_not(None), Comment.staff.is_(False))
        )
    ]
    pending = sa.and_(Comment.site_id.in_(site_ids), Comment.status == Status.PENDING)
    backlog, oldest = db.session.execute(
        sa.select(sa.func.count(Comment.id), sa.func.min(Comment.created_at)).where(pending)
    ).one()
    return Report(
        start=start, end=end, days=list(by_day.values()), decided_by_moderators=len(durations),
        median_decision_seconds=statistics.median(durations) if durations else None,
        backlog=backlog, oldest_waiting=oldest, spam_filter=spam_filter,
    )


def duration(seconds: float | None) -> tuple[int, str] | None:
    """A duration as (amount, unit) in the largest sensible unit."""
    if seconds is None:
        return None
    if seconds < 120:
        return round(seconds), "seconds"
    if seconds < 2 * 3600:
        return round(seconds / 60), "minutes"
    if seconds < 2 * 86400:
        return round(seconds / 3600), "hours"
    return round(seconds / 86400), "days"


@dataclass
class Chart:
    """SVG geometry of the per-day stacked bar chart."""

    width: int
    height: int
    plot_top: int
    plot_bottom: int
    plot_left: int
    bars: list[dict]
    ticks: list[dict]
    labels: list[dict]
    statuses: tuple[Status, ...] = CHART_STATUSES


def chart(report: Report, width: int = 720, height: int = 240) -> Chart:
    """Stacked bars (approved, pending, rejected, spam) per day, with a y axis."""
    left, right, top, bottom = 40, 8, 10, height - 28
    plot_width = width - left - right
    peak = max((d.received for d in report.days), default=0)
    scale_max = _nice_ceiling(peak)
    slot = plot_width / max(1, len(report.days))
    bar_width = max(1.0, slot * 0.72)
    bars = []
    for index, day in enumerate(report.days):
        x = left + index * slot + (slot - bar_width) / 2
        y: float = bottom
        segments = []
        for status in CHART_STATUSES:
            count = day.counts[status]
            if not count:
                continue
            h = (bottom - top) * count / scale_max
            y -= h
            segments.append({"status": status, "y": round(y, 2), "height": round(h, 2), "count": count})
        bars.append({"x": round(x, 2), "width": round(bar_width, 2), "day": day, "segments": segments})
    ticks = [{"value": v, "y": round(bottom - (bottom - top) * v / scale_max, 2)}
             for v in _tick_values(scale_max)]
    every = max(1, len(report.days) // 8)
    labels = [{"x": round(left + i * slot + slot / 2, 2), "day": d.day}
              for i, d in enumerate(report.days) if i % every == 0]
    return Chart(width, height, top, bottom, left, bars, ticks, labels)


def _nice_ceiling(value: int) -> int:
    """The smallest 1/2/5 x 10^n at or above ``value`` (at least 4)."""
    value = max(4, value)
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


def _tick_values(scale_max: int) -> list[int]:
    step = scale_max // 4 if scale_max % 4 == 0 else scale_max // 5 if scale_max % 5 == 0 else scale_max // 2
    return list(range(0, scale_max + 1, max(1, step)))


def write_csv(report: Report, writer) -> None:
    """One row per day: date, received, one column per status, then the spam filter's record."""
    writer.writerow(["date", "received", *STATUSES, *FILTER_COLUMNS])
    for day in report.days:
        writer.writerow([day.day.isoformat(), day.received, *(day.counts[s] for s in STATUSES),
                         *day.spam_filter.row()])
