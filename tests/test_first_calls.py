"""The first call of a table report not seen yet is small; the rest is sized from its answer.

Matomo says nothing of a report's size before answering it. The tap's first call of a table
report covers a few periods (about ``sizing.PROBE_ROWS`` rows on a guess), so that the first
calls of many reports fit the read-ahead at once; the rest of the window, and the other sites,
are asked in chunks sized from that answer. Tested against the synthesizing fake (the recorded
answers of each report, on every day).
"""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import parse_qsl

import pytest

from tap_matomo.streams import sizing
from tests import hand_built
from tests.conftest import base_config, run_sync
from tests.fake_matomo import FakeMatomo
from tests.test_report_families import sent_calls

START, END = "2026-09-28", "2026-11-26"  # 60 days


def _days(first: str, last: str) -> int:
    return (date.fromisoformat(last) - date.fromisoformat(first)).days + 1


def test_first_call_is_small_and_the_rest_of_the_window_follows_its_answer() -> None:
    with FakeMatomo(synthesize=True) as server:
        config = base_config(server, start_date=START, end_date=END)
        result = run_sync(config, streams={"devices_types", "actions_page_urls"})
        types = [(c["idSite"], c["date"]) for c in sent_calls(server, "DevicesDetection.getType")]
        pages = [(c["idSite"], c["date"]) for c in sent_calls(server, "Actions.getPageUrls")]
    plain = sizing.PROBE_ROWS // sizing.UNSEEN_TABLE_ROWS  # 10 days of a plain table
    probe_end = (date.fromisoformat(START) + timedelta(days=plain - 1)).isoformat()
    after = (date.fromisoformat(probe_end) + timedelta(days=1)).isoformat()
    # a few rows a day: the rest of the window in one call, the other sites in one call each
    assert types == [
        ("1", f"{START},{probe_end}"),
        ("1", f"{after},{END}"),
        ("2", f"{START},{END}"),
        ("3", f"{START},{END}"),
    ]
    # flattened (500 rows a day assumed): one day first
    assert pages[0] == ("1", f"{START},{START}")
    assert [site for site, _ in pages].count("1") == 2
    assert {site for site, _ in pages[2:]} == {"2", "3"}
    for stream in ("devices_types", "actions_page_urls"):
        days = {(r["site_id"], r["date"]) for r in result.records[stream]}
        assert len(days) == 3 * _days(START, END), stream  # every site, every day


def test_a_short_window_is_one_call() -> None:
    """A window whose guessed rows fit ``PROBE_ROWS`` is not cut (incremental runs)."""
    with FakeMatomo(synthesize=True) as server:
        config = base_config(server, site_ids=[1], start_date="2026-11-20", end_date=END)
        run_sync(config, streams={"devices_types"})
        dates = [c["date"] for c in sent_calls(server, "DevicesDetection.getType")]
    assert dates == [f"2026-11-20,{END}"]


def test_the_rest_of_the_window_goes_with_the_other_sites_once_sized() -> None:
    """The first answer sizes the rest of its window and the other sites' calls, which then
    share one request (one at a time) instead of one request for the rest and one for the sites.
    """
    with FakeMatomo(synthesize=True) as server:
        config = base_config(server, start_date=START, end_date=END, max_concurrent_requests=1)
        result = run_sync(config, streams={"devices_types"})
        requests = [
            [(c["idSite"], c["date"]) for c in sent_calls(server, "DevicesDetection.getType", [r])]
            for r in server.requests
        ]
    requests = [calls for calls in requests if calls]
    assert len(requests) == 2
    assert [site for site, _ in requests[0]] == ["1"]  # the first call, a few days
    assert sorted(site for site, _ in requests[1]) == ["1", "2", "3"]
    assert len(result.records["devices_types"]) > 0


def test_the_first_calls_of_many_reports_travel_together() -> None:
    """One at a time, the first calls of every selected report go in the first bulk request."""
    streams = {
        "devices_types",
        "devices_browsers",
        "actions_page_urls",
        "actions_page_titles",
        "referrers_websites",
        "user_country_countries",
        "events_categories",
        "visit_time_local",
    }
    with FakeMatomo(synthesize=True) as server:
        config = base_config(server, start_date=START, end_date=END, max_concurrent_requests=1)
        result = run_sync(config, streams=streams)
        first_bulk = server.api_requests("API.getBulkRequest")[0]
        asked = {
            dict(parse_qsl(value))["method"]
            for key, value in first_bulk.params.items()
            if key.startswith("urls[")
        }
    assert set(result.records) == streams
    assert len(asked) == len(streams)  # every report's first call is in it


@pytest.mark.parametrize("concurrency", [1, 3])
def test_goal_and_dimension_lists_share_one_request_sent_first(concurrency: int) -> None:
    """The lists that per-goal and per-dimension reports are planned from go out together,
    right after the site list, before any report call waits for them.
    """
    with FakeMatomo(synthesize=True) as server:
        hand_built.install(server)  # sites 2 and 3 have no recorded dimension list
        config = base_config(server, max_concurrent_requests=concurrency)
        result = run_sync(config, streams={"goals_per_goal", "custom_dimensions"})
        lists = [
            request
            for request in server.requests
            if {"Goals.getGoals", "CustomDimensions.getConfiguredCustomDimensions"}
            & set(request.methods)
        ]
    assert len(lists) == 1
    for method in ("Goals.getGoals", "CustomDimensions.getConfiguredCustomDimensions"):
        assert [c["idSite"] for c in sent_calls(server, method, lists)] == ["1", "2", "3"]
    assert result.records["goals_per_goal"]
    assert result.records["custom_dimensions"]
