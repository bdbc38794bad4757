"""Periods and date windows, in each site's own calendar days.

Matomo's days are calendar days in the site's timezone, so "today" and "N days back" are computed
per site here, never with the machine's clock or UTC. A window is cut into chunks of whole periods
so that no period is requested twice and one response stays a reasonable size.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal, get_args

import pendulum

Period = Literal["day", "week", "month", "year", "range"]
PERIODS: tuple[str, ...] = get_args(Period)

#: Matomo refuses any date before this one ("a date before first website was online").
MATOMO_FIRST_DAY = date(1991, 8, 6)

_MANUAL_OFFSET = re.compile(r"^UTC(?P<offset>[+-]\d+(?:\.\d+)?)?$")


@functools.lru_cache(maxsize=1024)
def site_timezone(name: str) -> pendulum.Timezone | pendulum.FixedTimezone:
    """Return a timezone for a Matomo site timezone: an Olson name or a manual ``UTC+5.5``."""
    if match := _MANUAL_OFFSET.match(name.strip()):
        hours = float(match.group("offset") or 0)
        return pendulum.FixedTimezone(round(hours * 3600))
    return pendulum.timezone(name)


def utc_now() -> pendulum.DateTime:
    """The current time; the single clock of the tap (tests pin it by replacing this)."""
    return pendulum.now("UTC")


def site_today(timezone_name: str) -> date:
    """Today's calendar date in the site's timezone."""
    now = utc_now().in_timezone(site_timezone(timezone_name))
    return date(now.year, now.month, now.day)


def days_before(day: date, days: int) -> date:
    """The day ``days`` before ``day``, or the first representable day when that is earlier.

    Settings are bounded, but a bookmark of 0001-01-02 with a lookback must not end the run
    with an OverflowError.
    """
    try:
        return day - timedelta(days=days)
    except OverflowError:
        return date.min


def period_start(day: date, period: Period) -> date:
    """First day of the period that contains ``day`` (weeks start on Monday, as in Matomo)."""
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    if period == "year":
        return day.replace(month=1, day=1)
    return day


def period_end(day: date, period: Period) -> date:
    """Last day of the period that contains ``day``."""
    if period == "week":
        return period_start(day, period) + timedelta(days=6)
    if period == "month":
        following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        return following - timedelta(days=1)
    if period == "year":
        return day.replace(month=12, day=31)
    return day


def next_period_start(day: date, period: Period) -> date:
    """First day of the period after the one that contains ``day``."""
    return period_end(day, period) + timedelta(days=1)


def parse_period_key(key: str, period: Period) -> tuple[date, date]:
    """Turn Matomo's period key into (start, end).

    Keys: day ``2026-11-20``, week ``2026-11-16,2026-11-22``, month ``2026-10``, year ``2026``.
    """
    if "," in key:
        first, last = key.split(",", 1)
        return date.fromisoformat(first), date.fromisoformat(last)
    parts = key.split("-")
    if len(parts) == 1:
        start = date(int(parts[0]), 1, 1)
    elif len(parts) == 2:
        start = date(int(parts[0]), int(parts[1]), 1)
    else:
        start = date.fromisoformat(key)
    if period == "range":
        return start, start
    return period_start(start, period), period_end(start, period)


@dataclass(frozen=True)
class DateWindow:
    """An inclusive window of site-local calendar days."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            msg = f"window ends ({self.end}) before it starts ({self.start})"
            raise ValueError(msg)

    @property
    def days(self) -> int:
        """Number of days in the window."""
        return (self.end - self.start).days + 1

    def as_param(self) -> str:
        """The window as Matomo's ``date=START,END``."""
        return f"{self.start.isoformat()},{self.end.isoformat()}"


def periods_in(window: DateWindow, period: Period) -> list[DateWindow]:
    """Every period that overlaps the window, as whole periods (range: the window itself)."""
    if period == "range":
        return [window]
    result = []
    cursor = period_start(window.start, period)
    while cursor <= window.end:
        result.append(DateWindow(cursor, period_end(cursor, period)))
        cursor = next_period_start(cursor, period)
    return result


def chunk_window(window: DateWindow, period: Period, max_periods: int) -> Iterator[DateWindow]:
    """Cut a window into consecutive chunks of at most ``max_periods`` whole periods.

    Each chunk starts on a period boundary and ends on the window's end or a period boundary,
    so Matomo answers every period exactly once across the chunks.
    """
    if period == "range":
        yield window
        return
    periods = periods_in(window, period)
    for index in range(0, len(periods), max(1, max_periods)):
        group = periods[index : index + max_periods]
        yield DateWindow(group[0].start, min(group[-1].end, window.end))


@dataclass(frozen=True)
class DateSettings:
    """The user's date settings, already checked for consistency (see settings.py)."""

    start_date: date | None = None
    start_days_back: int | None = None
    end_date: date | None = None
    end_days_back: int | None = None
    report_date: date | None = None
    report_days_back: int | None = None
    lookback_days: int = 3

    @property
    def is_single_report_date(self) -> bool:
        """True when the user asked for the one period containing a report date."""
        return self.report_date is not None or self.report_days_back is not None


def resolve_window(
    settings: DateSettings,
    period: Period,
    today: date,
    bookmark: date | None = None,
) -> DateWindow | None:
    """The window to request for one site, or None when there is nothing to read yet.

    - A report date (specific or N days back) gives the one period that contains it.
    - Otherwise the window runs from the configured start (or the bookmark minus the lookback,
      whichever is later) to the configured end (default: the site's today), never past today.
    - ``range`` is one aggregate over the configured window: bookmarks do not move it.
    - Non-range windows start on a period boundary, so a bookmark inside a week or a month
      re-reads that whole period (it may still be in progress).
    """
    if settings.is_single_report_date:
        day = settings.report_date or days_before(today, settings.report_days_back or 0)
        day = min(day, today)
        if period == "range":
            return DateWindow(day, day)
        return DateWindow(period_start(day, period), min(period_end(day, period), today))

    if settings.start_date is not None:
        start = settings.start_date
    else:
        start = days_before(today, settings.start_days_back or 0)
    if settings.end_date is not None:
        end = settings.end_date
    elif settings.end_days_back is not None:
        end = days_before(today, settings.end_days_back)
    else:
        end = today
    end = min(end, today)

    start = max(start, MATOMO_FIRST_DAY)  # "36500 days back" means from the beginning
    if period != "range":
        if bookmark is not None:
            start = max(start, days_before(bookmark, settings.lookback_days))
        start = period_start(start, period)
        if start < MATOMO_FIRST_DAY:
            start = next_period_start(start, period)
    if start > end:
        return None
    return DateWindow(start, end)
