"""Bookmarks checked before the first record: bad ones named, future ones not trusted."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tap_matomo.dates import MATOMO_FIRST_DAY, DateSettings, days_before, resolve_window
from tests.conftest import catalog_selecting
from tests.fake_live import FakeLive
from tests.fake_matomo import FakeMatomo
from tests.test_bad_inputs import _base_config, _files, _records, _states, run_cli

LIVE = "Live.getLastVisitsDetails"


def _bookmark(stream: str, value: str, site_id: int = 1) -> dict[str, Any]:
    partition = {"context": {"site_id": site_id}, "replication_key_value": value}
    return {"bookmarks": {stream: {"partitions": [partition]}}}


def _final_bookmark(stdout: str, stream: str, site_id: int = 1) -> str | None:
    for partition in _states(stdout)[-1]["bookmarks"][stream]["partitions"]:
        if partition["context"] == {"site_id": site_id}:
            return partition.get("replication_key_value")
    return None


def _warnings(result: Any) -> list[str]:
    return [r.getMessage() for r in result.records if r.levelname == "WARNING"]


def test_a_report_bookmark_after_the_sites_today_is_a_warning_and_is_read_again(
    tmp_path: Path,
) -> None:
    with FakeMatomo(synthesize=True) as fake:
        config = _base_config(fake)
        catalog = catalog_selecting(config, {"visits_summary"})
        state = _bookmark("visits_summary", "2026-12-25")
        result = run_cli(_files(tmp_path, config=config, catalog=catalog, state=state))

    assert result.code == 0, result.log
    assert result.error_lines == []
    assert any(
        "'visits_summary'" in w and "site 1" in w and "2026-12-25" in w and "2026-11-26" in w
        for w in _warnings(result)
    ), result.log
    # Read from the configured start, as without a state; the bookmark is true again.
    dates = sorted(r["date"] for r in _records(result.stdout, "visits_summary"))
    assert dates == ["2026-11-20", "2026-11-21"]
    assert _final_bookmark(result.stdout, "visits_summary") == "2026-11-21"


def test_a_visits_bookmark_after_now_is_a_warning_and_is_read_again(
    fake: FakeMatomo, tmp_path: Path
) -> None:
    fake.handlers[LIVE] = FakeLive()
    config = _base_config(fake)
    catalog = catalog_selecting(config, {"visits"})
    state = _bookmark("visits", "2027-01-01T00:00:00+00:00")

    result = run_cli(_files(tmp_path, config=config, catalog=catalog, state=state))

    assert result.code == 0, result.log
    assert any("'visits'" in w and "site 1" in w for w in _warnings(result)), result.log
    records = _records(result.stdout, "visits")
    assert records
    assert min(r["last_action_time"] for r in records) < "2026-11-21"
    assert _final_bookmark(result.stdout, "visits") < "2026-11-27"


def test_past_bookmarks_cost_no_request_and_no_warning(tmp_path: Path) -> None:
    counts = []
    for state in (None, _bookmark("visits_summary", "2026-11-21")):
        with FakeMatomo(synthesize=True) as fake:
            config = _base_config(fake)
            catalog = catalog_selecting(config, {"visits_summary"})
            files = {"config": config, "catalog": catalog}
            result = run_cli(_files(tmp_path, **files, **({"state": state} if state else {})))
            counts.append(len(fake.requests))
        assert result.code == 0, result.log
        assert _warnings(result) == []
    assert counts[0] == counts[1]


@pytest.mark.parametrize(
    ("stream", "value"),
    [("visits_summary", "1991-08-06"), ("visits", "1991-08-06T00:00:00+00:00")],
)
def test_the_earliest_bookmark_with_the_longest_lookback_is_fine(
    fake: FakeMatomo, tmp_path: Path, stream: str, value: str
) -> None:
    fake.handlers[LIVE] = FakeLive()
    config = {**_base_config(fake), "lookback_days": 3650, "visits_finality_minutes": 10080}
    catalog = catalog_selecting(config, {stream})
    state = _bookmark(stream, value)

    result = run_cli(_files(tmp_path, config=config, catalog=catalog, state=state))

    assert result.code == 0, result.log
    assert result.error_lines == []


def test_date_arithmetic_stops_at_the_first_day() -> None:
    assert days_before(date(2026, 11, 26), 36_500) == date(1926, 12, 21)
    assert days_before(date(1, 1, 2), 3) == date.min
    today = date(2026, 11, 26)
    lookback = DateSettings(start_days_back=36_500, lookback_days=3650)
    window = resolve_window(lookback, "day", today, bookmark=date(1, 1, 2))
    assert window is not None
    assert window.start == MATOMO_FIRST_DAY
    # Weeks: the week of 1991-08-06 starts on 1991-08-05, which Matomo refuses.
    week = resolve_window(DateSettings(start_days_back=36_500), "week", today)
    assert week is not None
    assert week.start == date(1991, 8, 12)


@pytest.mark.parametrize(
    ("bookmark", "warned"),
    [
        ("2026-11-26T12:30:00+00:00", False),  # within the finality window: read from 11:30
        ("2026-11-26T13:30:00+00:00", True),  # the run would start after now: visits lost
    ],
)
def test_a_visits_bookmark_is_in_the_future_beyond_the_finality_window(
    fake: FakeMatomo, tmp_path: Path, bookmark: str, warned: bool
) -> None:
    fake.handlers[LIVE] = FakeLive()
    config = {**_base_config(fake), "end_date": None, "visits_finality_minutes": 60}
    catalog = catalog_selecting(config, {"visits"})

    state = _bookmark("visits", bookmark)
    result = run_cli(_files(tmp_path, config=config, catalog=catalog, state=state))

    assert result.code == 0, result.log
    assert any("'visits'" in w for w in _warnings(result)) is warned, result.log
