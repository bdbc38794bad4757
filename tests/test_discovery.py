"""Live discovery from the server's report metadata, and reports declared in `extra_reports`.

The fake lists and answers invented plugin reports (tests/fake_plugins.py) next to the recorded
metadata (0730 for site 1, the ``idSite=all`` answer 0731 for the others).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from jsonschema import Draft202012Validator

from tap_matomo.catalog import REPORTS
from tap_matomo.discovery import covered, report_name
from tap_matomo.settings import check_settings
from tap_matomo.streams.reports import ReportStream
from tap_matomo.tap import TapMatomo
from tests import fake_plugins
from tests.conftest import base_config, catalog_selecting, run_sync
from tests.fake_matomo import TOKEN, FakeMatomo, recorded_body
from tests.test_cli import error_lines, tap

WEEK = [date(2026, 11, 20) + timedelta(days=i) for i in range(7)]
PLUGIN_STREAMS = {
    "media_analytics_video_titles": "MediaAnalytics.getVideoTitles",
    "media_analytics_grouped_video_resources": "MediaAnalytics.getGroupedVideoResources",
    "media_analytics_summary": "MediaAnalytics.get",
    "custom_reports_custom_report_3": "CustomReports.getCustomReport",
    "custom_reports_custom_report_5": "CustomReports.getCustomReport",
}


@pytest.fixture
def plugins() -> Iterator[FakeMatomo]:
    """The recorded server with the fake plugin reports installed."""
    with FakeMatomo() as server:
        fake_plugins.install(server)
        yield server


def discover(config: dict[str, Any]) -> dict[str, Any]:
    """The catalog `--discover` prints, in this process."""
    return discover_tap(config)[1]


def discover_tap(config: dict[str, Any]) -> tuple[TapMatomo, dict[str, Any]]:
    tap_ = TapMatomo(config=config, parse_env_config=False, setup_mapper=False)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        tap_.run_discovery()
    return tap_, json.loads(out.getvalue())


def root(entry: dict[str, Any]) -> dict[str, Any]:
    return next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])


def selecting(catalog: dict[str, Any], names: set[str]) -> dict[str, Any]:
    for entry in catalog["streams"]:
        root(entry)["selected"] = entry["tap_stream_id"] in names
    return catalog


def sync(config: dict[str, Any], catalog: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    tap_ = TapMatomo(config=config, catalog=catalog, parse_env_config=False)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        tap_.sync_all()
    records: dict[str, list[dict[str, Any]]] = {}
    for line in out.getvalue().splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            records.setdefault(message["stream"], []).append(message["record"])
        if message["type"] == "SCHEMA":
            records.setdefault(message["stream"], [])
    return records


def sub_calls(server: FakeMatomo, method: str) -> list[dict[str, str]]:
    """Every call of ``method`` the fake answered, bulk sub-calls included."""
    calls = []
    for request in server.requests:
        if request.api_method == method:
            calls.append(request.params)
        for key, value in request.params.items():
            if key.startswith("urls[") and dict(parse_qsl(value)).get("method") == method:
                calls.append(dict(parse_qsl(value)))
    return calls


# -- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "params", "name"),
    [
        ("UserLanguage.getLanguageCode", {}, "user_language_language_code"),
        ("API.get", {}, "api_summary"),
        (
            "CustomReports.getCustomReport",
            {"idCustomReport": "3"},
            "custom_reports_custom_report_3",
        ),
        ("Goals.getDaysToConversion", {"idGoal": "1"}, "goals_days_to_conversion_goal_1"),
        ("Goals.get", {"idGoal": "ecommerceOrder"}, "goals_summary_goal_ecommerce_order"),
        ("Funnels.getFunnelFlow", {"idFunnel": "2"}, "funnels_funnel_flow_funnel_2"),
    ],
)
def test_names_come_from_module_action_and_fixed_parameters(
    method: str, params: dict[str, str], name: str
) -> None:
    assert report_name(method, params) == name


def test_a_long_parameter_value_is_named_by_a_stable_hash() -> None:
    long = "visitorType==returning;deviceType==smartphone;countryCode==fr"
    name = report_name("Goals.get", {"segment": long})
    assert name == report_name("Goals.get", {"segment": long})
    assert name != report_name("Goals.get", {"segment": long + ";browserCode==FF"})
    assert len(name) < 60


# -- live discovery ----------------------------------------------------------------------------


def test_discovery_adds_every_uncovered_report_in_one_metadata_request(
    plugins: FakeMatomo,
) -> None:
    tap_, catalog = discover_tap(base_config(plugins))

    assert [r.api_method for r in plugins.requests] == [
        "SitesManager.getSitesWithAtLeastViewAccess",
        "API.getBulkRequest",  # API.getReportMetadata for sites 1, 2 and 3
    ]
    assert len(sub_calls(plugins, "API.getReportMetadata")) == 3
    entries = {entry["tap_stream_id"]: entry for entry in catalog["streams"]}
    assert set(PLUGIN_STREAMS) <= set(entries)
    assert {spec.name for spec in REPORTS} <= set(entries)  # the catalog's, unchanged
    # No report comes twice: a discovered one is no catalog method with the same parameters.
    catalog_reports = {(spec.method, tuple(sorted(spec.params.items()))) for spec in REPORTS}
    discovered = [
        stream.spec
        for stream in tap_.streams.values()
        if isinstance(stream, ReportStream) and stream.spec.site_ids is not None
    ]
    assert {spec.name for spec in discovered} >= set(PLUGIN_STREAMS)
    for spec in discovered:
        assert (spec.method, tuple(sorted(spec.params.items()))) not in catalog_reports
        assert spec.method not in ("Goals.get", "CustomDimensions.getCustomDimension")
    for name in PLUGIN_STREAMS:
        assert root(entries[name])["selected-by-default"] is False
        Draft202012Validator.check_schema(entries[name]["schema"])
    assert TOKEN not in json.dumps(catalog)  # Matomo echoes it in imageGraphUrl


def test_discovered_streams_are_typed_and_keyed_from_the_metadata(plugins: FakeMatomo) -> None:
    entries = {e["tap_stream_id"]: e for e in discover(base_config(plugins))["streams"]}

    def types(name: str) -> dict[str, list[str]]:
        return {k: v["type"] for k, v in entries[name]["schema"]["properties"].items()}

    titles = types("media_analytics_video_titles")
    assert titles["nb_plays"] == ["integer", "null"]
    assert titles["sum_total_time_watched"] == ["number", "null"]  # duration
    assert titles["play_rate"] == ["number", "null"]  # percent
    # Keyed by site, period, date and `row_key`, the hash of the row's key columns
    keyed = ["site_id", "period", "date", "row_key"]
    assert root(entries["media_analytics_video_titles"])["table-key-properties"] == keyed
    resources = entries["media_analytics_grouped_video_resources"]
    assert root(resources)["table-key-properties"] == keyed
    for level in ("resource_domain", "resource_url"):
        assert level in resources["schema"]["required"]
    assert root(entries["media_analytics_summary"])["table-key-properties"] == [
        "site_id",
        "period",
        "date",
    ]
    assert "label" not in entries["media_analytics_summary"]["schema"]["properties"]
    revenue = types("custom_reports_custom_report_3")
    assert revenue["sum_product_revenue"] == ["number", "null"]  # money
    assert revenue["nb_visits"] == ["integer", "null"]
    for entry in entries.values():
        assert root(entry).get("replication-key", "date") in ("date", None) or entry[
            "tap_stream_id"
        ] in ("visits", "visit_actions", "sites", "goals")
    assert root(resources)["replication-key"] == "date"


def test_every_report_of_the_recorded_metadata_has_a_stream(plugins: FakeMatomo) -> None:
    """Recording 0730: each report site 1 lists is read by a catalog stream or discovered."""
    names = {e["tap_stream_id"] for e in discover(base_config(plugins, site_ids=[1]))["streams"]}
    discovered = names - {spec.name for spec in REPORTS}
    for entry in recorded_body("0730"):
        method = f"{entry['module']}.{entry['action']}"
        params = {k: str(v) for k, v in (entry.get("parameters") or {}).items()}
        name = report_name(method, params)
        assert covered(REPORTS, method, params) != (name in discovered), (method, params)
    # What the catalog lacks there: the per-goal conversion delays.
    assert "goals_days_to_conversion_goal_1" in discovered
    assert "goals_visits_until_conversion_goal_ecommerce_order" in discovered


def test_discovered_streams_sync_rows_equal_to_the_fake_answers(plugins: FakeMatomo) -> None:
    config = base_config(plugins)
    catalog = selecting(discover(config), set(PLUGIN_STREAMS))
    plugins.requests.clear()

    records = sync(config, catalog)

    metadata = [r for r in plugins.requests if "API.getReportMetadata" in r.methods]
    assert len(metadata) == 1  # the catalog selects discovered streams: one metadata request
    for name, method in PLUGIN_STREAMS.items():
        params = {"idCustomReport": name.rsplit("_", 1)[1]} if "custom" in name else {}
        sites = (2,) if name.endswith("_5") else (1, 2, 3)
        by_key: dict[tuple[int, str], list[dict[str, Any]]] = {}
        for record in records[name]:
            assert record["period"] == "day"
            by_key.setdefault((record["site_id"], record["date"]), []).append(record)
        assert sorted(by_key) == sorted((s, d.isoformat()) for s in sites for d in WEEK), name
        for (site, day), got in by_key.items():
            flat = {"flat": "1"} if "resources" in name else {}
            rows = fake_plugins.expected(method, site, date.fromisoformat(day), **params, **flat)
            rows = [rows] if isinstance(rows, dict) else rows
            assert len(got) == len(rows), (name, site, day)
            for record, row in zip(got, rows, strict=True):
                assert_record_equals_row(record, row)
    # The report only site 2 lists is asked for site 2 only.
    asked = sub_calls(plugins, "CustomReports.getCustomReport")
    assert {(c["idSite"], c["idCustomReport"]) for c in asked} == {
        ("1", "3"),
        ("2", "3"),
        ("3", "3"),
        ("2", "5"),
    }
    resources = records["media_analytics_grouped_video_resources"][0]
    assert (resources["resource_domain"], resources["resource_url"]) == (
        "cdn.example.com",
        "/intro.mp4",
    )
    titles = records["media_analytics_video_titles"][0]
    assert isinstance(titles["nb_plays"], int)
    assert others(titles) == {"nb_finishes": titles["nb_plays"] // 2}


def others(record: dict[str, Any]) -> dict[str, Any]:
    """The record's `other_metrics` ({name, value} items) by name."""
    return {item["name"]: item["value"] for item in record["other_metrics"] or []}


def assert_record_equals_row(record: dict[str, Any], row: dict[str, Any]) -> None:
    """Every value of Matomo's row is in the record, numbers typed (``"12"`` -> 12)."""
    for key, value in row.items():
        if key in ("idsubdatatable", "nb_finishes") or key.startswith("MediaAnalytics_"):
            continue  # the subtable id; the undeclared metric and levels are checked apart
        if key in ("label", "segment"):
            assert record[key] == value, key
        else:
            assert record[key] == pytest.approx(float(value)), key
            assert not isinstance(record[key], str), key


def test_a_sync_of_the_tap_own_streams_asks_no_metadata(plugins: FakeMatomo) -> None:
    config = base_config(plugins, site_ids=[1])
    catalog = selecting(discover(config), {"visits_summary"})
    plugins.requests.clear()

    records = sync(config, catalog)
    run_sync(config, streams={"visits_summary"})

    assert records["visits_summary"]
    assert not [r for r in plugins.requests if "API.getReportMetadata" in r.methods]


def test_a_selected_stream_the_server_no_longer_lists_is_skipped_with_a_warning(
    plugins: FakeMatomo, caplog: pytest.LogCaptureFixture
) -> None:
    config = base_config(plugins)
    catalog = selecting(discover(config), {"media_analytics_summary"})
    catalog["streams"][0] = {**catalog["streams"][0]}
    entry = next(e for e in catalog["streams"] if e["tap_stream_id"] == "media_analytics_summary")
    entry["tap_stream_id"] = entry["stream"] = "media_analytics_gone"
    with caplog.at_level(logging.WARNING):
        records = sync(config, catalog)
    assert "media_analytics_gone" not in records
    assert any("'media_analytics_gone'" in r.getMessage() for r in caplog.records)


# -- offline discovery -------------------------------------------------------------------------


def info_lines(stderr: str, text: str) -> list[str]:
    return [line for line in stderr.splitlines() if text in line]


def test_offline_discovery_is_the_static_catalog_and_says_so_once() -> None:
    result = tap("--discover")

    assert result.returncode == 0, result.stderr
    names = [entry["tap_stream_id"] for entry in json.loads(result.stdout)["streams"]]
    static = TapMatomo(config=None, parse_env_config=False, validate_config=False).catalog_dict
    assert names == [entry["tap_stream_id"] for entry in static["streams"]]
    (line,) = info_lines(result.stderr, "Live discovery")
    assert "INFO" in line
    assert "`url`" in line
    assert "`token_auth`" in line


def test_discovery_with_an_unreachable_server_is_the_static_catalog(tmp_path: Path) -> None:
    config = {
        "url": "http://127.0.0.1:9",
        "token_auth": TOKEN,
        "site_ids": [1],
        "max_tries": 1,
    }
    result = tap("--discover", config=config, tmp_path=tmp_path)

    assert result.returncode == 0, result.stderr
    names = {entry["tap_stream_id"] for entry in json.loads(result.stdout)["streams"]}
    assert names == {
        e["tap_stream_id"]
        for e in TapMatomo(config=None, parse_env_config=False, validate_config=False).catalog_dict[
            "streams"
        ]
    }
    (line,) = info_lines(result.stderr, "Live discovery")
    assert "reachable server" in line
    assert "Traceback" not in result.stderr
    assert TOKEN not in result.stderr


def test_discovery_with_a_wrong_token_fails_in_one_line_and_one_request(
    plugins: FakeMatomo, tmp_path: Path
) -> None:
    config = {"url": plugins.url, "token_auth": "not-the-right-token-000000000000", "site_ids": [1]}
    result = tap("--discover", config=config, tmp_path=tmp_path)

    assert result.returncode == 1
    assert len(plugins.requests) == 1
    (line,) = error_lines(result.stderr)
    assert "`token_auth`" in line
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_discovery_from_the_command_line_adds_the_plugin_reports(
    plugins: FakeMatomo, tmp_path: Path
) -> None:
    result = tap("--discover", config=base_config(plugins), tmp_path=tmp_path)

    assert result.returncode == 0, result.stderr
    names = {entry["tap_stream_id"] for entry in json.loads(result.stdout)["streams"]}
    assert set(PLUGIN_STREAMS) <= names
    assert not info_lines(result.stderr, "Live discovery")
    assert len(plugins.requests) == 2


# -- declared reports ----------------------------------------------------------------------------


def test_a_declared_report_is_a_stream_whose_rows_equal_matomo(fake: FakeMatomo) -> None:
    declared = [
        {"method": "UserLanguage.getLanguage", "name": "languages", "metrics": ["nb_visits"]}
    ]
    config = base_config(fake, site_ids=[1], extra_reports=declared)

    result = run_sync(config, streams={"languages"})

    records = result.records["languages"]
    recorded = recorded_body("0409")  # UserLanguage.getLanguage, site 1, last7, all rows
    assert sorted({r["date"] for r in records}) == sorted(recorded)
    for day, rows in recorded.items():
        got = {r["label"]: r for r in records if r["date"] == day}
        assert sorted(got) == sorted(row["label"] for row in rows)
        for row in rows:
            record = got[row["label"]]
            assert record["nb_visits"] == int(row["nb_visits"])
            assert others(record)["nb_actions"] == float(row["nb_actions"])
    schema = result.schema("languages")
    assert schema["key_properties"] == ["site_id", "period", "date", "row_key"]
    assert schema["schema"]["properties"]["nb_visits"]["type"] == ["integer", "null"]
    assert not [r for r in fake.requests if "API.getReportMetadata" in r.methods]


def test_a_declared_report_with_a_fixed_parameter(plugins: FakeMatomo) -> None:
    declared = [{"method": "CustomReports.getCustomReport", "params": {"idCustomReport": 3}}]
    config = base_config(plugins, site_ids=[2], extra_reports=declared)

    result = run_sync(config, streams={"custom_reports_custom_report_3"})

    records = result.records["custom_reports_custom_report_3"]
    assert len(records) == 2 * len(WEEK)
    shoes = next(r for r in records if r["label"] == "Shoes" and r["date"] == "2026-11-20")
    row = fake_plugins.expected("CustomReports.getCustomReport", 2, WEEK[0], idCustomReport="3")[0]
    assert others(shoes) == {
        "nb_visits": row["nb_visits"],
        "sum_product_revenue": 1234.5,
        "avg_product_revenue": 61.725,
    }
    assert {c["idCustomReport"] for c in sub_calls(plugins, "CustomReports.getCustomReport")} == {
        "3"
    }


def test_a_declared_segment_and_the_segment_setting_both_apply(plugins: FakeMatomo) -> None:
    declared = [
        {
            "method": "MediaAnalytics.getVideoTitles",
            "name": "returning_video_titles",
            "params": {"segment": "visitorType==returning"},
        }
    ]
    config = base_config(
        plugins, site_ids=[1], extra_reports=declared, segment="deviceType==smartphone"
    )
    run_sync(config, streams={"returning_video_titles"})
    (segment,) = {c["segment"] for c in sub_calls(plugins, "MediaAnalytics.getVideoTitles")}
    assert segment == "deviceType==smartphone;visitorType==returning"


@pytest.mark.parametrize(
    ("method", "said"),
    [
        ("NoSuchPlugin.getThing", "The plugin NoSuchPlugin is not enabled"),
        ("UserLanguage.getNothing", "does not exist"),
    ],
)
def test_a_refused_declared_report_fails_in_one_line(
    plugins: FakeMatomo, tmp_path: Path, method: str, said: str
) -> None:
    config = base_config(plugins, site_ids=[1], extra_reports=[{"method": method}])
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps(catalog_selecting(config, {report_name(method, {})})))
    result = tap("--catalog", str(catalog), config=config, tmp_path=tmp_path)

    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert "`extra_reports`" in line
    assert method in line
    assert said in line
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("entry", "said"),
    [
        ({"method": "getLanguage"}, "Module.action"),
        ({"method": "UserLanguage.getLanguage", "name": "visits_summary"}, "already named"),
        ({"method": "UserLanguage.getLanguage", "name": "Bad Name"}, "lower-case"),
        ({"method": "UserLanguage.getLanguage", "params": {"idSite": 2}}, "cannot set idSite"),
    ],
)
def test_a_bad_declaration_names_the_setting(entry: dict[str, Any], said: str) -> None:
    config = {"url": "https://m.example.com", "token_auth": "x", "site_ids": [1]}
    settings, errors = check_settings({**config, "extra_reports": [entry]})
    assert settings is None
    (error,) = errors
    assert error.startswith("`extra_reports` entry 1")
    assert said in error


def test_a_declared_stream_can_have_a_period_override() -> None:
    config = {
        "url": "https://m.example.com",
        "token_auth": "x",
        "site_ids": [1],
        "extra_reports": [{"method": "UserLanguage.getLanguage", "name": "languages"}],
        "period_overrides": {"languages": "month"},
    }
    settings, errors = check_settings(config)
    assert errors == []
    assert settings is not None
    assert settings.period_for("languages") == "month"


def test_a_declared_report_matomo_asks_one_date_at_a_time_for_is_read_per_period(
    fake: FakeMatomo,
) -> None:
    """``VisitTime.getByDayOfWeek`` refuses ``date=A,B`` (recording 0060): each period alone."""
    declared = [
        {"method": "VisitTime.getByDayOfWeek", "name": "days_of_week", "metrics": ["nb_visits"]}
    ]
    config = base_config(
        fake, site_ids=[1], start_date=None, end_date=None, period="week", extra_reports=declared
    )
    config["report_date"] = "2026-11-18"

    result = run_sync(config, streams={"days_of_week"})

    records = result.records["days_of_week"]
    rows = recorded_body("0061")  # site 1, the week of 2026-11-16
    assert [r["label"] for r in records] == [row["label"] for row in rows]
    for record, row in zip(records, rows, strict=True):
        assert (record["date"], record["end_date"]) == ("2026-11-16", "2026-11-22")
        assert record["nb_visits"] == pytest.approx(float(row["nb_visits"]))


def test_after_a_refusal_of_several_dates_each_period_is_asked_once(fake: FakeMatomo) -> None:
    asked: list[str] = []
    refused = {"result": "error", "message": "Foo.getBar does not support multiple dates."}

    def one_date(params: dict[str, str]) -> tuple[int, Any]:
        asked.append(params["date"])
        return 200, refused if "," in params["date"] else [{"label": "x", "nb_visits": 1}]

    fake.handlers["Foo.getBar"] = one_date
    declared = [{"method": "Foo.getBar", "metrics": ["nb_visits"]}]
    config = base_config(fake, site_ids=[1], extra_reports=declared, max_periods_per_request=4)

    result = run_sync(config, streams={"foo_bar"})

    assert [r["date"] for r in result.records["foo_bar"]] == [d.isoformat() for d in WEEK]
    # The multi-period calls planned before the refusal were refused; then each period once.
    assert sorted(a for a in asked if "," not in a) == [d.isoformat() for d in WEEK]
    assert 1 <= len([a for a in asked if "," in a]) <= 2


def test_a_bad_declaration_fails_at_the_command_line_before_any_request(
    fake: FakeMatomo, tmp_path: Path
) -> None:
    config = base_config(fake, extra_reports=[{"method": "getLanguage"}])
    result = tap(config=config, tmp_path=tmp_path)

    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert "`extra_reports` entry 1" in line
    assert "Module.action" in line
    assert fake.requests == []
