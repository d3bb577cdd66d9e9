"""Which version is in force on a given day, and how dates are written.

PRODUCT.md: the version in force is the latest whose ``effective`` is on or
before the day; a later one is upcoming; earlier ones are superseded.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:  # the no-op build (cli.py) needs build_day, not the model and its dataclasses
    from .model import Policy, Status, Version

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


class DayError(ValueError):
    """The build's day cannot be known (a malformed SOURCE_DATE_EPOCH)."""


def wall_clock() -> dt.datetime:
    """The real time, UTC (``lock --check --live`` refuses to publish just before midnight)."""
    return dt.datetime.now(dt.UTC)


def build_day(as_of: dt.date | None = None, now: dt.datetime | None = None) -> dt.date:
    """The build's "today": --as-of, else SOURCE_DATE_EPOCH (UTC), else the UTC date (of
    ``now``, when the caller read the clock already: one reading, one day)."""
    if as_of is not None:
        return as_of
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC).date()
        except (ValueError, OverflowError, OSError):
            raise DayError(
                f"SOURCE_DATE_EPOCH={epoch!r} is not a time: give seconds since 1970 "
                "(e.g. 1767225600), or unset it, or pass --as-of YYYY-MM-DD"
            ) from None
    return (now or wall_clock()).date()


def in_force(policy: Policy, today: dt.date) -> Version | None:
    current = None
    for version in policy.versions:
        if version.effective <= today:
            current = version
    return current


def upcoming(policy: Policy, today: dt.date) -> tuple[Version, ...]:
    return tuple(v for v in policy.versions if v.effective > today)


def statuses(policy: Policy, today: dt.date) -> list[Status]:
    """The status of every version, in order (one pass, not one per version)."""
    from .model import Status  # here: see the imports above

    current = in_force(policy, today)
    return [
        Status.UPCOMING
        if version.effective > today
        else Status.IN_FORCE
        if version is current
        else Status.SUPERSEDED
        for version in policy.versions
    ]


def canonical_version(policy: Policy, today: dt.date) -> Version:
    """What ``/<policy>/`` shows: the version in force, else the first upcoming one."""
    return in_force(policy, today) or policy.versions[0]


def previous(policy: Policy, version: Version) -> Version | None:
    index = policy.versions.index(version)
    return policy.versions[index - 1] if index else None


def human_date(version_or_date: Version | dt.date) -> str:
    """'1 April 2026', or 'April 2026' for a version whose source gives only a month."""
    if isinstance(version_or_date, dt.date) or not hasattr(version_or_date, "month_only"):
        day = cast(dt.date, version_or_date)  # anything but a date or a Version fails on .day
    else:  # a Version, known by its field (this module does not import the model: see above)
        day = version_or_date.effective
        if version_or_date.month_only:
            return f"{MONTHS[day.month - 1]} {day.year}"
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def machine_date(version: Version) -> str:
    """The ``datetime`` attribute: a valid HTML date or month string."""
    return (
        version.effective.strftime("%Y-%m") if version.month_only else version.effective.isoformat()
    )
