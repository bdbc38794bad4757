"""Periods, windows and the settings checks, without a server."""

from __future__ import annotations

import itertools
from datetime import date

import pendulum
import pytest

from tap_matomo import dates
from tap_matomo.dates import (
    DateSettings,
    DateWindow,
    chunk_window,
    parse_period_key,
    resolve_window,
    site_today,
)
from tap_matomo.settings import check_settings

TODAY = date(2026, 11, 26)


@pytest.mark.parametrize(
    ("key", "period", "expected"),
    [
        ("2026-11-20", "day", (date(2026, 11, 20), date(2026, 11, 20))),
        ("2026-11-16,2026-11-22", "week", (date(2026, 11, 16), date(2026, 11, 22))),
        ("2026-10", "month", (date(2026, 10, 1), date(2026, 10, 31))),
        ("2026-02", "month", (date(2026, 2, 1), date(2026, 2, 28))),
        ("2026", "year", (date(2026, 1, 1), date(2026, 12, 31))),
        ("2026-10-01,2026-10-31", "range", (date(2026, 10, 1), date(2026, 10, 31))),
    ],
)
def test_period_keys(key: str, period: str, expected: tuple[date, date]) -> None:
    assert parse_period_key(key, period) == expected


@pytest.mark.parametrize(
    ("timezone", "utc", "expected"),
    [
        ("UTC", pendulum.datetime(2026, 11, 27, 3, tz="UTC"), date(2026, 11, 27)),
        ("America/New_York", pendulum.datetime(2026, 11, 27, 3, tz="UTC"), date(2026, 11, 26)),
        ("Europe/Paris", pendulum.datetime(2026, 11, 26, 23, 30, tz="UTC"), date(2026, 11, 27)),
        ("UTC+5.5", pendulum.datetime(2026, 11, 26, 19, tz="UTC"), date(2026, 11, 27)),
        ("UTC-4", pendulum.datetime(2026, 11, 27, 3, tz="UTC"), date(2026, 11, 26)),
    ],
)
def test_site_today(
    monkeypatch: pytest.MonkeyPatch, timezone: str, utc: pendulum.DateTime, expected: date
) -> None:
    monkeypatch.setattr(dates, "utc_now", lambda: utc)
    assert site_today(timezone) == expected


def test_chunks_are_whole_periods_without_overlap() -> None:
    window = DateWindow(date(2026, 1, 10), date(2026, 11, 26))
    months = list(chunk_window(window, "month", 4))
    assert [(c.start, c.end) for c in months] == [
        (date(2026, 1, 1), date(2026, 4, 30)),
        (date(2026, 5, 1), date(2026, 8, 31)),
        (date(2026, 9, 1), date(2026, 11, 26)),
    ]
    days = list(chunk_window(DateWindow(date(2026, 9, 27), date(2026, 11, 26)), "day", 31))
    assert sum(c.days for c in days) == 61
    for before, after in itertools.pairwise(days):
        assert before.end.toordinal() + 1 == after.start.toordinal()


@pytest.mark.parametrize(
    ("settings", "period", "bookmark", "expected"),
    [
        (DateSettings(start_date=date(2026, 11, 1)), "day", None, (date(2026, 11, 1), TODAY)),
        (
            DateSettings(start_date=date(2026, 11, 1)),
            "day",
            date(2026, 11, 20),
            (date(2026, 11, 17), TODAY),
        ),
        (
            DateSettings(start_date=date(2026, 11, 19), lookback_days=5),
            "day",
            date(2026, 11, 20),
            (date(2026, 11, 19), TODAY),
        ),
        (
            DateSettings(start_date=date(2026, 11, 1)),
            "week",
            date(2026, 11, 23),
            (date(2026, 11, 16), TODAY),
        ),
        (
            DateSettings(start_date=date(2026, 1, 1)),
            "month",
            date(2026, 11, 1),
            (date(2026, 10, 1), TODAY),
        ),
        (
            DateSettings(start_days_back=10, end_days_back=5),
            "day",
            None,
            (date(2026, 11, 16), date(2026, 11, 21)),
        ),
        (
            DateSettings(start_date=date(2026, 10, 1), end_date=date(2026, 10, 31)),
            "range",
            date(2026, 10, 1),
            (date(2026, 10, 1), date(2026, 10, 31)),
        ),
        (
            DateSettings(start_date=date(2026, 11, 1), end_date=date(2027, 3, 1)),
            "day",
            None,
            (date(2026, 11, 1), TODAY),
        ),
        (
            DateSettings(report_date=date(2026, 11, 18)),
            "week",
            date(2026, 11, 23),
            (date(2026, 11, 16), date(2026, 11, 22)),
        ),
    ],
)
def test_resolve_window(settings, period, bookmark, expected) -> None:
    window = resolve_window(settings, period, TODAY, bookmark)
    assert window is not None
    assert (window.start, window.end) == expected


def test_window_after_the_configured_end_is_empty() -> None:
    settings = DateSettings(start_date=date(2026, 10, 1), end_date=date(2026, 10, 31))
    assert resolve_window(settings, "day", TODAY, date(2026, 11, 20)) is None


BASE = {"url": "https://m.example.com", "token_auth": "t", "site_ids": [1]}


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"site_ids": None}, "`site_ids` or `all_sites`"),
        ({"all_sites": True}, "not both"),
        ({"site_ids": [0]}, "positive"),
        ({"url": "ftp://x"}, "`url`"),
        ({"start_date": "yesterday"}, "`start_date`: 'yesterday' is not a date"),
        (
            {"start_date": "2026-11-10", "end_date": "2026-11-01"},
            "`end_date` (2026-11-01) is before",
        ),
        ({"start_date": "2026-11-10", "start_days_back": 3}, "`start_date` and `start_days_back`"),
        ({"end_date": "2026-11-10", "end_days_back": 3}, "`end_date` and `end_days_back`"),
        ({"start_days_back": 5, "end_days_back": 10}, "further back"),
        ({"report_date": "2026-11-10", "start_date": "2026-11-01"}, "ask for one period"),
        (
            {"report_date": "2026-11-10", "report_days_back": 1},
            "`report_date` and `report_days_back`",
        ),
        ({"period": "range"}, "range is one aggregate over a window"),
        ({"period_overrides": {"visits_summary": "range"}}, "range is one aggregate"),
        ({"period_overrides": {"visit_summary": "week"}}, "no report stream is named"),
    ],
)
def test_refused_combinations_name_the_setting(overrides: dict, fragment: str) -> None:
    config = {**BASE, **overrides}
    config = {k: v for k, v in config.items() if v is not None}
    settings, errors = check_settings(config)
    assert settings is None
    assert any(fragment in error for error in errors), errors


def test_datetime_start_dates_from_meltano_are_accepted() -> None:
    settings, errors = check_settings({**BASE, "start_date": "2026-01-01T00:00:00Z"})
    assert errors == []
    assert settings is not None
    assert settings.dates.start_date == date(2026, 1, 1)


def test_default_window_is_thirty_days_back() -> None:
    settings, _ = check_settings(BASE)
    assert settings is not None
    assert settings.dates.start_days_back == 30


def test_settings_repr_never_shows_the_token() -> None:
    """A settings object in a log line or traceback must not carry the token."""
    secret = "0123456789abcdef0123456789abcdef"
    settings, errors = check_settings({**BASE, "token_auth": secret})
    assert errors == []
    assert settings is not None
    assert settings.token_auth == secret
    assert secret not in repr(settings)
