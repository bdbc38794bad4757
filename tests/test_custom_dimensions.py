"""The `custom_dimensions` stream against the recorded Matomo, over loopback HTTP.

Site 1 has two active dimensions (0014): id 1 "Customer Tier" (visit scope, recorded for a day
0438, a week of days 0440, the last 7 days 0439, a week 0441, a month 0442, a range 0444) and
id 2 "Page Type" (action scope, a month only: 0576). Site 2's dimension 1 "Author" (action
scope) is recorded for a month (0577); the dimension lists of sites 2 and 3 are HAND-BUILT
(tests/hand_built.py), as is every variation of them made here (an inactive dimension, none,
the plugin missing). Records are compared with the recorded rows value by value.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from tap_matomo.catalog import reports_by_name
from tap_matomo.errors import MatomoError
from tests import hand_built
from tests.conftest import assert_keyed_by, base_config, primary_key_values, run_sync
from tests.fake_matomo import TOKEN, FakeMatomo, recorded_body
from tests.test_report_families import assert_record_matches, sent_calls, validator

SPEC = reports_by_name()["custom_dimensions"]
STREAM = "custom_dimensions"
CONFIGURED = "CustomDimensions.getConfiguredCustomDimensions"
REPORT = "CustomDimensions.getCustomDimension"
#: HAND-BUILT: Matomo's answer without the plugin (recording 0565, for another plugin).
NOT_ENABLED = {
    "result": "error",
    "message": "The plugin CustomDimensions is not enabled. You can activate the plugin on "
    "Settings &gt; Plugins page in Matomo.",
}

#: Windows of dimension 1 of site 1: (start, end, period, recording).
VISIT_WINDOWS = {
    "day": ("2026-11-20", "2026-11-20", "day", "0438"),
    "days": ("2026-11-01", "2026-11-07", "day", "0440"),
    "last7": ("2026-11-20", "2026-11-26", "day", "0439"),
    "week": ("2026-11-16", "2026-11-22", "week", "0441"),
    "range": ("2026-10-01", "2026-10-31", "range", "0444"),
}
WEEK_END = {"2026-11-16": "2026-11-22"}


def answering_dimensions(fake: FakeMatomo, lists: Callable[[str], Any] | None = None) -> None:
    """Install the HAND-BUILT dimension lists; ``lists(site)`` overrides a site's answer."""
    hand_built.install(fake)
    recorded_lists = fake.handlers[CONFIGURED]
    if lists is not None:

        def answer(params: dict[str, str]) -> tuple[int, Any]:
            body = lists(params["idSite"])
            return (200, body) if body is not None else recorded_lists(params)

        fake.handlers[CONFIGURED] = answer


def only_visit_dimension(site: str) -> Any:
    """HAND-BUILT: recording 0014 with dimension 2 ("Page Type") deactivated."""
    if site != "1":
        return None
    return [{**d, "active": d["idcustomdimension"] == "1"} for d in recorded_body("0014")]


def check_records(
    records: list[dict[str, Any]], expected: list[tuple[str, str, dict[str, Any]]], schema: Any
) -> None:
    """Records against recorded (start, end, row) triples, in order, value by value."""
    assert len(records) == len(expected)
    for record, (start, end, row) in zip(records, expected, strict=True):
        assert (record["date"], record["end_date"]) == (start, end)
        assert_record_matches(SPEC, record, row, schema)


def test_month_reads_both_dimensions_equal_to_recordings_0442_and_0576(fake: FakeMatomo) -> None:
    """Recorded dimension list (0014): one call per active dimension, in id order."""
    config = base_config(
        fake, site_ids=[1], start_date="2026-10-01", end_date="2026-10-31", period="month"
    )
    result = run_sync(config, streams={STREAM})
    records = result.records[STREAM]

    calls = sent_calls(fake, REPORT)
    assert sorted(c["idDimension"] for c in calls) == ["1", "2"]
    assert {(c["idSite"], c["period"], c["date"]) for c in calls} == {
        ("1", "month", "2026-10-01,2026-10-31")
    }
    assert all("flat" not in c for c in calls)
    visit_rows, action_rows = recorded_body("0442"), recorded_body("0576")
    schema = result.schema(STREAM)["schema"]
    month = ("2026-10-01", "2026-10-31")
    check_records(records, [(*month, row) for row in visit_rows + action_rows], schema)
    by_dimension = [(r["dimension_id"], r["dimension_name"], r["dimension_scope"]) for r in records]
    assert by_dimension == [(1, "Customer Tier", "visit")] * len(visit_rows) + [
        (2, "Page Type", "action")
    ] * len(action_rows)
    guest, product = records[0], records[len(visit_rows)]
    assert (guest["label"], guest["nb_visits"], guest["bounce_rate"]) == ("guest", 515, 0.3)
    assert guest["segment"] == "dimension1==guest"
    assert product["label"] == "product"
    assert product["exit_rate"] == pytest.approx(0.22)
    assert product["sum_time_network"] == pytest.approx(44.782)
    assert type(product["nb_hits_with_time_network"]) is int
    check = validator(result, STREAM)
    for record in records:
        check.validate(record)
    assert_keyed_by(result, STREAM, ["dimension_id", "label"])
    assert schema["properties"]["dimension_id"]["type"] == ["integer"]


@pytest.mark.parametrize("window", list(VISIT_WINDOWS))
def test_visit_dimension_equals_recorded_days_weeks_and_range(
    fake: FakeMatomo, window: str
) -> None:
    """An inactive dimension (2, HAND-BUILT) is not asked; dimension 1 equals its recording."""
    answering_dimensions(fake, only_visit_dimension)
    first, last, period, recording = VISIT_WINDOWS[window]
    config = base_config(fake, site_ids=[1], start_date=first, end_date=last, period=period)
    result = run_sync(config, streams={STREAM})
    records = result.records[STREAM]

    calls = sent_calls(fake, REPORT)
    assert [c["idDimension"] for c in calls] == ["1"]
    body = recorded_body(recording)
    if isinstance(body, dict):  # keyed by day
        expected = [(day, day, row) for day, rows in sorted(body.items()) for row in rows]
    else:
        end = last if period == "range" else WEEK_END.get(first, first)
        expected = [(first, end, row) for row in body]
    assert expected, "the recording holds rows"
    check_records(records, expected, result.schema(STREAM)["schema"])
    assert {(r["dimension_id"], r["dimension_name"], r["dimension_scope"]) for r in records} == {
        (1, "Customer Tier", "visit")
    }
    if period == "day":
        assert all(type(r["nb_uniq_visitors"]) is int for r in records)  # "17" on day rows
    keys = primary_key_values(result, STREAM)
    assert len(keys) == len(set(keys)) == len(records)
    assert result.bookmark(STREAM, 1) == max(r["date"] for r in records)


def test_dimension_lists_are_read_once_per_run_and_a_site_without_any_is_not_asked(
    fake: FakeMatomo,
) -> None:
    """One bulk request lists the dimensions of sites 1-3; site 3 (HAND-BUILT: none) gets no
    report call; site 2's "Author" (HAND-BUILT list) equals recording 0577."""
    answering_dimensions(fake, lambda site: [] if site == "3" else None)
    config = base_config(
        fake, site_ids=[1, 2, 3], start_date="2026-10-01", end_date="2026-10-31", period="month"
    )
    result = run_sync(config, streams={STREAM, "visits_summary"})
    records = result.records[STREAM]

    listed = sent_calls(fake, CONFIGURED)
    assert sorted(c["idSite"] for c in listed) == ["1", "2", "3"]
    assert {c["filter_limit"] for c in listed} == {"-1"}  # Matomo cuts lists at 100 rows too
    assert len([r for r in fake.requests if sent_calls(fake, CONFIGURED, [r])]) == 1
    asked = sorted((c["idSite"], c["idDimension"]) for c in sent_calls(fake, REPORT))
    assert asked == [("1", "1"), ("1", "2"), ("2", "1")]

    site_2 = [r for r in records if r["site_id"] == 2]
    check_records(
        site_2,
        [("2026-10-01", "2026-10-31", row) for row in recorded_body("0577")],
        result.schema(STREAM)["schema"],
    )
    assert {(r["dimension_id"], r["dimension_name"], r["dimension_scope"]) for r in site_2} == {
        (1, "Author", "action")
    }
    assert [r["label"] for r in site_2][:2] == ["Julien Martin", "Léa Bernard"]
    assert len([r for r in records if r["site_id"] == 1]) == 3 + 6  # 0442 + 0576
    assert not [r for r in records if r["site_id"] == 3]
    assert result.bookmark(STREAM, 3) is None
    assert [r["site_id"] for r in result.records["visits_summary"]] == [1, 2, 3]
    keys = primary_key_values(result, STREAM)
    assert len(keys) == len(set(keys)) == len(records)


def test_without_the_plugin_no_report_is_asked_with_one_warning(
    fake: FakeMatomo, caplog: pytest.LogCaptureFixture
) -> None:
    fake.handlers[CONFIGURED] = lambda params: (200, NOT_ENABLED)
    config = base_config(
        fake, site_ids=[1, 2, 3], start_date="2026-10-01", end_date="2026-10-31", period="month"
    )
    with caplog.at_level(logging.WARNING):
        result = run_sync(config, streams={STREAM, "visits_summary"})

    assert result.error is None
    assert not result.records[STREAM]
    assert sent_calls(fake, REPORT) == []
    assert len(sent_calls(fake, CONFIGURED)) == 3
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [w for w in warnings if "CustomDimensions" in w and "is not activated" in w] == [
        "The Matomo plugin CustomDimensions is not activated on this server: skipping its "
        "streams (first: 'custom_dimensions'). Activate it in Matomo, or deselect those streams."
    ]
    assert [r["site_id"] for r in result.records["visits_summary"]] == [1, 2, 3]
    assert TOKEN not in caplog.text


def test_without_the_plugin_fail_on_missing_plugin_stops(fake: FakeMatomo) -> None:
    fake.handlers[CONFIGURED] = lambda params: (200, NOT_ENABLED)
    config = base_config(fake, fail_on_missing_plugin=True)
    result = run_sync(config, streams={STREAM}, allow_failure=True)

    assert isinstance(result.error, MatomoError)
    assert "CustomDimensions" in str(result.error)
    assert "custom_dimensions" in str(result.error)
    assert sent_calls(fake, REPORT) == []


def test_a_malformed_dimension_list_is_an_error_naming_the_call(fake: FakeMatomo) -> None:
    fake.handlers[CONFIGURED] = lambda params: (200, 7)
    config = base_config(fake, site_ids=[1])
    result = run_sync(config, streams={STREAM}, allow_failure=True)

    assert isinstance(result.error, MatomoError)
    assert CONFIGURED in str(result.error)
    assert sent_calls(fake, REPORT) == []
