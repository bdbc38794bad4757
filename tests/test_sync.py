"""End-to-end syncs against the fake Matomo: records, keys, state, incremental and resumed runs."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from datetime import date, timedelta

import pendulum
import pytest
from jsonschema import Draft202012Validator

from tap_matomo import dates
from tap_matomo.client import ApiCall
from tap_matomo.errors import MatomoError
from tap_matomo.streams import read_ahead
from tap_matomo.tap import TapMatomo
from tests import hand_built
from tests.conftest import (
    assert_summaries_equal_recording,
    base_config,
    catalog_selecting,
    primary_key_values,
    run_sync,
)
from tests.fake_live import FakeLive
from tests.fake_matomo import TOKEN, FakeMatomo, recorded_body

WEEK = [date(2026, 11, 20) + timedelta(days=i) for i in range(7)]


def summary_requests(server: FakeMatomo) -> list[dict[str, str]]:
    """Every VisitsSummary.get call the fake answered, bulk sub-calls included."""
    calls = []
    for request in server.requests:
        if request.api_method == "VisitsSummary.get":
            calls.append(request.params)
        elif request.api_method == "API.getBulkRequest":
            from urllib.parse import parse_qsl

            for key, value in request.form.items():
                if key.startswith("urls["):
                    inner = dict(parse_qsl(value))
                    if inner["method"] == "VisitsSummary.get":
                        calls.append(inner)
    return calls


def test_three_sites_one_day_equal_the_recorded_all_sites_answer(fake: FakeMatomo) -> None:
    result = run_sync(
        base_config(fake, report_date="2026-11-20", start_date=None, end_date=None),
        streams={"sites", "visits_summary"},
    )
    # VisitsSummary.get idSite=all, 2026-11-20
    assert_summaries_equal_recording(result.records["visits_summary"], "0025")


def test_seven_days_equal_matomo_day_by_day(fake: FakeMatomo) -> None:
    result = run_sync(base_config(fake, site_ids=[1]), streams={"sites", "visits_summary"})

    assert [r["site_id"] for r in result.records["sites"]] == [1]
    records = result.records["visits_summary"]
    assert [r["date"] for r in records] == [d.isoformat() for d in WEEK]
    for record in records:
        day = record["date"]
        _, expected = fake.answer_call(
            {
                "method": "VisitsSummary.get",
                "idSite": str(record["site_id"]),
                "period": "day",
                "date": day,
                "format_metrics": "0",
            }
        )
        assert record["end_date"] == day
        assert record["period"] == "day"
        for metric, value in expected.items():
            assert record[metric] == pytest.approx(value), (record["site_id"], day, metric)
            assert isinstance(record[metric], int | float)
            assert not isinstance(record[metric], bool)
        assert isinstance(record["nb_visits"], int)
        assert isinstance(record["bounce_rate"], float)
        assert 0 <= record["bounce_rate"] <= 1


def test_recorded_week_values_match_exactly(fake: FakeMatomo) -> None:
    """Site 1, 2026-11-20: the tap's record against recording 0018 (percent as a ratio)."""
    result = run_sync(
        base_config(fake, site_ids=[1], start_date="2026-11-20", end_date="2026-11-20"),
        streams={"visits_summary"},
    )
    (record,) = result.records["visits_summary"]
    recorded = recorded_body("0018")
    assert record["nb_visits"] == recorded["nb_visits"] == 39
    assert record["nb_uniq_visitors"] == 37
    assert record["bounce_rate"] == pytest.approx(0.26)
    assert record["avg_time_on_site"] == 211


def test_sites_stream_types_every_site(fake: FakeMatomo) -> None:
    result = run_sync(base_config(fake), streams={"sites"})
    sites = result.records["sites"]
    assert [r["site_id"] for r in sites] == [1, 2, 3]
    assert [r["timezone"] for r in sites] == ["UTC", "Europe/Paris", "America/New_York"]
    assert [r["ecommerce"] for r in sites] == [True, False, False]
    assert sites[0]["ts_created"] == "2026-07-01T00:00:00+00:00"
    assert [r["currency"] for r in sites] == ["USD", "EUR", "USD"]


def test_one_request_per_site_for_the_whole_window() -> None:
    with FakeMatomo(synthesize=True) as fake:
        run_sync(base_config(fake), streams={"visits_summary"})
        calls = summary_requests(fake)
    assert [c["date"] for c in calls] == ["2026-11-20,2026-11-26"] * 3
    assert {c["idSite"] for c in calls} == {"1", "2", "3"}
    for call in calls:
        assert call["filter_limit"] == "-1"
        assert call["format_metrics"] == "0"
        assert call["language"] == "en"
    for request in fake.requests:
        assert TOKEN not in request.raw_query
        assert "token_auth" not in request.query


def test_keys_unique_and_state_final(fake: FakeMatomo) -> None:
    result = run_sync(
        base_config(
            fake, site_ids=[1], period="month", start_date="2026-10-01", end_date="2026-10-31"
        ),
        streams={"sites", "goals", "visits_summary", "referrers_search_engines"},
    )
    for stream, records in result.records.items():
        keys = primary_key_values(result, stream)
        assert len(keys) == len(set(keys)), stream
        assert records, stream
    bookmarks = result.final_state["bookmarks"]
    for stream in ("visits_summary", "referrers_search_engines"):
        for partition in bookmarks[stream]["partitions"]:
            assert "progress_markers" not in partition
            assert partition["replication_key_value"] == "2026-10-01"
    assert TOKEN not in str(result.messages)


def test_incremental_run_rereads_only_the_lookback(fake: FakeMatomo) -> None:
    config = base_config(fake, start_date="2026-11-01", end_date=None, lookback_days=2)
    with FakeMatomo(synthesize=True) as server:
        config["url"] = server.url
        first = run_sync(config, streams={"visits_summary"})
        assert first.bookmark("visits_summary", 1) == "2026-11-26"
        server.requests.clear()
        second = run_sync(config, streams={"visits_summary"}, state=first.final_state)
        assert sorted({c["date"] for c in summary_requests(server)}) == ["2026-11-24,2026-11-26"]
    assert len(first.records["visits_summary"]) == 3 * 26
    assert {r["date"] for r in second.records["visits_summary"]} == {
        "2026-11-24",
        "2026-11-25",
        "2026-11-26",
    }
    assert second.bookmark("visits_summary", 3) == "2026-11-26"


def test_today_is_reread_next_day(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeMatomo(synthesize=True) as server:
        config = base_config(server, site_ids=[1], start_date="2026-11-20", end_date=None)
        config["lookback_days"] = 0
        first = run_sync(config, streams={"visits_summary"})
        monkeypatch.setattr(dates, "utc_now", lambda: pendulum.datetime(2026, 11, 28, 12, tz="UTC"))
        server.requests.clear()
        second = run_sync(config, streams={"visits_summary"}, state=first.final_state)
    assert [r["date"] for r in second.records["visits_summary"]] == [
        "2026-11-26",
        "2026-11-27",
        "2026-11-28",
    ]


def test_interrupted_run_resumes_without_gap() -> None:
    """A sync that dies in its second stream is rerun from the last STATE it emitted."""
    streams = {"visits_summary", "visit_frequency"}  # synced in name order
    with FakeMatomo(synthesize=True) as server:
        # bulk requests of 3 calls: one stream's sites, so the second stream fails on its own
        config = base_config(
            server, start_date="2026-11-01", end_date=None, max_tries=1, bulk_request_size=3
        )
        server.fail_next(500, times=100, api_method="VisitsSummary.get")
        broken = run_sync(config, streams=streams, allow_failure=True)
        assert isinstance(broken.error, MatomoError)
        assert len(broken.records["visit_frequency"]) == 3 * 26
        last_state = broken.states[-1]
        assert "visits_summary" not in {
            name for name, value in last_state["bookmarks"].items() if value.get("partitions")
        }
        server.faults.clear()
        resumed = run_sync(config, streams=streams, state=last_state)
    summary_days = {(r["site_id"], r["date"]) for r in resumed.records["visits_summary"]}
    assert len(summary_days) == 3 * 26  # the stream that failed is read whole
    frequency_days = {r["date"] for r in resumed.records["visit_frequency"]}
    assert frequency_days == {"2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26"}


@pytest.mark.parametrize(
    ("now_utc", "expected"),
    [
        # 03:00 UTC: UTC and Paris are on the 27th, New York still on the 26th.
        (
            pendulum.datetime(2026, 11, 27, 3, tz="UTC"),
            {"1": "2026-11-27", "2": "2026-11-27", "3": "2026-11-26"},
        ),
        # 23:30 UTC: Paris is already on the 28th.
        (
            pendulum.datetime(2026, 11, 27, 23, 30, tz="UTC"),
            {"1": "2026-11-27", "2": "2026-11-28", "3": "2026-11-27"},
        ),
    ],
)
def test_today_is_each_sites_own_day(
    monkeypatch: pytest.MonkeyPatch, now_utc: pendulum.DateTime, expected: dict[str, str]
) -> None:
    monkeypatch.setattr(dates, "utc_now", lambda: now_utc)
    with FakeMatomo(synthesize=True) as server:
        config = base_config(server, start_date=None, end_date=None, report_days_back=0)
        run_sync(config, streams={"visits_summary"})
        asked = {c["idSite"]: c["date"] for c in summary_requests(server)}
    assert asked == {site: f"{day},{day}" for site, day in expected.items()}


@pytest.mark.parametrize(
    ("settings", "period", "dates_asked", "rows"),
    [
        (
            {"report_date": "2026-11-20"},
            "day",
            "2026-11-20,2026-11-20",
            [("2026-11-20", "2026-11-20")],
        ),
        ({"report_days_back": 1}, "day", "2026-11-25,2026-11-25", [("2026-11-25", "2026-11-25")]),
        (
            {"report_date": "2026-11-18"},
            "week",
            "2026-11-16,2026-11-22",
            [("2026-11-16", "2026-11-22")],
        ),
        (
            {"report_date": "2026-10-15"},
            "month",
            "2026-10-01,2026-10-31",
            [("2026-10-01", "2026-10-31")],
        ),
        (
            {"start_days_back": 10, "end_days_back": 5},
            "day",
            "2026-11-16,2026-11-21",
            [(f"2026-11-{d}", f"2026-11-{d}") for d in range(16, 22)],
        ),
        (
            {"start_date": "2026-11-10", "end_date": "2026-11-26"},
            "week",
            "2026-11-09,2026-11-26",
            [
                ("2026-11-09", "2026-11-15"),
                ("2026-11-16", "2026-11-22"),
                ("2026-11-23", "2026-11-29"),
            ],
        ),
        (
            {"start_date": "2026-10-01", "end_date": "2026-10-31"},
            "range",
            "2026-10-01,2026-10-31",
            [("2026-10-01", "2026-10-31")],
        ),
        (
            {"start_date": "2026-03-01"},
            "year",
            "2026-01-01,2026-11-26",
            [("2026-01-01", "2026-12-31")],
        ),
    ],
)
def test_date_settings_and_periods(
    settings: dict, period: str, dates_asked: str, rows: list[tuple[str, str]]
) -> None:
    with FakeMatomo(synthesize=True) as server:
        config = base_config(server, site_ids=[1], start_date=None, end_date=None, period=period)
        config.update(settings)
        result = run_sync(config, streams={"visits_summary"})
        (call,) = summary_requests(server)
    assert call["date"] == dates_asked
    assert call["period"] == period
    records = result.records["visits_summary"]
    assert [(r["date"], r["end_date"]) for r in records] == rows
    assert {r["period"] for r in records} == {period}


def test_request_count_follows_calls_not_sites_reports_or_days() -> None:
    counts = {}
    for sites, days in ((1, 30), (3, 30), (3, 90)):
        with FakeMatomo(synthesize=True) as server:
            start = (date(2026, 11, 26) - timedelta(days=days - 1)).isoformat()
            site_ids = [1, 2, 3][:sites]
            config = base_config(server, site_ids=site_ids, start_date=start, end_date=None)
            run_sync(config, streams={"visits_summary", "visit_frequency"})
            counts[sites, days] = len(server.requests)
    # 1 site list + 1 bulk request: both reports' chunks (90 days = 3 chunks of 31) for every site
    assert counts == {(1, 30): 2, (3, 30): 2, (3, 90): 2}


@pytest.mark.parametrize(("concurrency", "expected"), [(1, [3, 3, 3]), (3, [4, 4])])
def test_bulk_requests_stay_within_the_configured_size(
    concurrency: int, expected: list[int]
) -> None:
    """Reading ahead never puts more calls in one request than `bulk_request_size`."""
    with FakeMatomo(synthesize=True) as server:
        config = base_config(
            server,
            start_date="2026-08-29",
            end_date=None,
            bulk_request_size=4,
            max_periods_per_request=31,
            max_concurrent_requests=concurrency,
        )
        result = run_sync(config, streams={"visits_summary"})
        bulks = server.api_requests("API.getBulkRequest")
        sizes = [sum(key.startswith("urls[") for key in r.params) for r in bulks]
    # 90 days = 3 chunks per site: one at a time, a second site's 3 calls do not fit beside the
    # first's; three at a time, the 9 calls of the 3 sites go at once: 4 + 4 + a plain call
    assert sorted(sizes, reverse=True) == expected
    days = {(r["site_id"], r["date"]) for r in result.records["visits_summary"]}
    assert len(days) == 3 * 90


def test_every_record_of_every_stream_matches_its_schema() -> None:
    """Report streams skip the SDK's generic type pass (see ReportStream.TYPE_CONFORMANCE_LEVEL):
    their records must be exactly what their schemas declare, nothing more.
    """
    with FakeMatomo(synthesize=True) as server:
        hand_built.install(server)
        server.handlers["Live.getLastVisitsDetails"] = FakeLive()
        config = base_config(server, page_urls=["https://shop.example.com/"])
        result = run_sync(config)
    checked = 0
    for stream, records in result.records.items():
        schema = result.schema(stream)["schema"]
        Draft202012Validator.check_schema(schema)
        validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        for record in records:
            assert set(record) <= set(schema["properties"]), stream
            errors = [e.message for e in validator.iter_errors(record)]
            assert errors == [], (stream, record, errors[:3])
            checked += 1
    assert len(result.records) >= 60
    assert checked > 10_000


def test_read_ahead_changes_requests_not_records_or_state() -> None:
    """Batching calls of other sites and streams into one bulk request is invisible in the output:
    the same records, in the same order, and the same final state as one call per request.
    """
    streams = {"visits_summary", "referrers_all", "devices_types", "goals_per_goal", "events_names"}
    outputs = {}
    for size in (1, 50):
        with FakeMatomo(synthesize=True) as server:
            config = base_config(server, start_date="2026-10-20", end_date=None)
            result = run_sync({**config, "bulk_request_size": size}, streams=streams)
            outputs[size] = (dict(result.records), result.final_state, len(server.requests))
    (one_by_one, state_1, requests_1), (batched, state_50, requests_50) = (
        outputs[1],
        outputs[50],
    )
    assert set(batched) == streams
    assert batched == one_by_one
    assert state_50 == state_1
    assert requests_50 < requests_1 / 15


def test_read_ahead_leaves_out_the_calls_of_big_reports(
    fake: FakeMatomo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read-ahead answers are held until their partition is synced: once a report is known to
    answer more rows than `READ_AHEAD_ROWS`, its other partitions are not read ahead; and its
    calls are cut to about `CALL_ROWS` rows each.
    """
    monkeypatch.setattr(read_ahead, "READ_AHEAD_ROWS", 5_000)  # the budget, small enough for a test
    rows_per_day = 800  # 7 days = 5,600 rows per partition, over the budget
    page = recorded_body("0273")[0]  # a flat page URL row of the recordings
    rows = [{**page, "label": f"/page-{i}", "url": f"https://x.test/{i}"} for i in range(800)]
    asked: list[str] = []

    def big_pages(params: dict[str, str]) -> tuple[int, object]:
        asked.append(params["date"])
        first, _, last = params["date"].partition(",")
        days = [date.fromisoformat(first)]
        while days[-1] < date.fromisoformat(last or first):
            days.append(days[-1] + timedelta(days=1))
        return 200, {day.isoformat(): rows for day in days}

    fake.handlers["Actions.getPageUrls"] = big_pages
    config = base_config(fake)
    tap = TapMatomo(
        config=config,
        catalog=catalog_selecting(config, {"actions_page_urls"}),
        parse_env_config=False,
    )
    run = tap.streams["actions_page_urls"].run
    learn = ApiCall(
        "Actions.getPageUrls", {"idSite": "1", "period": "day", "date": "2026-11-20,2026-11-26"}
    )
    assert [answer for _, answer in run.fetch([learn])]
    assert run.rows_per_period("Actions.getPageUrls") == rows_per_day
    fake.requests.clear()
    asked.clear()
    with contextlib.redirect_stdout(io.StringIO()) as out:
        tap.sync_all()

    page_calls_per_request = [
        sum("method=Actions.getPageUrls" in value for value in request.form.values())
        + (request.api_method == "Actions.getPageUrls")
        for request in fake.requests
    ]
    # 5,000 // 800 = 6 days a call; 6 + 1 days are over the budget: one call per request
    assert [n for n in page_calls_per_request if n] == [1] * 6
    assert asked == ["2026-11-20,2026-11-25", "2026-11-26,2026-11-26"] * 3
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert sum(m["type"] == "RECORD" for m in records) == 3 * 7 * rows_per_day


def test_all_sites_reads_every_site_the_token_can_view(fake: FakeMatomo) -> None:
    config = base_config(fake, report_date="2026-11-20", start_date=None, end_date=None)
    config.update(site_ids=None, all_sites=True)
    result = run_sync(config, streams={"sites", "visits_summary"})

    listed = [int(site["idsite"]) for site in recorded_body("0006")]
    assert sorted(r["site_id"] for r in result.records["sites"]) == sorted(listed) == [1, 2, 3]
    days = {(r["site_id"], r["date"]) for r in result.records["visits_summary"]}
    assert days == {(site, "2026-11-20") for site in listed}
    site_lists = fake.api_requests("SitesManager.getSitesWithAtLeastViewAccess")
    assert len(site_lists) == 1  # fetched once per run, for every stream
    assert site_lists[0].params["filter_limit"] == "-1"


def test_bookmark_moves_on_over_periods_without_rows(fake: FakeMatomo) -> None:
    """A report without rows lately (a site without traffic) is not read again from its last
    row on every run: once every call was answered, the bookmark is the window's last period.
    """

    def no_rows_after_the_21st(params: dict[str, str]) -> tuple[int, object]:
        first, _, last = params["date"].partition(",")
        days = [date.fromisoformat(first)]
        while days[-1] < date.fromisoformat(last):
            days.append(days[-1] + timedelta(days=1))
        row = {"label": "Smartphone", "nb_visits": 3}
        return 200, {d.isoformat(): [row] if d.day <= 21 else [] for d in days}

    fake.handlers["DevicesDetection.getType"] = no_rows_after_the_21st
    config = base_config(fake, site_ids=[1], end_date=None, lookback_days=2)
    first = run_sync(config, streams={"devices_types"})
    assert max(r["date"] for r in first.records["devices_types"]) == "2026-11-21"
    assert first.bookmark("devices_types", 1) == "2026-11-26"

    fake.requests.clear()
    run_sync(config, streams={"devices_types"}, state=first.final_state)
    (call,) = [r.params for r in fake.api_requests("DevicesDetection.getType")]
    assert call["date"] == "2026-11-24,2026-11-26"  # the lookback, not from the 21st


def test_a_skipped_partition_keeps_its_bookmark(fake_core: FakeMatomo) -> None:
    """A stream skipped for a missing plugin read nothing: its bookmark does not move."""
    result = run_sync(base_config(fake_core, site_ids=[1]), streams={"campaigns_sources"})
    assert result.records["campaigns_sources"] == []
    assert "replication_key_value" not in json.dumps(result.final_state)


def test_a_report_cut_at_archiving_is_flagged_and_said_once(
    fake: FakeMatomo, caplog: pytest.LogCaptureFixture
) -> None:
    """Recording 0560: the range's cities stop at 500 rows, the last one "Others" (the sum of the
    rest). The tap keeps that row, marks it, and says once what to change in Matomo.
    """
    config = base_config(
        fake, site_ids=[1], start_date="2026-10-01", end_date="2026-11-25", period="range"
    )
    with caplog.at_level(logging.WARNING):
        result = run_sync(config, streams={"user_country_cities"})

    records = result.records["user_country_cities"]
    rows = recorded_body("0560")
    assert len(records) == len(rows) == 500
    summaries = [r for r in records if r["is_summary"]]
    assert [r["label"] for r in summaries] == ["Others"]
    assert summaries[0]["nb_visits"] == rows[-1]["nb_visits"]
    warnings = [r.getMessage() for r in caplog.records if "'Others' row" in r.getMessage()]
    assert len(warnings) == 1
    assert "user_country_cities" in warnings[0]
    assert "datatable_archiving_maximum_rows_" in warnings[0]


def test_a_period_change_does_not_skip_days(caplog: pytest.LogCaptureFixture) -> None:
    """Bookmarks are dates of a period: after a week run, a day run starts from the configured
    start, not from the last week's start (which skipped the days between, silently).
    """
    with FakeMatomo(synthesize=True) as server:
        days = {"url": server.url, "site_ids": [1], "start_date": "2026-11-01"}
        config = base_config(server, **days, end_date="2026-11-20", lookback_days=2)
        first = run_sync(config, streams={"visits_summary"})
        (partition,) = first.final_state["bookmarks"]["visits_summary"]["partitions"]
        assert partition["replication_key_value"] == "2026-11-20"
        assert partition["read_with"] == {"segment": None, "period": "day"}

        weeks = {**config, "end_date": None, "period": "week"}
        with caplog.at_level(logging.WARNING):
            second = run_sync(weeks, streams={"visits_summary"}, state=first.final_state)
        assert second.bookmark("visits_summary", 1) == "2026-11-23"  # the week of the 26th
        assert {r["period"] for r in second.records["visits_summary"]} == {"week"}
        # from the week of the configured start, not from the day bookmark
        assert min(r["date"] for r in second.records["visits_summary"]) == "2026-10-26"
        changed = [r.getMessage() for r in caplog.records if "period 'day'" in r.getMessage()]
        assert len(changed) == 1, changed
        assert "'week'" in changed[0]
        assert "visits_summary" in changed[0]

        back = {**config, "end_date": None}
        third = run_sync(back, streams={"visits_summary"}, state=second.final_state)
        dates = sorted(r["date"] for r in third.records["visits_summary"])
        assert dates[0] == "2026-11-01"  # from the start: 11-21 to 11-22 were never read as days
        assert dates[-1] == "2026-11-26"

        # a state written before the basis was kept beside the bookmark reads as before
        (old,) = third.final_state["bookmarks"]["visits_summary"]["partitions"]
        del old["read_with"]
        fourth = run_sync(back, streams={"visits_summary"}, state=third.final_state)
        assert min(r["date"] for r in fourth.records["visits_summary"]) == "2026-11-24"


@pytest.mark.parametrize("stream", ["visits_summary", "visits"])
def test_full_table_in_the_catalog_reads_the_whole_window(stream: str) -> None:
    """Meltano's `replication-method: FULL_TABLE` metadata: bookmarks are neither read nor
    written (they were read, so a 'full table' run read only what was new).
    """
    with FakeMatomo(synthesize=True) as server:
        server.handlers["Live.getLastVisitsDetails"] = FakeLive()
        # ending the day before the pinned today: the emulated visits of today are after now
        window = {"site_ids": [1], "start_date": "2026-11-15", "end_date": "2026-11-25"}
        config = base_config(server, **window)
        first = run_sync(config, streams={stream})
        assert first.bookmark(stream, 1)
        incremental = run_sync(config, streams={stream}, state=first.final_state)
        catalog = catalog_selecting(config, {stream})
        for entry in catalog["streams"]:
            if entry["tap_stream_id"] == stream:
                entry["replication_method"] = "FULL_TABLE"
        full = run_sync(config, catalog=catalog, state=first.final_state)
    assert len(incremental.records[stream]) < len(first.records[stream])
    assert len(full.records[stream]) == len(first.records[stream])
    assert full.final_state == first.final_state  # nothing written, the given state kept


@pytest.mark.parametrize(
    ("stream", "column"), [("visits_summary", "nb_visits"), ("visits", "visit_ip")]
)
def test_a_column_the_catalog_schema_drops_is_left_out_of_records(stream: str, column: str) -> None:
    """The SCHEMA message is the catalog's: a record must not carry a column it lacks."""
    with FakeMatomo(synthesize=True) as server:
        server.handlers["Live.getLastVisitsDetails"] = FakeLive()
        window = {"site_ids": [1], "start_date": "2026-11-20", "end_date": "2026-11-25"}
        config = base_config(server, **window)
        whole = run_sync(config, streams={stream})
        catalog = catalog_selecting(config, {stream})
        for entry in catalog["streams"]:
            if entry["tap_stream_id"] == stream:
                del entry["schema"]["properties"][column]
        dropped = run_sync(config, catalog=catalog)
    assert column not in dropped.schema(stream)["schema"]["properties"]
    assert any(column in record for record in whole.records[stream])
    assert dropped.records[stream] == [
        {key: value for key, value in record.items() if key != column}
        for record in whole.records[stream]
    ]


@pytest.mark.parametrize(
    ("setting", "day", "outcome"),
    [
        # a slip of the year
        ("start_date", "2036-11-20", "nothing is read until that day comes"),
        ("report_date", "2036-11-20", "the period of each site's today is read"),
        # tomorrow in UTC is already today east of UTC+12 at 12:00 UTC: no warning
        ("start_date", "2026-11-27", None),
        ("start_date", "2026-11-20", None),
        ("report_date", "2026-11-26", None),
    ],
)
def test_a_start_after_today_on_every_calendar_is_one_warning(
    caplog: pytest.LogCaptureFixture, setting: str, day: str, outcome: str | None
) -> None:
    """A run whose window starts in the future succeeded with no records, and a future
    `report_date` read today's report, without a word: one WARNING names the setting."""
    with FakeMatomo(synthesize=True) as server, caplog.at_level(logging.WARNING):
        overrides = {"start_date": None, "end_date": None, setting: day}
        result = run_sync(base_config(server, **overrides), streams={"visits_summary"})
    warnings = [r.getMessage() for r in caplog.records if "after today" in r.getMessage()]
    if outcome is None:
        assert warnings == []
        # 2026-11-27 is tomorrow on the 3 sites' calendars, not on every calendar
        assert bool(result.records["visits_summary"]) == (day <= "2026-11-26")
        return
    assert warnings == [
        f"`{setting}` {day} is after today on every site's calendar: {outcome}. Check the "
        "date (its year?)."
    ]
    dates_read = {record["date"] for record in result.records["visits_summary"]}
    assert dates_read == (set() if setting == "start_date" else {"2026-11-26"})
