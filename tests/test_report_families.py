"""Every report family of the catalog against the recorded Matomo, over loopback HTTP.

Each stream is synced for every window the recordings hold for site 1 (a day, a week of days,
a week, a month, a range) and its records are compared, value by value, with the rows the fake
serves from the recordings for the same report, period and parameters: same count, same
order, dimensions in their columns, every metric declared and typed (``"20"`` -> 20,
percentages as ratios), unique primary keys, records valid against the stream's schema.
Then the flattening and subtable settings, the methods that refuse several dates, the
``Others`` row of a 500-row report and the discovered catalog (per-goal reports, the
unrecorded reports and level checks: tests/test_report_gaps.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest
from jsonschema import Draft202012Validator

from tap_matomo import dates
from tap_matomo.catalog import REPORTS, ReportSpec, reports_by_name
from tap_matomo.settings import check_settings
from tap_matomo.tap import TapMatomo
from tests.conftest import (
    RECORDED_NOW,
    SyncResult,
    assert_keyed_by,
    base_config,
    primary_key_values,
    run_sync,
)
from tests.fake_matomo import FakeMatomo, Received, recorded_body

FAMILIES = (
    "Visit Summary",
    "Visit Frequency",
    "Visit Time",
    "User Country",
    "Devices Detection",
    "Referrers",
    "Actions",
    "Events",
    "Contents",
    "Goals",
)

#: The windows of the recordings: (start, end, period).
WINDOWS: dict[str, tuple[str, str, str]] = {
    "day": ("2026-11-20", "2026-11-20", "day"),
    "days": ("2026-11-01", "2026-11-07", "day"),
    "week": ("2026-11-16", "2026-11-22", "week"),
    "month": ("2026-10-01", "2026-10-31", "month"),
    "range": ("2026-10-01", "2026-10-31", "range"),
}
ALL = ("day", "days", "week", "month", "range")
WEEK_MONTH = ("week", "month")
MONTH = ("month",)

#: Windows the recordings hold (for site 1, in the form the tap asks) for each stream.
#: Flattened reports were recorded flat for a month and for weeks only; the Contents and
#: campaign weeks answer a PHP fatal in Matomo 5.0.2; single-date methods have no day series.
RECORDED: dict[str, tuple[str, ...]] = {
    "visits_summary": ALL,
    "visit_frequency": ALL,
    "visit_time_local": ALL,
    "visit_time_server": ALL,
    "visit_time_day_of_week": ("day", "week", "month", "range"),
    "user_country_continents": ALL,
    "user_country_countries": ALL,
    "user_country_regions": ALL,
    "user_country_cities": ALL,
    "devices_types": ALL,
    "devices_brands": ALL,
    "devices_models": ALL,
    "devices_os_families": ALL,
    "devices_os_versions": ALL,
    "devices_browsers": ALL,
    "devices_browser_versions": ALL,
    "devices_browser_engines": ALL,
    "referrers_referrer_types": ALL,
    "referrers_all": ("day", "week", "month", "range"),
    "referrers_keywords": WEEK_MONTH,
    "referrers_search_engines": WEEK_MONTH,
    "referrers_websites": WEEK_MONTH,
    "referrers_socials": WEEK_MONTH,
    "referrers_campaigns": MONTH,
    "actions_summary": ALL,
    "actions_page_urls": ("week", "month", "range"),
    "actions_page_titles": WEEK_MONTH,
    "actions_entry_page_urls": WEEK_MONTH,
    "actions_exit_page_urls": WEEK_MONTH,
    "actions_downloads": WEEK_MONTH,
    "actions_outlinks": WEEK_MONTH,
    "actions_site_search_keywords": ALL,
    "actions_site_search_no_result_keywords": MONTH,
    "actions_site_search_categories": MONTH,
    "events_categories": WEEK_MONTH,
    "events_actions": WEEK_MONTH,
    "events_names": WEEK_MONTH,
    "contents_names": MONTH,
    "contents_pieces": MONTH,
    "goals_summary": ALL,
    "goals_ecommerce_orders": ("day", "month"),
    "goals_abandoned_carts": MONTH,
    "goals_items_sku": ALL,
    "goals_items_name": MONTH,
    "goals_items_category": MONTH,
    "goals_abandoned_cart_items_sku": MONTH,
    "goals_days_to_conversion": MONTH,
    "goals_visits_until_conversion": MONTH,
}

#: Row keys that are not metrics (presentation, ids, already mapped to columns).
NOT_METRICS = frozenset({"label", "idsubdatatable", "logoHeight", "is_aggregate"})

SPECS = reports_by_name()
#: The report streams of these families (single-page reports like `actions_page_url` are
#: tested with their own feature).
FAMILY_SPECS = [SPECS[name] for name in RECORDED if name in SPECS]


# -- helpers ----------------------------------------------------------------------------------


def periods(window: str) -> list[tuple[date, date]]:
    """(start, end) of every period of a window, one Matomo archive each."""
    first, last, period = WINDOWS[window]
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    if period in ("range", "month"):
        return [(start, end)]
    step = timedelta(days=7 if period == "week" else 1)
    spans = []
    while start <= end:
        spans.append((start, start + step - timedelta(days=1)))
        start += step
    return spans


def answer(fake: FakeMatomo, spec: ReportSpec, period: str, when: str, **params: str) -> Any:
    """What the recorded server answers for a site-1 call of a report."""
    status, body = fake.answer_call(
        {
            "method": spec.method,
            "idSite": "1",
            "period": period,
            "date": when,
            "filter_limit": "-1",
            "format_metrics": "0",
            **spec.params,
            **params,
        }
    )
    assert status == 200
    assert not (isinstance(body, dict) and body.get("result") == "error"), body
    return body


def rows_of(body: Any) -> list[dict[str, Any]]:
    """One period's rows: a list for tables, one object for metric reports, ``[]`` if none."""
    if isinstance(body, dict):
        return [body] if body else []
    return list(body)


def recorded_rows(
    fake: FakeMatomo, spec: ReportSpec, period: str, when: str, **params: str
) -> list[dict[str, Any]]:
    """The rows the recorded server gives for one site-1 archive of a report."""
    return rows_of(answer(fake, spec, period, when, **params))


def expected_rows(
    fake: FakeMatomo, spec: ReportSpec, window: str
) -> list[tuple[date, date, dict[str, Any]]]:
    """The recorded rows of a window, asked in the form Matomo accepts for the method:
    ``date=first,last`` (keyed by period), or one call per period for single-date methods."""
    first, last, period = WINDOWS[window]
    flat = {"flat": "1"} if spec.flat else {}
    if period == "range":
        body = answer(fake, spec, period, f"{first},{last}", **flat)
        return [(*periods(window)[0], row) for row in rows_of(body)]
    if not spec.multi_date:
        return [
            (start, end, row)
            for start, end in periods(window)
            for row in recorded_rows(fake, spec, period, start.isoformat(), **flat)
        ]
    keyed = answer(fake, spec, period, f"{first},{last}", **flat)
    bodies = [body for _, body in sorted(keyed.items())]  # ISO keys sort by date
    return [
        (start, end, row)
        for (start, end), body in zip(periods(window), bodies, strict=True)
        for row in alone(spec, rows_of(body))
    ]


#: Every device type and its segment, from Matomo's answer for one day alone (0108).
DEVICE_TYPE_SEGMENTS = {row["label"]: row["segment"] for row in recorded_body("0108")}


def alone(spec: ReportSpec, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One period of a multi-period answer as Matomo answers the period alone: it then lists
    every device type, with 0 visits when none, after the others in label order (0108).
    The metric reports' zero rows: tests/test_single_period.py."""
    if spec.method != "DevicesDetection.getType" or not rows:
        return rows
    missing = sorted(set(DEVICE_TYPE_SEGMENTS) - {row["label"] for row in rows})
    zeros = [{"label": t, "nb_visits": 0, "segment": DEVICE_TYPE_SEGMENTS[t]} for t in missing]
    return rows + zeros


def number(raw: Any) -> float:
    """A recorded metric as a number: ``"20"`` -> 20, ``"0.0270"`` -> 0.027, 0.26 stays."""
    if isinstance(raw, str):
        return float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    return float(raw)


def is_metric(key: str, value: Any) -> bool:
    if key in NOT_METRICS or isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int | float):
        return True
    return isinstance(value, str) and value.replace(".", "", 1).rstrip("%").isdigit()


def sent_calls(
    fake: FakeMatomo, method: str, requests: list[Received] | None = None
) -> list[dict[str, str]]:
    """Every call of ``method`` the fake received, bulk sub-calls included."""
    calls = []
    for request in fake.requests if requests is None else requests:
        params = request.params
        inner = [dict(parse_qsl(params[k])) for k in params if k.startswith("urls[")]
        for call in inner if params.get("method") == "API.getBulkRequest" else [params]:
            if call.get("method") == method:
                calls.append(call)
    return calls


def validator(result: SyncResult, stream: str) -> Draft202012Validator:
    schema = result.schema(stream)["schema"]
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def assert_record_matches(
    spec: ReportSpec, record: Mapping[str, Any], row: Mapping[str, Any], schema: dict[str, Any]
) -> None:
    """One record against its recorded row: label, dimensions, every metric, typed."""
    if spec.kind == "table":
        assert record["label"] == str(row["label"])
    sources = {dim.source for dim in spec.dimensions}
    for dim in spec.dimensions:
        if dim.origin == "row" and dim.source in row and not dim.after:
            raw = row[dim.source]
            expected = number(raw) if dim.json_type != "string" else str(raw)
            assert record[dim.column] == expected, (dim.column, row)
    for key, raw in row.items():
        if key in spec.metrics and (raw is None or raw is False):
            assert record[key] is None, key  # "no value", not zero
        if key in sources or not is_metric(key, raw):
            continue
        assert key in spec.metrics, f"{spec.name}: undeclared metric {key}"
        assert record[key] == pytest.approx(number(raw), rel=1e-9), key
        types = schema["properties"][key]["type"]
        if "integer" in types:
            assert type(record[key]) is int, (key, record[key])
    assert record["other_metrics"] is None
    if isinstance(row.get("goals"), dict):
        assert [g["goal_id"] for g in record["goals"]] == [
            k.removeprefix("idgoal=") for k in row["goals"]
        ]


def sync_window(
    fake: FakeMatomo, stream: str, window: str, **settings: Any
) -> tuple[SyncResult, list[dict[str, Any]]]:
    first, last, period = WINDOWS[window]
    config = base_config(
        fake, site_ids=[1], start_date=first, end_date=last, period=period, **settings
    )
    result = run_sync(config, streams={stream})
    return result, result.records.get(stream, [])


def cases() -> Iterator[Any]:
    for spec in FAMILY_SPECS:
        for window in RECORDED.get(spec.name, ()):
            yield pytest.param(spec.name, window, id=f"{spec.name}-{window}")


@dataclass
class WindowSync:
    """One sync of every stream recorded for a window, and the requests it made."""

    result: SyncResult
    requests: list[Received]


@pytest.fixture(scope="module")
def recorded_server() -> Iterator[FakeMatomo]:
    with FakeMatomo() as server:
        yield server


@pytest.fixture(scope="module")
def window_syncs(recorded_server: FakeMatomo) -> Callable[[str], WindowSync]:
    """Syncs per window, made once for the module: one tap run serves every stream."""
    done: dict[str, WindowSync] = {}

    def sync(window: str) -> WindowSync:
        if window not in done:
            first, last, period = WINDOWS[window]
            streams = {name for name, windows in RECORDED.items() if window in windows}
            config = base_config(
                recorded_server, site_ids=[1], start_date=first, end_date=last, period=period
            )
            recorded_server.requests.clear()
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(dates, "utc_now", lambda: RECORDED_NOW)
                result = run_sync(config, streams=streams)
            done[window] = WindowSync(result, list(recorded_server.requests))
        return done[window]

    return sync


def own_calls(spec: ReportSpec, calls: list[dict[str, str]]) -> list[dict[str, str]]:
    """The calls of one stream among those of streams sharing its method (``params``)."""
    siblings = [s for s in FAMILY_SPECS if s.method == spec.method]
    keys = {key for sibling in siblings for key in sibling.params}
    return [c for c in calls if all(c.get(k) == spec.params.get(k) for k in keys)]


# -- every stream, every recorded window ------------------------------------------------------


def test_every_family_stream_has_recorded_windows() -> None:
    assert set(RECORDED) <= set(SPECS)
    assert {spec.family for spec in FAMILY_SPECS} == set(FAMILIES)
    assert all(not spec.subtable_of for spec in FAMILY_SPECS)


@pytest.mark.parametrize(("stream", "window"), list(cases()))
def test_stream_equals_recorded_rows(
    recorded_server: FakeMatomo,
    window_syncs: Callable[[str], WindowSync],
    stream: str,
    window: str,
) -> None:
    spec = SPECS[stream]
    synced = window_syncs(window)
    result = synced.result
    records = result.records[stream]

    expected = expected_rows(recorded_server, spec, window)
    assert expected, "the recordings hold rows for this window"
    assert len(records) == len(expected)
    schema = result.schema(stream)["schema"]
    check = validator(result, stream)
    for record, (start, end, row) in zip(records, expected, strict=True):
        assert (record["site_id"], record["period"]) == (1, WINDOWS[window][2])
        assert (record["date"], record["end_date"]) == (start.isoformat(), end.isoformat())
        assert_record_matches(spec, record, row, schema)
        check.validate(record)
    keys = primary_key_values(result, stream)
    assert len(keys) == len(set(keys))
    assert all(value is not None for key in keys for value in key)

    calls = own_calls(spec, sent_calls(recorded_server, spec.method, synced.requests))
    assert calls
    for call in calls:
        assert call["idSite"] == "1"
        assert call["filter_limit"] == "-1"
        assert call["format_metrics"] == "0"
        assert call.get("flat") == ("1" if spec.flat else None)
        assert spec.multi_date or WINDOWS[window][2] == "range" or "," not in call["date"]


# -- hierarchies ------------------------------------------------------------------------------

#: Flattened reports whose levels Matomo keys one by one: level column -> row key.
LEVEL_KEYS = {
    "referrers_keywords": {
        "keyword": "Referrers_Keyword",
        "search_engine": "Referrers_SearchEngine",
    },
    "referrers_search_engines": {
        "search_engine": "Referrers_SearchEngine",
        "keyword": "Referrers_Keyword",
    },
    "referrers_websites": {"website": "Referrers_Website", "website_page": "Referrers_WebsitePage"},
    "referrers_socials": {
        "social_network": "Referrers_SocialNetwork",
        "website_page": "Referrers_WebsitePage",
    },
    "referrers_campaigns": {"campaign": "Referrers_Campaign", "keyword": "Referrers_Keyword"},
    "events_categories": {"category": "Events_EventCategory", "action": "Events_EventAction"},
    "events_actions": {"action": "Events_EventAction", "name": "Events_EventName"},
    "events_names": {"name": "Events_EventName", "action": "Events_EventAction"},
}


@pytest.mark.parametrize("stream", sorted(LEVEL_KEYS))
def test_flattened_levels_have_their_own_columns(fake: FakeMatomo, stream: str) -> None:
    spec = SPECS[stream]
    _, records = sync_window(fake, stream, "month")
    rows = recorded_rows(fake, spec, "month", "2026-10-01", flat="1")
    assert spec.key_columns == spec.levels
    top, lower = list(LEVEL_KEYS[stream].items())
    for record, row in zip(records, rows, strict=True):
        assert record[top[0]] == str(row[top[1]])
        assert record[lower[0]] == str(row.get(lower[1], ""))
    # Some rows really go two levels down.
    assert any(r[top[0]] and r[lower[0]] for r in records)


@pytest.mark.parametrize(
    ("stream", "top", "lower"),
    [
        ("contents_names", "content_name", "content_piece"),
        ("contents_pieces", "content_piece", "content_name"),
    ],
)
def test_contents_levels_come_from_segment_and_label(
    fake: FakeMatomo, stream: str, top: str, lower: str
) -> None:
    """Matomo keys only the joined label of flattened Contents; the top level is in the
    segment (``contentName==New+Arrivals+Teaser``)."""
    _, records = sync_window(fake, stream, "month")
    assert len(records) == 9
    for record in records:
        assert record[top]
        assert record[lower]
        assert record["label"] == f"{record[top]} - {record[lower]}"
    names = {r[top] for r in records}
    top_rows = recorded_rows(fake, SPECS[stream], "month", "2026-10-01")
    assert names == {row["label"] for row in top_rows}


def test_flattening_setting_picks_the_sub_dimension(fake: FakeMatomo) -> None:
    result, records = sync_window(
        fake, "events_categories", "month", report_flattening={"events_categories": "eventName"}
    )
    (call,) = sent_calls(fake, "Events.getCategory")
    assert (call["flat"], call["secondaryDimension"]) == ("1", "eventName")
    rows = recorded_body("0488")
    assert len(records) == len(rows) == 12
    schema = result.schema("events_categories")["schema"]
    for record, row in zip(records, rows, strict=True):
        assert_record_matches(SPECS["events_categories"], record, row, schema)
        assert (record["category"], record["name"], record["action"]) == (
            row["Events_EventCategory"],
            row["Events_EventName"],
            "",
        )


def test_flattening_none_reads_the_top_level_only(fake: FakeMatomo) -> None:
    result, records = sync_window(
        fake,
        "referrers_search_engines",
        "month",
        report_flattening={"referrers_search_engines": "none"},
    )
    (call,) = sent_calls(fake, "Referrers.getSearchEngines")
    assert "flat" not in call
    rows = recorded_rows(fake, SPECS["referrers_search_engines"], "month", "2026-10-01")
    assert len(records) == len(rows) == 8
    schema = result.schema("referrers_search_engines")["schema"]
    for record, row in zip(records, rows, strict=True):
        assert_record_matches(SPECS["referrers_search_engines"], record, row, schema)
        assert (record["search_engine"], record["keyword"]) == (row["label"], "")
        assert record["nb_conversions"] == row["nb_conversions"]  # top rows carry goals
    keys = primary_key_values(result, "referrers_search_engines")
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"events_categories": "eventColour"}, "`report_flattening`: 'events_categories' accepts"),
        ({"devices_types": "none"}, "`report_flattening`: 'devices_types' is not a hierarchical"),
        ({"no_such_stream": "flat"}, "`report_flattening`: 'no_such_stream' is not a hier"),
        ("eventName", "`report_flattening`: give an object"),
    ],
)
def test_flattening_setting_is_checked(value: Any, message: str) -> None:
    config = {"url": "https://m.example.com", "site_ids": [1], "report_flattening": value}
    settings, errors = check_settings(config)
    assert settings is None
    assert any(error.startswith(message) for error in errors), errors


def test_flattening_values_are_declared_per_stream() -> None:
    assert SPECS["events_categories"].flattening_values() == (
        "flat",
        "eventAction",
        "eventName",
        "none",
    )
    assert SPECS["referrers_search_engines"].flattening_values() == ("flat", "none")
    assert SPECS["devices_types"].flattening_values() == ()
    settings, errors = check_settings(
        {
            "url": "https://m.example.com",
            "token_auth": "anonymous",
            "site_ids": [1],
            "report_flattening": {"events_names": "eventCategory", "actions_page_urls": "none"},
        }
    )
    assert errors == []
    assert settings is not None
    assert settings.report_flattening == {
        "events_names": "eventCategory",
        "actions_page_urls": "none",
    }


def test_campaigns_fall_back_to_top_level_when_matomo_cannot_flatten(
    fake: FakeMatomo, caplog: pytest.LogCaptureFixture
) -> None:
    """With MarketingCampaignsReporting active, ``Referrers.getCampaigns`` with ``flat=1``
    fails (recording 0743); the tap reads the campaigns unflattened (recording 0742)."""
    asked: list[dict[str, str]] = []

    def campaigns(params: dict[str, str]) -> tuple[int, Any]:
        asked.append(params)
        if params.get("flat") == "1":
            return 200, recorded_body("0743")
        return 200, {"2026-11": recorded_body("0742")}

    fake.handlers["Referrers.getCampaigns"] = campaigns
    config = base_config(
        fake, site_ids=[1], start_date="2026-11-01", end_date="2026-11-26", period="month"
    )
    result = run_sync(config, streams={"referrers_campaigns"})

    records = result.records["referrers_campaigns"]
    rows = recorded_body("0742")
    assert [p.get("flat") for p in asked] == ["1", None]
    assert len(records) == len(rows) == 11
    schema = result.schema("referrers_campaigns")["schema"]
    for record, row in zip(records, rows, strict=True):
        assert_record_matches(SPECS["referrers_campaigns"], record, row, schema)
        assert (record["campaign"], record["keyword"]) == (row["label"], "")
    assert "cannot flatten 'referrers_campaigns'" in caplog.text


# -- subtables --------------------------------------------------------------------------------


def test_subtable_setting_reads_the_named_subtables(fake: FakeMatomo) -> None:
    """Keywords of two search engines (month 2026-10: id 3 = Google, 1 = Bing)."""
    result, records = sync_window(
        fake,
        "referrers_search_engines_subtable",
        "month",
        subtables=[
            {"stream": "referrers_search_engines", "subtable_id": 3},
            {"stream": "referrers_search_engines", "subtable_id": 1, "site_id": 1},
            {"stream": "referrers_websites", "subtable_id": 4},
        ],
    )
    calls = sent_calls(fake, "Referrers.getKeywordsFromSearchEngineId")
    assert sorted(c["idSubtable"] for c in calls) == ["1", "3"]
    assert sent_calls(fake, "Referrers.getUrlsFromWebsiteId") == []  # another stream's
    assert all("flat" not in c and c["filter_limit"] == "-1" for c in calls)
    by_id = {3: recorded_body("0468"), 1: recorded_body("0469")}
    assert len(records) == sum(len(rows) for rows in by_id.values()) == 17
    spec = SPECS["referrers_search_engines_subtable"]
    schema = result.schema(spec.name)["schema"]
    for subtable_id, rows in by_id.items():
        mine = [r for r in records if r["subtable_id"] == subtable_id]
        for record, row in zip(mine, rows, strict=True):
            assert_record_matches(spec, record, row, schema)
            assert record["date"] == "2026-10-01"
    assert_keyed_by(result, spec.name, ["subtable_id", "label"])


def test_subtable_of_a_range_and_of_other_reports(fake: FakeMatomo) -> None:
    """Subtable ids belong to one archive: the range archive has its own (recording 0472)."""
    _, records = sync_window(
        fake,
        "referrers_search_engines_subtable",
        "range",
        subtables=[{"stream": "referrers_search_engines", "subtable_id": 3}],
    )
    assert [r["label"] for r in records] == [str(r["label"]) for r in recorded_body("0472")]
    for stream, subtable_id, number_ in [
        ("referrers_referrer_types", 2, "0481"),
        ("events_categories", 1, "0483"),
        ("contents_names", 1, "0490"),
        ("actions_downloads", 1, "0494"),
    ]:
        fake.requests.clear()
        result, records = sync_window(
            fake,
            f"{stream}_subtable",
            "month",
            subtables=[{"stream": stream, "subtable_id": subtable_id}],
        )
        rows = recorded_body(number_)
        assert [r["label"] for r in records] == [str(r["label"]) for r in rows], stream
        assert {r["subtable_id"] for r in records} == {subtable_id}
        schema = result.schema(f"{stream}_subtable")["schema"]
        for record, row in zip(records, rows, strict=True):
            assert_record_matches(SPECS[f"{stream}_subtable"], record, row, schema)


def test_subtable_streams_ask_nothing_unless_configured(fake: FakeMatomo) -> None:
    _, records = sync_window(fake, "referrers_search_engines_subtable", "month")
    assert records == []
    assert sent_calls(fake, "Referrers.getKeywordsFromSearchEngineId") == []
    assert not SPECS["referrers_search_engines_subtable"].selected_by_default


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"stream": "devices_types", "subtable_id": 1}, "`subtables`: 'devices_types' has no"),
        ({"stream": "referrers_search_engines", "subtable_id": 0}, "`subtables`: 'referrers"),
        ({"stream": "referrers_websites", "subtable_id": 2, "site_id": 9}, "`subtables`: site 9"),
    ],
)
def test_subtable_setting_is_checked(entry: dict[str, Any], message: str) -> None:
    config = {"url": "https://m.example.com", "site_ids": [1], "subtables": [entry]}
    settings, errors = check_settings(config)
    assert settings is None
    assert any(error.startswith(message) for error in errors), errors


def test_every_hierarchical_report_has_a_subtable_stream() -> None:
    for spec in FAMILY_SPECS:
        if spec.flat:
            child = SPECS[f"{spec.name}_subtable"]
            assert (child.subtable_of, child.method) == (spec.name, spec.subtable_method)
            assert child.key_columns == ("subtable_id", "label")


# -- restricted methods, completeness ---------------------------------------------------------


@pytest.mark.parametrize(
    ("stream", "method"),
    [("visit_time_day_of_week", "VisitTime.getByDayOfWeek"), ("referrers_all", "Referrers.getAll")],
)
def test_single_date_methods_are_asked_one_period_at_a_time(
    fake: FakeMatomo, stream: str, method: str
) -> None:
    """These methods refuse ``date=A,B`` (recorded errors); the tap asks each day alone."""
    refused = fake.answer_call(
        {"method": method, "idSite": "1", "period": "day", "date": "2026-11-01,2026-11-07"}
    )[1]
    assert "multiple" in refused["message"]
    asked: list[str] = []

    def one_day(params: dict[str, str]) -> tuple[int, Any]:
        asked.append(params["date"])
        return 200, [] if "," not in params["date"] else refused

    fake.handlers[method] = one_day
    _, records = sync_window(fake, stream, "days")
    assert records == []
    assert asked == [f"2026-11-0{day}" for day in range(1, 8)]


def test_a_report_of_500_rows_arrives_whole(fake: FakeMatomo) -> None:
    """Recording 0560: ``UserCountry.getCity`` over a range, 500 rows, the last ``Others``."""
    config = base_config(
        fake, site_ids=[1], start_date="2026-10-01", end_date="2026-11-25", period="range"
    )
    result = run_sync(config, streams={"user_country_cities"})
    records = result.records["user_country_cities"]
    rows = recorded_body("0560")
    assert len(records) == len(rows) == 500
    schema = result.schema("user_country_cities")["schema"]
    for record, row in zip(records, rows, strict=True):
        assert_record_matches(SPECS["user_country_cities"], record, row, schema)
    assert records[-1]["label"] == "Others"
    assert records[-1]["is_summary"] is True
    keys = primary_key_values(result, "user_country_cities")
    assert len(keys) == len(set(keys))
    (call,) = sent_calls(fake, "UserCountry.getCity")
    assert call["filter_limit"] == "-1"


# -- discovery --------------------------------------------------------------------------------


def test_discovered_catalog_lists_every_stream_with_valid_schemas() -> None:
    catalog = TapMatomo(config=None, parse_env_config=False, validate_config=False).catalog_dict
    entries = {entry["tap_stream_id"]: entry for entry in catalog["streams"]}
    assert {spec.name for spec in REPORTS} <= set(entries)
    for entry in entries.values():
        Draft202012Validator.check_schema(entry["schema"])
        assert set(entry["key_properties"]) <= set(entry["schema"]["properties"])
    mine = [*FAMILY_SPECS, *(s for s in REPORTS if s.subtable_of in RECORDED)]
    assert len(mine) == len(RECORDED) + 17  # one subtable stream per hierarchical report
    for spec in mine:
        entry = entries[spec.name]
        properties = entry["schema"]["properties"]
        if spec.key_columns:
            assert list(entry["key_properties"]) == ["site_id", "period", "date", "row_key"]
            text = properties["row_key"]["description"]
            assert ", ".join(f"`{c}`" for c in spec.key_columns) in text, spec.name
        else:
            assert list(entry["key_properties"]) == ["site_id", "period", "date"]
        for name in (*spec.metrics, *(d.column for d in spec.dimensions), *spec.levels):
            assert name in properties, (spec.name, name)
        root = next(m for m in entry["metadata"] if m["breadcrumb"] == [])["metadata"]
        assert root["selected-by-default"] is spec.selected_by_default
