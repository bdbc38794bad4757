"""The core reports `API.getReportMetadata` lists that the catalog first lacked (issue 10).

Every stream is synced over loopback for each window its answers exist for, and its records are
compared value by value with the rows the fake serves: recorded answers (language, resolution,
visit length, User IDs, `API.get`), or HAND-BUILT ones made from recorded siblings
(tests/hand_built_catalog.py) where no recording exists. The comparison is the one of
tests/test_report_families.py: same rows in the same order, dimensions in their columns, every
metric declared and typed, unique primary keys, valid against the schema.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tap_matomo import dates
from tap_matomo.catalog import REPORTS, covered_methods, reports_by_name
from tap_matomo.catalog_overviews import OVERVIEW_REPORTS
from tap_matomo.catalog_visitors import VISITOR_REPORTS
from tap_matomo.tap import TapMatomo
from tests import hand_built
from tests.conftest import RECORDED_NOW, SyncResult, base_config, primary_key_values, run_sync
from tests.fake_matomo import RECORDINGS, FakeMatomo, recorded_body
from tests.test_report_families import (
    ALL,
    MONTH,
    WEEK_MONTH,
    WINDOWS,
    assert_record_matches,
    expected_rows,
    sent_calls,
    validator,
)

SPECS = reports_by_name()

#: The methods `API.getReportMetadata` listed for site 1 without a stream (recordings 0003, 0730).
MISSING_BEFORE = (
    "UserLanguage.getLanguage",
    "UserLanguage.getLanguageCode",
    "Resolution.getResolution",
    "Resolution.getConfiguration",
    "DevicePlugins.getPlugin",
    "VisitorInterest.getNumberOfVisitsPerVisitDuration",
    "VisitorInterest.getNumberOfVisitsPerPage",
    "VisitorInterest.getNumberOfVisitsByVisitCount",
    "VisitorInterest.getNumberOfVisitsByDaysSinceLast",
    "PagePerformance.get",
    "Actions.getPageUrlsFollowingSiteSearch",
    "Actions.getPageTitlesFollowingSiteSearch",
    "Referrers.get",
    "UserId.getUsers",
    "API.get",
    "MultiSites.getAll",
    "MultiSites.getOne",
)

#: Windows the fake answers for each new stream (site 1): recorded, or built from recordings.
WINDOWS_OF: dict[str, tuple[str, ...]] = {
    "visitor_languages": ALL,  # recorded (0408-0414)
    "visitor_resolutions": ALL,  # recorded (0418-0424)
    "engagement_visit_durations": ALL,  # recorded (0428-0434)
    "user_ids": MONTH,  # recorded (0513)
    "main_metrics": MONTH,  # recorded (0580)
    "visitor_language_codes": ALL,  # HAND-BUILT from here on
    "visitor_configurations": ALL,
    "visitor_browser_plugins": ALL,
    "engagement_pages_per_visit": ALL,
    "engagement_visit_numbers": ALL,
    "engagement_days_since_last_visit": ALL,
    "actions_site_search_page_urls": WEEK_MONTH,
    "actions_site_search_page_titles": WEEK_MONTH,
    "referrers_summary": MONTH,
    "page_performance": MONTH,
    "all_websites": MONTH,
}
RECORDED_STREAMS = ("visitor_languages", "visitor_resolutions", "engagement_visit_durations")


def metadata_methods(number: str) -> set[str]:
    """The methods a recorded `API.getReportMetadata` answer lists."""
    return {f"{r['module']}.{r['action']}" for r in recorded_body(number)}


# -- the catalog covers the server's reports --------------------------------------------------


def test_every_core_report_of_the_metadata_has_a_stream() -> None:
    listed = metadata_methods("0003") | metadata_methods("0730")
    assert set(MISSING_BEFORE) <= listed
    assert listed <= covered_methods(), sorted(listed - covered_methods())
    methods = {spec.method for spec in REPORTS}
    assert set(MISSING_BEFORE) - methods == {"MultiSites.getAll"}
    assert "MultiSites.getAll" in SPECS["all_websites"].covers


def test_new_streams_are_declared_and_listed() -> None:
    new = {spec.name for spec in VISITOR_REPORTS + OVERVIEW_REPORTS}
    new |= {"actions_site_search_page_urls", "actions_site_search_page_titles"}
    assert new == set(WINDOWS_OF)
    readme = (RECORDINGS.parents[2] / "README.md").read_text()
    for name in new:
        spec = SPECS[name]
        assert f"| `{name}` | `{spec.method}` |" in readme, name


def test_cost_decides_what_is_selected_by_default() -> None:
    """Archived reports of bounded size are read by default; User IDs (one row per user,
    personal data) and the two overviews made of other streams' numbers are not."""
    tap = TapMatomo(config=None, parse_env_config=False, validate_config=False)
    off = {name for name in WINDOWS_OF if not tap.streams[name].selected_by_default}
    assert off == {"user_ids", "main_metrics", "all_websites"}


# -- records equal the answers, window by window ----------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[FakeMatomo]:
    with FakeMatomo() as fake:
        hand_built.install(fake)
        yield fake


@pytest.fixture(scope="module")
def synced(server: FakeMatomo) -> Callable[[str], tuple[SyncResult, list[Any]]]:
    """One sync per window of every new stream answered for it, made once for the module."""
    done: dict[str, tuple[SyncResult, list[Any]]] = {}

    def sync(window: str) -> tuple[SyncResult, list[Any]]:
        if window not in done:
            first, last, period = WINDOWS[window]
            streams = {name for name, windows in WINDOWS_OF.items() if window in windows}
            config = base_config(
                server, site_ids=[1], start_date=first, end_date=last, period=period
            )
            server.requests.clear()
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(dates, "utc_now", lambda: RECORDED_NOW)
                result = run_sync(config, streams=streams)
            done[window] = (result, list(server.requests))
        return done[window]

    return sync


def cases() -> Iterator[Any]:
    for name, windows in WINDOWS_OF.items():
        for window in windows:
            yield pytest.param(name, window, id=f"{name}-{window}")


@pytest.mark.parametrize(("stream", "window"), list(cases()))
def test_stream_equals_the_answers(
    server: FakeMatomo,
    synced: Callable[[str], tuple[SyncResult, list[Any]]],
    stream: str,
    window: str,
) -> None:
    spec = SPECS[stream]
    result, requests = synced(window)
    records = result.records[stream]
    expected = expected_rows(server, spec, window)
    assert expected, "the fake answers rows for this window"
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
    calls = sent_calls(server, spec.method, requests)
    assert calls
    for call in calls:
        assert (call["idSite"], call["filter_limit"], call["format_metrics"]) == ("1", "-1", "0")
        assert call.get("flat") == ("1" if spec.flat else None)
        assert {k: call.get(k) for k in spec.params} == dict(spec.params)


@pytest.mark.parametrize("stream", RECORDED_STREAMS)
def test_recorded_day_rows_are_matomos(server: FakeMatomo, stream: str) -> None:
    """The day window against the recorded single-day file itself, not the fake's assembly."""
    number = {"visitor_languages": "0408", "visitor_resolutions": "0418"}.get(stream, "0428")
    config = base_config(server, site_ids=[1], start_date="2026-11-20", end_date="2026-11-20")
    result = run_sync(config, streams={stream})
    rows = recorded_body(number)
    records = result.records[stream]
    assert [r["label"] for r in records] == [row["label"] for row in rows]
    assert [r["nb_visits"] for r in records] == [int(row["nb_visits"]) for row in rows]
    assert [r["segment"] for r in records] == [row["segment"] for row in rows]


def test_user_ids_keep_the_visitor_id(server: FakeMatomo) -> None:
    config = base_config(
        server, site_ids=[1], start_date="2026-10-01", end_date="2026-10-31", period="month"
    )
    records = run_sync(config, streams={"user_ids"}).records["user_ids"]
    rows = recorded_body("0513")
    assert len(records) == len(rows) == 251
    assert [(r["label"], r["visitor_id"]) for r in records] == [
        (row["label"], row["idvisitor"]) for row in rows
    ]


def test_main_metrics_declare_every_metric_of_matomos_answer(server: FakeMatomo) -> None:
    """`API.get` (0580): 83 metrics, none left in `other_metrics`, percentages as ratios."""
    config = base_config(
        server, site_ids=[1], start_date="2026-10-01", end_date="2026-10-31", period="month"
    )
    (record,) = run_sync(config, streams={"main_metrics"}).records["main_metrics"]
    recorded = recorded_body("0580")
    assert set(SPECS["main_metrics"].metrics) == set(recorded)
    assert record["other_metrics"] is None
    assert record["bounce_rate"] == pytest.approx(0.29)
    assert record["Referrers_visitorsFromSearchEngines_percent"] == pytest.approx(0.33)
    assert record["PagePerformance_servery_time"] == pytest.approx(646.588)
    assert record["revenue"] == pytest.approx(29793.38)


def test_all_websites_rows_are_the_dashboards_per_site(server: FakeMatomo) -> None:
    """Each site's row equals its row of `MultiSites.getAll` (0457), evolutions as ratios."""
    config = base_config(
        server, start_date="2026-10-01", end_date="2026-10-31", period="month", site_ids=[1, 2, 3]
    )
    records = run_sync(config, streams={"all_websites"}).records["all_websites"]
    dashboard = {row["idsite"]: row for row in recorded_body("0457")}
    assert sorted(r["site_id"] for r in records) == [1, 2, 3]
    for record in records:
        row = dashboard[record["site_id"]]
        for metric in ("nb_visits", "nb_actions", "nb_pageviews", "revenue", "ratio"):
            assert record[metric] == pytest.approx(row[metric]), metric
        for metric in ("visits", "actions", "pageviews", "revenue"):
            percent = float(row[f"{metric}_evolution"].rstrip("%").replace(",", "")) / 100
            assert record[f"{metric}_evolution"] == pytest.approx(percent)
            assert record[f"{metric}_evolution_trend"] == row[f"{metric}_evolution_trend"]
        assert record["previous_nb_visits"] == row["previous_nb_visits"]
    site_1 = next(r for r in records if r["site_id"] == 1)
    assert site_1["revenue_evolution"] == pytest.approx(11.449)  # "1,144.9%"
    assert site_1["orders"] == recorded_body("0503")["nb_conversions"]
    assert site_1["ecommerce_revenue"] == pytest.approx(recorded_body("0503")["revenue"])
    calls = sent_calls(server, "MultiSites.getOne")
    assert sorted(c["idSite"] for c in calls) == ["1", "2", "3"]
    assert {c["enhanced"] for c in calls} == {"1"}
    assert not sent_calls(server, "MultiSites.getAll")


def test_pages_following_a_search_are_matomos_filter(server: FakeMatomo) -> None:
    """Top-level rows clicked from search results, and (flattened) every page below them."""
    config = base_config(
        server, site_ids=[1], start_date="2026-10-01", end_date="2026-10-31", period="month"
    )
    result = run_sync(config, streams={"actions_site_search_page_urls"})
    records = result.records["actions_site_search_page_urls"]
    assert records
    pages = {r["label"]: r for r in records}
    assert pages["/checkout"]["nb_hits_following_search"] == 17
    assert "/checkout/thank-you" not in pages  # its folder `checkout` was not clicked
    assert (
        pages["/products/shoes/trail/mud-runner?utm_content=carousel"]["nb_hits_following_search"]
        is None
    )  # below `products`, not itself clicked: Matomo keeps it
    all_pages = len(recorded_body("0273"))
    assert len(records) < all_pages


def test_metadata_of_the_new_reports_types_their_metrics() -> None:
    """The metric types Matomo's metadata declares agree with the schema's (0730)."""
    metadata = {f"{r['module']}.{r['action']}": r for r in recorded_body("0730")}
    tap = TapMatomo(config=None, parse_env_config=False, validate_config=False)
    for spec in VISITOR_REPORTS + OVERVIEW_REPORTS:
        report = metadata[spec.method]
        properties = tap.streams[spec.name].schema["properties"]
        for metric, kind in report.get("metricTypes", {}).items():
            if metric not in spec.metrics:
                continue
            types = properties[metric]["type"]
            assert "integer" in types or "number" in types, (spec.name, metric)
            if kind in ("percent", "money", "duration_s", "float"):
                assert "number" in types, (spec.name, metric, kind)


def test_counts_of_the_overviews_are_integers() -> None:
    """Channel visits, distinct referrers, page-speed hits and trends count; shares do not."""
    tap = TapMatomo(config=None, parse_env_config=False, validate_config=False)

    def kind(stream: str, metric: str) -> str:
        types = tap.streams[stream].schema["properties"][metric]["type"]
        return "integer" if "integer" in types else "number"

    for metric in (
        "Referrers_visitorsFromSearchEngines",
        "Referrers_distinctWebsitesUrls",
        "PagePerformance_network_hits",
        "nb_pageviews",
    ):
        assert kind("main_metrics", metric) == "integer", metric
    for metric in (
        "Referrers_visitorsFromSearchEngines_percent",
        "PagePerformance_network_time",
        "avg_page_load_time",
        "bounce_rate_returning",
    ):
        assert kind("main_metrics", metric) == "number", metric
    for metric in ("visits_evolution_trend", "revenue_evolution_trend", "orders", "nb_visits"):
        assert kind("all_websites", metric) == "integer", metric
    for metric in ("revenue_evolution", "ecommerce_revenue", "ratio", "previous_Goal_revenue"):
        assert kind("all_websites", metric) == "number", metric
    assert kind("all_websites", "previous_Actions_nb_pageviews") == "integer"
