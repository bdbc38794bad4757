"""Each period's records are what Matomo answers for that period alone (issue 10).

The tap asks several periods per request (``date=A,B``); Matomo's multi-period answers leave out
what its single-period answers hold. The multi-period answers with an empty period or metrics
left out are HAND-BUILT from recorded ones, in the shape Matomo gives them (``"2010-03-07": []``
in Matomo's system test ``test_OneVisitorTwoVisits_bulk_json``, docs/matomo-api.md 1.6); what
the records must equal is a recorded single-period answer where one exists (0452, 0108).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from tap_matomo.catalog import REPORTS, reports_by_name
from tap_matomo.single_period import zero_metrics
from tests import hand_built
from tests.conftest import base_config, run_sync
from tests.fake_matomo import FakeMatomo, recorded_body
from tests.test_report_families import assert_record_matches, number, sent_calls

SPECS = reports_by_name()
DAYS = [(date(2026, 11, 20) + timedelta(days=n)).isoformat() for n in range(7)]
Handler = Callable[[dict[str, str]], tuple[int, Any]]


def with_period(fake: FakeMatomo, day: str, change: Callable[[Any], Any]) -> Handler:
    """The recorded multi-period answer, one period changed (emptied, metrics left out)."""

    def answer(params: dict[str, str]) -> tuple[int, Any]:
        status, body = fake.answer_recorded(params)
        assert isinstance(body, dict), body
        assert day in body, body
        body[day] = change(body[day])
        return status, body

    return answer


def empty_periods(params: dict[str, str]) -> tuple[int, Any]:
    """A multi-day answer of a site without visits: every day ``[]``."""
    first, _, last = params["date"].partition(",")
    day, end = date.fromisoformat(first), date.fromisoformat(last)
    body = {}
    while day <= end:
        body[day.isoformat()] = []
        day += timedelta(days=1)
    return 200, body


# -- one-row-per-period reports ---------------------------------------------------------------


def test_a_day_without_visits_is_matomos_row_of_zeros(fake: FakeMatomo) -> None:
    fake.handlers["VisitsSummary.get"] = with_period(fake, "2026-11-22", lambda _: [])
    result = run_sync(base_config(fake, site_ids=[1]), streams={"visits_summary"})
    by_day = {r["date"]: r for r in result.records["visits_summary"]}
    assert sorted(by_day) == DAYS
    # Matomo's answers for single days without visits (before the data, before the site
    # existed, in the future) are all this one row of zeros.
    alone = recorded_body("0452")
    assert alone == recorded_body("0453") == recorded_body("0551")
    assert set(alone) == set(SPECS["visits_summary"].metrics)
    for metric, value in alone.items():
        assert by_day["2026-11-22"][metric] == number(value) == 0, metric
    assert type(by_day["2026-11-22"]["nb_visits"]) is int
    assert by_day["2026-11-22"]["other_metrics"] is None
    recorded = fake.answer_recorded(
        {"method": "VisitsSummary.get", "idSite": "1", "period": "day", "date": "2026-11-21"}
    )[1]
    assert by_day["2026-11-21"]["nb_visits"] == recorded["nb_visits"] > 0
    (call,) = sent_calls(fake, "VisitsSummary.get")
    assert call["date"] == "2026-11-20,2026-11-26"


METRIC_STREAMS = sorted(
    spec.name for spec in REPORTS if spec.kind == "metrics" and not spec.variants_of
)


@pytest.mark.parametrize("stream", METRIC_STREAMS)
def test_every_one_row_per_period_stream_has_its_zero_rows(fake: FakeMatomo, stream: str) -> None:
    spec = SPECS[stream]
    fake.handlers[spec.method] = empty_periods
    result = run_sync(base_config(fake, site_ids=[1]), streams={stream})
    records = result.records[stream]
    assert [r["date"] for r in records] == DAYS
    zeros = zero_metrics(spec, "day")
    assert zeros
    for record in records:
        for metric in spec.metrics:
            assert record[metric] == (0 if metric in zeros else None), metric


def test_goals_per_goal_have_their_zero_rows(fake: FakeMatomo) -> None:
    fake.handlers["Goals.get"] = empty_periods
    result = run_sync(base_config(fake, site_ids=[1]), streams={"goals_per_goal"})
    records = result.records["goals_per_goal"]
    goals = [int(goal["idgoal"]) for goal in recorded_body("0010")]
    assert sorted((r["goal_id"], r["date"]) for r in records) == sorted(
        (goal, day) for goal in goals for day in DAYS
    )
    assert {r["nb_conversions_returning_visit"] for r in records} == {0}


def test_all_websites_zero_rows_leave_the_evolution_unknown(fake: FakeMatomo) -> None:
    """An empty period's evolution depends on the previous period, which the row lacks."""
    hand_built.install(fake)
    fake.handlers["MultiSites.getOne"] = empty_periods
    result = run_sync(base_config(fake, site_ids=[1]), streams={"all_websites"})
    (record, *_) = result.records["all_websites"]
    assert (record["nb_visits"], record["orders"], record["ecommerce_revenue"]) == (0, 0, 0)
    assert record["visits_evolution"] is None
    assert record["previous_nb_visits"] is None


def test_a_year_without_visits_has_no_unique_visitors(fake: FakeMatomo) -> None:
    """Matomo leaves unique visitors and users out of years (isUniqueVisitorsEnabled)."""
    fake.handlers["VisitsSummary.get"] = lambda params: (200, {"2025": [], "2026": []})
    config = base_config(
        fake, site_ids=[1], start_date="2025-01-01", end_date="2026-11-26", period="year"
    )
    records = run_sync(config, streams={"visits_summary"}).records["visits_summary"]
    assert [r["date"] for r in records] == ["2025-01-01", "2026-01-01"]
    for record in records:
        assert (record["nb_visits"], record["bounce_rate"]) == (0, 0)
        assert (record["nb_uniq_visitors"], record["nb_users"]) == (None, None)


def test_metrics_left_out_of_a_row_are_matomos_zeros(fake: FakeMatomo) -> None:
    """``Goals.get`` leaves out ``*_returning_visit`` on days without returning visits."""
    returning = [m for m in SPECS["goals_summary"].metrics if m.endswith("_returning_visit")]

    def without_returning(row: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in row.items() if key not in returning}

    fake.handlers["Goals.get"] = with_period(fake, "2026-11-23", without_returning)
    result = run_sync(base_config(fake, site_ids=[1]), streams={"goals_summary"})
    by_day = {r["date"]: r for r in result.records["goals_summary"]}
    recorded = fake.answer_recorded(
        {"method": "Goals.get", "idSite": "1", "period": "day", "date": "2026-11-23"}
    )[1]
    for metric in returning:
        assert by_day["2026-11-23"][metric] == 0, metric
        assert by_day["2026-11-24"][metric] is not None, metric
    for metric in SPECS["goals_summary"].metrics:
        if metric not in returning:
            assert by_day["2026-11-23"][metric] == pytest.approx(number(recorded[metric]))


# -- DevicesDetection.getType: every device type ----------------------------------------------


def test_device_types_of_a_day_equal_matomos_answer_for_the_day(fake: FakeMatomo) -> None:
    """Recording 0109 (``last7``) lists 3 device types for 2026-11-20, 0108 (the day alone)
    all 14, with 0 visits for 11 of them: the tap's records of the day are 0108's rows."""
    assert len(recorded_body("0109")["2026-11-20"]) == 3
    result = run_sync(base_config(fake, site_ids=[1]), streams={"devices_types"})
    (call,) = sent_calls(fake, "DevicesDetection.getType")
    assert call["date"] == "2026-11-20,2026-11-26"
    records = result.records["devices_types"]
    day = [r for r in records if r["date"] == "2026-11-20"]
    alone = recorded_body("0108")
    assert len(day) == len(alone) == 14
    schema = result.schema("devices_types")["schema"]
    for record, row in zip(day, alone, strict=True):
        assert_record_matches(SPECS["devices_types"], record, row, schema)
        assert (record["label"], record["segment"]) == (row["label"], row["segment"])
        if row["nb_visits"] == 0:
            assert record["nb_uniq_visitors"] is None  # Matomo's zero rows hold nb_visits only
    labels = {row["label"] for row in alone}
    for other in DAYS:
        assert {r["label"] for r in records if r["date"] == other} == labels, other
    assert SPECS["devices_types"].fixed_rows is not None
    assert set(SPECS["devices_types"].fixed_rows.labels) == labels


def test_a_day_without_devices_stays_empty(fake: FakeMatomo) -> None:
    """Matomo adds the device types to periods that have rows only."""
    fake.handlers["DevicesDetection.getType"] = empty_periods
    result = run_sync(base_config(fake, site_ids=[1]), streams={"devices_types"})
    assert result.records["devices_types"] == []
