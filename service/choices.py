"""The closed sets of values the service stores and compares: one enum each.

They are ``StrEnum``: a member *is* its string, so it equals the value read
back from the database, binds as that string in SQL, and reads the same in
JSON, templates and logs.  The database refuses any other comment status,
site mode or digest frequency (CHECK constraints, see ``models``).
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Where a comment stands.  Readers are only ever served approved ones."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    SPAM = "spam"
    DELETED = "deleted"


class Mode(StrEnum):
    """How a site moderates what the other rules leave open."""

    AUTO = "auto"  # the spam filter publishes, holds or files as spam
    PRE = "pre"  # hold every comment
    FIRST_TIME = "first-time"  # hold commenters not approved before
    POST = "post"  # publish at once, moderate afterwards


DEFAULT_MODE = Mode.AUTO


class Digest(StrEnum):
    """How often a site's moderators are emailed about held comments."""

    INSTANT = "instant"
    HOURLY = "hourly"
    DAILY = "daily"
    OFF = "off"


class SpamVerdict(StrEnum):
    """The spam filter's call on a new comment."""

    PUBLISH = "publish"
    HOLD = "hold"
    SPAM = "spam"


class SpamLabel(StrEnum):
    """What a comment teaches the spam filter."""

    SPAM = "spam"
    HAM = "ham"


class Delivery(StrEnum):
    """Where a notification of the outbox stands."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


def values_of(choices: type[StrEnum]) -> tuple[str, ...]:
    """The plain strings of an enum, in order (for click choices, CHECK constraints, messages)."""
    return tuple(member.value for member in choices)
