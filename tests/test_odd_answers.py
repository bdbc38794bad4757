"""Unusual Matomo answers end in one clear error naming the call or site, never a traceback."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pendulum
import pytest

from tap_matomo import dates
from tests.conftest import base_config, catalog_selecting, run_sync
from tests.fake_live import FakeLive
from tests.fake_matomo import TOKEN, FakeMatomo, recorded_body
from tests.test_cli import error_lines, tap

SITES = "SitesManager.getSitesWithAtLeastViewAccess"
GOALS = "Goals.getGoals"
DIMENSIONS = "CustomDimensions.getConfiguredCustomDimensions"
LIVE = "Live.getLastVisitsDetails"

#: A state the failing runs must leave as it is.
STATE = {
    "bookmarks": {
        stream: {"partitions": [{"context": {"site_id": 1}, "replication_key_value": value}]}
        for stream, value in (
            ("visits_summary", "2026-11-21"),
            ("goals_per_goal", "2026-11-21"),
            ("custom_dimensions", "2026-11-21"),
            ("visits", "2026-11-21T10:00:00+00:00"),
        )
    }
}

Odd = Callable[[FakeMatomo], None]


def recorded_answer(fake: FakeMatomo, params: dict[str, str]) -> Any:
    status, body = fake.answer_recorded(params)
    assert status == 200
    return body


def odd_sites(change: Callable[[list[dict[str, Any]]], None]) -> Odd:
    """The recorded site list, changed."""

    def install(fake: FakeMatomo) -> None:
        def handler(params: dict[str, str]) -> tuple[int, Any]:
            sites = recorded_answer(fake, params)
            change(sites)
            return 200, sites

        fake.handlers[SITES] = handler

    return install


def odd_per_site(method: str, site: str, change: Callable[[Any], Any]) -> Odd:
    """The recorded answer of ``method`` for one site, changed (others as recorded)."""

    def install(fake: FakeMatomo) -> None:
        def handler(params: dict[str, str]) -> tuple[int, Any]:
            body = recorded_answer(fake, params)
            return 200, change(body) if params.get("idSite") == site else body

        fake.handlers[method] = handler

    return install


def odd_visits(key: str, value: Any) -> Odd:
    """Live answers (the visits emulation) whose visits carry an odd ``key``."""

    def install(fake: FakeMatomo) -> None:
        live = FakeLive()

        def handler(params: dict[str, str]) -> tuple[int, Any]:
            status, body = live(params)
            if isinstance(body, list):
                body = [{**visit, key: value} for visit in body]
            return status, body

        fake.handlers[LIVE] = handler

    return install


def set_key(key: str, value: Any, index: int = 0) -> Callable[[Any], Any]:
    def change(body: Any) -> Any:
        if value is None:
            body[index].pop(key)
        else:
            body[index][key] = value
        return body

    return change


def site_change(site_id: int, key: str, value: Any) -> Callable[[list[dict[str, Any]]], None]:
    def change(sites: list[dict[str, Any]]) -> None:
        site = next(s for s in sites if s["idsite"] == site_id)
        if value is None:
            site.pop(key)
        else:
            site[key] = value

    return change


CASES: list[tuple[str, Odd, set[str], tuple[str, ...]]] = [
    (
        "site id not a number",
        odd_sites(site_change(2, "idsite", "two")),
        {"sites"},
        (SITES, "`idsite`", "'two'"),
    ),
    (
        "site without id",
        odd_sites(site_change(3, "idsite", None)),
        {"visits_summary"},
        (SITES, "`idsite`", "None"),
    ),
    (
        "site list of strings",
        odd_sites(lambda sites: sites.append("3")),  # type: ignore[arg-type]
        {"sites"},
        (SITES, "expected sites, got the entry '3'"),
    ),
    (
        "unknown timezone",
        odd_sites(site_change(2, "timezone", "Mars/Olympus_Mons")),
        {"visits_summary"},
        (SITES, "site 2", "'Mars/Olympus_Mons'"),
    ),
    (
        "odd creation time",
        odd_sites(site_change(1, "ts_created", "last summer")),
        {"sites"},
        (SITES, "site 1", "`ts_created`", "'last summer'"),
    ),
    (
        "goal without id (goals)",
        odd_per_site(GOALS, "1", set_key("idgoal", None, index=1)),
        {"goals"},
        (GOALS, "site 1", "`idgoal`", "'Download Catalog'"),
    ),
    (
        "goal id not a number (per-goal reports)",
        odd_per_site(GOALS, "1", set_key("idgoal", "first")),
        {"goals_per_goal"},
        (GOALS, "site 1", "`idgoal`", "'first'"),
    ),
    (
        "goal list not a list",
        odd_per_site(GOALS, "1", lambda body: "no goals today"),
        {"goals_per_goal"},
        (GOALS, "site 1", "expected a list of goals, got str"),
    ),
    (
        "custom dimension without id",
        odd_per_site(DIMENSIONS, "1", set_key("idcustomdimension", None)),
        {"custom_dimensions"},
        (DIMENSIONS, "site 1", "`idcustomdimension`", "'Page Type'"),
    ),
    (
        "visit id not a number",
        odd_visits("idVisit", "n/a"),
        {"visits"},
        (LIVE, "site 1", "`idVisit`", "'n/a'"),
    ),
    (
        "visit without last action time",
        odd_visits("lastActionTimestamp", None),
        {"visits"},
        (LIVE, "site 1", "`lastActionTimestamp`", "None"),
    ),
    (
        "visit last action time not a number",
        odd_visits("lastActionTimestamp", "soon"),
        {"visits"},
        (LIVE, "site 1", "`lastActionTimestamp`", "'soon'"),
    ),
]


@pytest.mark.parametrize(
    ("install", "streams", "named"), [case[1:] for case in CASES], ids=[c[0] for c in CASES]
)
def test_odd_answer_is_one_clear_error(
    fake: FakeMatomo, tmp_path: Path, install: Odd, streams: set[str], named: tuple[str, ...]
) -> None:
    install(fake)
    config = base_config(fake, max_tries=1)
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps(catalog_selecting(config, streams)))
    state = tmp_path / "state.json"
    state.write_text(json.dumps(STATE))

    result = tap("--catalog", str(catalog), "--state", str(state), config=config, tmp_path=tmp_path)

    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    errors = error_lines(result.stderr)
    assert len(errors) == 1, errors
    for text in named:
        assert text in errors[0], (text, errors[0])
    assert TOKEN not in result.stderr + result.stdout
    messages = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [m for m in messages if m["type"] == "STATE" and m["value"] != STATE] == []
    assert json.loads(state.read_text()) == STATE


def test_goal_revenue_left_empty_is_null(fake: FakeMatomo) -> None:
    """Matomo answers ``""`` for a goal without revenue: the goal is kept, revenue is null."""
    odd_per_site(GOALS, "1", set_key("revenue", ""))(fake)
    result = run_sync(base_config(fake), streams={"goals"})

    recorded = {
        (site, goal["idgoal"]): goal
        for site, number in ((1, "0010"), (2, "0011"), (3, "0012"))
        for goal in recorded_body(number)
    }
    records = {(r["site_id"], r["goal_id"]): r for r in result.records["goals"]}
    assert sorted(records) == sorted(recorded)
    assert records[(1, 1)]["revenue"] is None
    for key, goal in recorded.items():
        if key != (1, 1):
            assert records[key]["revenue"] == float(goal["revenue"]), key
        assert records[key]["name"] == goal["name"]


def test_manual_utc_offset_timezone_is_a_site_calendar(
    fake: FakeMatomo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Matomo's ``UTC+5.5`` is no Olson name; it is a fixed offset, and today follows it."""
    # 19:00 UTC on the 25th is 00:30 on the 26th in UTC+5.5: the window ends a day later there.
    monkeypatch.setattr(dates, "utc_now", lambda: pendulum.datetime(2026, 11, 25, 19, tz="UTC"))
    config = base_config(fake, site_ids=[1], end_date=None)
    as_recorded = run_sync(config, streams={"visits_summary"})  # site 1 is in UTC
    odd_sites(site_change(1, "timezone", "UTC+5.5"))(fake)
    result = run_sync(config, streams={"sites", "visits_summary"})

    assert result.records["sites"][0]["timezone"] == "UTC+5.5"
    days = [r["date"] for r in result.records["visits_summary"]]
    assert days[-1] == "2026-11-26"
    assert days[:-1] == [r["date"] for r in as_recorded.records["visits_summary"]]
    assert days[:-1][-1] == "2026-11-25"
    assert result.records["visits_summary"][:-1] == as_recorded.records["visits_summary"]
