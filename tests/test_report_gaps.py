"""Reports that filled gaps in the catalog, and the level columns of flattened reports.

- ``goals_per_goal``: ``Goals.get`` with ``idGoal`` for each goal of each site (recordings 0502,
  0575; goals from 0010-0012), the goal list read once per run for the `goals` stream too.
- ``actions_entry_page_titles`` / ``actions_exit_page_titles`` and the abandoned-cart products
  by name and category: no recording holds them, so the fake answers them from HAND-BUILT
  transformations of recorded sibling answers (tests/hand_built.py); the transformation itself
  is checked here against the recorded entry/exit page URL answers.
- Events and referrer types: the level columns against the recorded ``flat=1`` rows.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

import pytest

from tap_matomo.catalog import reports_by_name
from tests import hand_built
from tests.conftest import assert_keyed_by, base_config, primary_key_values, run_sync
from tests.fake_matomo import FakeMatomo, recorded_body
from tests.test_report_families import (
    WINDOWS,
    answer,
    assert_record_matches,
    expected_rows,
    recorded_rows,
    rows_of,
    sent_calls,
    sync_window,
    validator,
)

SPECS = reports_by_name()
PER_GOAL = SPECS["goals_per_goal"]


@pytest.fixture
def built(fake: FakeMatomo) -> FakeMatomo:
    """The recorded server, also answering the HAND-BUILT calls of tests/hand_built.py."""
    hand_built.install(fake)
    return fake


def assert_window_matches(fake: FakeMatomo, stream: str, window: str) -> list[dict[str, Any]]:
    """Sync one stream over a window; its records equal the served rows value by value."""
    spec = SPECS[stream]
    result, records = sync_window(fake, stream, window)
    expected = expected_rows(fake, spec, window)
    assert expected, "the fake serves rows for this window"
    assert len(records) == len(expected)
    schema = result.schema(stream)["schema"]
    check = validator(result, stream)
    for record, (start, end, row) in zip(records, expected, strict=True):
        assert (record["date"], record["end_date"]) == (start.isoformat(), end.isoformat())
        assert_record_matches(spec, record, row, schema)
        check.validate(record)
    keys = primary_key_values(result, stream)
    assert len(keys) == len(set(keys))
    return records


# -- goals_per_goal ---------------------------------------------------------------------------


def hand_built_goal(fake: FakeMatomo, params: dict[str, str]) -> tuple[int, Any]:
    """``Goals.get``: goal 1 of site 1 as recorded; HAND-BUILT other goals and sites: that
    answer with every count multiplied by goal id x site id (rates kept), so they differ."""
    goal, site = params.get("idGoal", ""), params.get("idSite", "")
    if not goal.isdigit() or (goal, site) == ("1", "1"):
        return fake.answer_recorded(params)
    status, body = fake.answer_recorded({**params, "idGoal": "1", "idSite": "1"})
    return status, _scaled(body, int(goal) * int(site))


def _scaled(body: Any, factor: int) -> Any:
    if isinstance(body, dict) and "nb_conversions" in body:
        return {k: v if "rate" in k else v * factor for k, v in body.items()}
    if isinstance(body, dict):
        return {key: _scaled(value, factor) for key, value in body.items()}
    return body


def goal_body(fake: FakeMatomo, site_id: int, goal_id: int, period: str, when: str) -> Any:
    status, body = fake.answer_call(
        {
            "method": "Goals.get",
            "idSite": str(site_id),
            "idGoal": str(goal_id),
            "period": period,
            "date": when,
            "format_metrics": "0",
        }
    )
    assert status == 200
    return body


def test_goals_per_goal_month_equals_recording_0502(fake: FakeMatomo) -> None:
    """Site 1 defines goals 1-3 (0010): one ``Goals.get`` per goal; goal 1 is recording 0502."""
    fake.handlers["Goals.get"] = lambda params: hand_built_goal(fake, params)
    result, records = sync_window(fake, "goals_per_goal", "month")

    calls = sent_calls(fake, "Goals.get")
    assert sorted(c["idGoal"] for c in calls) == ["1", "2", "3"]
    assert {(c["idSite"], c["period"], c["date"]) for c in calls} == {
        ("1", "month", "2026-10-01,2026-10-31")
    }
    assert [r["goal_id"] for r in records] == [1, 2, 3]
    schema = result.schema("goals_per_goal")["schema"]
    check = validator(result, "goals_per_goal")
    for record in records:
        body = goal_body(fake, 1, record["goal_id"], "month", "2026-10-01")
        assert_record_matches(PER_GOAL, record, body, schema)
        assert (record["date"], record["end_date"]) == ("2026-10-01", "2026-10-31")
        check.validate(record)
    goal_1 = records[0]
    recorded = recorded_body("0502")
    assert goal_1["nb_conversions"] == recorded["nb_conversions"] == 50
    assert goal_1["revenue"] == 100
    assert goal_1["conversion_rate"] == pytest.approx(0.048)  # "4.8%"
    assert type(goal_1["nb_conversions"]) is int
    assert records[2]["nb_conversions"] == 150  # HAND-BUILT goal 3: 3 x 50
    assert_keyed_by(result, "goals_per_goal", ["goal_id"])


def test_goals_per_goal_days_equal_recording_0575_in_date_order(fake: FakeMatomo) -> None:
    """Days 2026-11-18..20 of goal 1 (0575), goals 2 and 3 HAND-BUILT: records come in date
    order (goal order within a day), so the site's bookmark follows them."""
    fake.handlers["Goals.get"] = lambda params: hand_built_goal(fake, params)
    config = base_config(
        fake, site_ids=[1], start_date="2026-11-18", end_date="2026-11-20", period="day"
    )
    result = run_sync(config, streams={"goals_per_goal"})
    records = result.records["goals_per_goal"]

    days = ["2026-11-18", "2026-11-19", "2026-11-20"]
    assert [(r["date"], r["goal_id"]) for r in records] == [
        (day, goal) for day in days for goal in (1, 2, 3)
    ]
    recorded = recorded_body("0575")
    schema = result.schema("goals_per_goal")["schema"]
    for record in records:
        body = goal_body(fake, 1, record["goal_id"], "day", record["date"])
        assert_record_matches(PER_GOAL, record, body, schema)
        if record["goal_id"] == 1:
            row = recorded[record["date"]]
            assert record["nb_conversions"] == row["nb_conversions"]
            assert record["revenue"] == row["revenue"]
            assert record["conversion_rate"] == pytest.approx(
                float(row["conversion_rate"].rstrip("%")) / 100
            )
    calls = sent_calls(fake, "Goals.get")
    assert sorted(c["idGoal"] for c in calls) == ["1", "2", "3"]
    assert {c["date"] for c in calls} == {"2026-11-18,2026-11-20"}
    assert result.bookmark("goals_per_goal", 1) == "2026-11-20"


def test_goal_list_is_read_once_per_run_for_goals_and_per_goal_reports(fake: FakeMatomo) -> None:
    """The `goals` stream and `goals_per_goal` share one ``Goals.getGoals`` per site (one bulk
    request); a site without goals (site 2 here) gets no ``Goals.get`` at all."""
    fake.handlers["Goals.get"] = lambda params: hand_built_goal(fake, params)
    no_goals_for_2 = {"2"}

    def goal_list(params: dict[str, str]) -> tuple[int, Any]:
        if params["idSite"] in no_goals_for_2:
            return 200, []  # Matomo's answer for a site without goals
        return fake.answer_recorded(params)

    fake.handlers["Goals.getGoals"] = goal_list
    config = base_config(
        fake, site_ids=[1, 2, 3], start_date="2026-11-18", end_date="2026-11-20", period="day"
    )
    result = run_sync(config, streams={"goals", "goals_per_goal"})

    listed = sent_calls(fake, "Goals.getGoals")
    assert sorted(c["idSite"] for c in listed) == ["1", "2", "3"]
    assert len([r for r in fake.requests if sent_calls(fake, "Goals.getGoals", [r])]) == 1
    goals = result.records["goals"]
    assert [(g["site_id"], g["goal_id"]) for g in goals] == [(1, 1), (1, 2), (1, 3), (3, 1), (3, 2)]
    assert [g["name"] for g in goals[3:]] == [g["name"] for g in recorded_body("0012")]

    per_goal = result.records["goals_per_goal"]
    assert {(r["site_id"], r["goal_id"]) for r in per_goal} == {
        (1, 1),
        (1, 2),
        (1, 3),
        (3, 1),
        (3, 2),
    }
    asked = {(c["idSite"], c["idGoal"]) for c in sent_calls(fake, "Goals.get")}
    assert asked == {("1", "1"), ("1", "2"), ("1", "3"), ("3", "1"), ("3", "2")}
    keys = primary_key_values(result, "goals_per_goal")
    assert len(keys) == len(set(keys)) == len(per_goal)
    assert result.bookmark("goals_per_goal", 2) is None


# -- entry and exit page titles (HAND-BUILT answers) ------------------------------------------


@pytest.mark.parametrize(
    ("kind", "page_body", "recorded"),
    [
        ("entry", "0272", "0292"),
        ("exit", "0272", "0302"),
        ("entry", "0273", "0293"),  # flat=1: the level key is renamed too
    ],
)
def test_hand_built_entry_exit_rule_reproduces_recorded_page_urls(
    kind: str, page_body: str, recorded: str
) -> None:
    """The rule that builds entry/exit page titles, applied to the recorded page URLs, gives
    Matomo's recorded entry/exit page URLs exactly (same rows, order, keys and segments)."""
    built = hand_built.entry_exit_rows(recorded_body(page_body), kind, "PageUrl")
    assert built == recorded_body(recorded)
    assert len(built) < len(recorded_body(page_body))  # rows really are dropped


@pytest.mark.parametrize("kind", ["entry", "exit"])
@pytest.mark.parametrize("window", ["week", "month"])
def test_entry_exit_page_titles_equal_hand_built_rows(
    built: FakeMatomo, kind: str, window: str
) -> None:
    stream = f"actions_{kind}_page_titles"
    records = assert_window_matches(built, stream, window)
    method = f"Actions.get{kind.capitalize()}PageTitles"
    (call,) = sent_calls(built, method)
    assert (call["flat"], call["filter_limit"], call["format_metrics"]) == ("1", "-1", "0")
    first, _, period = WINDOWS[window]
    titles = recorded_rows(built, SPECS["actions_page_titles"], period, first, flat="1")
    if window == "month":
        # 28 recorded titles; entry pages drop the 3 without entries, exit pages 1.
        assert len(titles) == 28
        assert len(records) == (25 if kind == "entry" else 27)
    kept = {row["label"] for row in titles if row.get(f"{kind}_nb_visits") not in (None, "")}
    assert {r["label"] for r in records if r["date"] == first} == kept
    assert all(r[f"{kind}_nb_visits"] > 0 for r in records)
    assert all(r["segment"].startswith(f"{kind}PageTitle==") for r in records)


@pytest.mark.parametrize("kind", ["entry", "exit"])
def test_entry_exit_page_title_subtables_are_opt_in(built: FakeMatomo, kind: str) -> None:
    """Like `actions_page_titles_subtable`: no request unless the `subtables` setting names
    ids; then ``idSubtable`` calls without ``flat``. (HAND-BUILT subtable: two title rows.)"""
    stream = f"actions_{kind}_page_titles"
    spec = SPECS[f"{stream}_subtable"]
    assert (spec.subtable_of, spec.method) == (stream, f"Actions.get{kind.capitalize()}PageTitles")
    assert not spec.selected_by_default
    _, records = sync_window(built, spec.name, "month")
    assert records == []
    assert sent_calls(built, spec.method) == []

    rows = recorded_rows(built, SPECS["actions_page_titles"], "month", "2026-10-01")[:2]
    built.handlers[spec.method] = lambda params: (200, {"2026-10": rows})
    result, records = sync_window(
        built, spec.name, "month", subtables=[{"stream": stream, "subtable_id": 5}]
    )
    (call,) = sent_calls(built, spec.method)
    assert call["idSubtable"] == "5"
    assert "flat" not in call
    schema = result.schema(spec.name)["schema"]
    assert len(records) == 2
    for record, row in zip(records, rows, strict=True):
        assert record["subtable_id"] == 5
        assert_record_matches(spec, record, row, schema)


# -- abandoned-cart products by name and category (HAND-BUILT answers) ------------------------


def test_hand_built_cart_rows_have_the_shape_of_recording_0508() -> None:
    """The SKU orders report (0402) turned into carts has 0508's keys, row for row."""
    built_rows = hand_built.abandoned_cart_rows(recorded_body("0402"))
    recorded = {row["label"]: row for row in recorded_body("0508")}
    assert {row["label"] for row in built_rows} == set(recorded)
    for row in built_rows:
        assert set(row) == set(recorded[row["label"]])


@pytest.mark.parametrize(
    ("stream", "orders_stream", "orders"),
    [
        ("goals_abandoned_cart_items_name", "goals_items_name", "0506"),
        ("goals_abandoned_cart_items_category", "goals_items_category", "0507"),
    ],
)
def test_abandoned_cart_items_equal_hand_built_rows(
    built: FakeMatomo, stream: str, orders_stream: str, orders: str
) -> None:
    spec = SPECS[stream]
    assert spec.params == {"abandonedCarts": "1"}
    records = assert_window_matches(built, stream, "month")
    method = spec.method
    calls = sent_calls(built, method)
    assert [c.get("abandonedCarts") for c in calls] == ["1"]
    rows = recorded_body(orders)
    assert [r["label"] for r in records] == [row["label"] for row in rows]
    for record, row in zip(records, rows, strict=True):
        assert record["abandoned_carts"] == row["orders"]  # HAND-BUILT: carts = orders
        assert "orders" not in record
    # The orders stream of the same method still reads the recorded orders.
    built.requests.clear()
    result, order_records = sync_window(built, orders_stream, "month")
    assert [c.get("abandonedCarts") for c in sent_calls(built, method)] == [None]
    schema = result.schema(orders_stream)["schema"]
    for record, row in zip(order_records, rows, strict=True):
        assert_record_matches(SPECS[orders_stream], record, row, schema)
    assert len(order_records) == len(rows)


# -- level columns of flattened reports -------------------------------------------------------

#: Events streams: the level columns Matomo keys in a default ``flat=1`` row, and the one it
#: leaves out (the third dimension, only there with `report_flattening`).
EVENT_LEVELS = {
    "events_categories": (
        ("category", "Events_EventCategory"),
        ("action", "Events_EventAction"),
        "name",
    ),
    "events_actions": (("action", "Events_EventAction"), ("name", "Events_EventName"), "category"),
    "events_names": (("name", "Events_EventName"), ("action", "Events_EventAction"), "category"),
}


@pytest.mark.parametrize("window", ["week", "month"])
@pytest.mark.parametrize("stream", sorted(EVENT_LEVELS))
def test_event_levels_are_filled_in_every_row(fake: FakeMatomo, stream: str, window: str) -> None:
    """Both levels of every flattened Events row hold the recorded ``Events_*`` values, and
    together they are the row's label (``"Video - Play"``); the unasked level stays empty."""
    spec = SPECS[stream]
    _, records = sync_window(fake, stream, window)
    expected = expected_rows(fake, spec, window)
    assert len(records) == len(expected) > 0
    (top, top_key), (lower, lower_key), unasked = EVENT_LEVELS[stream]
    for record, (_, _, row) in zip(records, expected, strict=True):
        assert record[top] == row[top_key] != ""
        assert record[lower] == row[lower_key] != ""
        assert record["label"] == f"{row[top_key]} - {row[lower_key]}" == row["label"]
        assert record[unasked] == ""


@pytest.mark.parametrize("stream", sorted(EVENT_LEVELS))
def test_unflattened_event_levels_take_the_label_and_its_segment(
    fake: FakeMatomo, stream: str
) -> None:
    """`report_flattening` = none: the top level is the row's label, which is also the value
    of the row's segment (``eventCategory==Size+guide``)."""
    spec = SPECS[stream]
    _, records = sync_window(fake, stream, "month", report_flattening={stream: "none"})
    rows = rows_of(answer(fake, spec, "month", "2026-10-01"))
    assert len(records) == len(rows) > 0
    (top, _), (lower, _), unasked = EVENT_LEVELS[stream]
    for record, row in zip(records, rows, strict=True):
        _, _, value = row["segment"].partition("==")
        assert record[top] == row["label"] == unquote_plus(value)
        assert record[lower] == record[unasked] == ""


#: Matomo's referrer type codes and the names its segments use.
REFERRER_TYPES = {"direct": 1, "search": 2, "website": 3, "campaign": 6, "social": 7}


def test_referrer_types_are_not_flattened_and_keep_their_type(fake: FakeMatomo) -> None:
    """Matomo 5.0.2 does not flatten ``Referrers.getReferrerType``: ``flat=1`` (0193) gives the
    same five type rows as without it (0192), minus their subtable ids. So the stream asks no
    ``flat``; each row's `referrer_type` is the recorded code, which its segment names."""
    unflat = recorded_body("0192")
    flat = recorded_body("0193")
    assert [{k: v for k, v in row.items() if k != "idsubdatatable"} for row in unflat] == flat
    assert not SPECS["referrers_referrer_types"].flat

    result, records = sync_window(fake, "referrers_referrer_types", "month")
    (call,) = sent_calls(fake, "Referrers.getReferrerType")
    assert "flat" not in call
    assert len(records) == len(unflat) == 5
    schema = result.schema("referrers_referrer_types")["schema"]
    for record, row in zip(records, unflat, strict=True):
        assert_record_matches(SPECS["referrers_referrer_types"], record, row, schema)
        assert record["referrer_type"] == row["referrer_type"]
        assert (
            record["referrer_type"] == REFERRER_TYPES[row["segment"].removeprefix("referrerType==")]
        )
