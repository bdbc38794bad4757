"""Page URL/title items, Transitions, Advanced Campaign Reporting, Users Flow, missing plugins.

Everything runs against the loopback fake Matomo and is compared with the recorded Matomo 5.0.2
answers (``tests/fixtures/recordings``), except the Users Flow shape test: UsersFlow is not
installed on the recorded server, so that test's answers are built by hand from the documented
shape (docs/matomo-api.md §3.3, the plugin's API documentation) and say so.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from typing import Any
from urllib.parse import parse_qsl

import pytest
from singer_sdk.exceptions import ConfigValidationError

from tap_matomo.catalog import CAMPAIGN_REPORTS, PAGE_METRICS, USERS_FLOW_REPORTS
from tap_matomo.errors import MatomoError
from tap_matomo.tap import TapMatomo
from tests.conftest import assert_keyed_by, base_config, primary_key_values, run_sync
from tests.fake_matomo import RECORDINGS, TOKEN, FakeMatomo, recorded_body

HOME_URL = "https://shop.example.com/"
SALE_URL = "https://shop.example.com/sale/"
HOME_TITLE = "Example Shop - Running & Outdoor Gear"
CHECKOUT_TITLE = "Checkout - Example Shop"
OCTOBER = {"period": "month", "start_date": "2026-10-01", "end_date": "2026-10-31"}
ITEM_STREAMS = {
    "actions_page_url",
    "actions_page_title",
    "transitions_page_url",
    "transitions_page_title",
    "users_flow_interaction_actions",
}


# -- helpers ------------------------------------------------------------------------------------


def api_calls(server: FakeMatomo, method: str) -> list[dict[str, str]]:
    """Every call of one API method the fake answered, sub-calls of bulk requests included."""
    calls = []
    for request in server.requests:
        if request.api_method == method:
            calls.append({k: v for k, v in request.params.items() if k != "token_auth"})
        elif request.api_method == "API.getBulkRequest":
            for key, value in request.form.items():
                inner = dict(parse_qsl(value)) if key.startswith("urls[") else {}
                if inner.get("method") == method:
                    calls.append(inner)
    return calls


def recording(number: str) -> dict[str, Any]:
    """The whole recorded exchange ``NNNN`` (request query and body)."""
    (path,) = RECORDINGS.glob(f"{number}__*.json")
    return json.loads(path.read_text())


def number(value: Any) -> Any:
    """A recorded metric as the tap types it: ``"35%"`` -> 0.35, ``"14"`` -> 14."""
    if isinstance(value, str) and value.endswith("%"):
        return float(value[:-1]) / 100
    if isinstance(value, str):
        return float(value)
    return value


def assert_row_equals(
    record: dict[str, Any], row: dict[str, Any], metrics: tuple[str, ...]
) -> None:
    """A tap record carries the recorded row's label, metrics, segment, url and goals."""
    assert record["label"] == row["label"]
    for metric in metrics:
        if metric in row:
            assert record[metric] == pytest.approx(number(row[metric])), (row["label"], metric)
        else:
            assert record[metric] is None, (row["label"], metric)
    assert record["segment"] == row.get("segment")
    assert record["url"] == row.get("url")
    recorded_goals = {
        key.removeprefix("idgoal="): {name: number(v) for name, v in goal.items()}
        for key, goal in (row.get("goals") or {}).items()
    }
    tap_goals = {
        goal["goal_id"]: {k: v for k, v in goal.items() if k != "goal_id" and v is not None}
        for goal in record["goals"] or []
    }
    assert tap_goals == recorded_goals


def partition_bookmarks(result: Any, stream: str) -> dict[tuple, str | None]:
    """Final bookmark per partition context (as a sorted tuple of its items)."""
    return {
        tuple(sorted(p["context"].items())): p.get("replication_key_value")
        for p in result.final_state["bookmarks"][stream]["partitions"]
    }


def selected_by_default(config: dict[str, Any]) -> dict[str, bool]:
    tap = TapMatomo(config=config, parse_env_config=False, validate_config=False)
    return {
        entry["tap_stream_id"]: next(
            m["metadata"].get("selected-by-default")
            for m in entry["metadata"]
            if m["breadcrumb"] == []
        )
        for entry in tap.catalog_dict["streams"]
    }


# -- page URL and page title items --------------------------------------------------------------


def test_page_url_records_equal_recording_and_unknown_url_gives_none(fake: FakeMatomo) -> None:
    config = base_config(
        fake,
        site_ids=[1],
        page_urls=[HOME_URL, "https://shop.example.com/does-not-exist"],
        **OCTOBER,
    )
    result = run_sync(config, streams={"actions_page_url"})

    (record,) = result.records["actions_page_url"]
    (row,) = recorded_body("0495")
    assert_row_equals(record, row, PAGE_METRICS)
    assert record["other_metrics"] is None  # every recorded metric has its column
    assert record["page_url"] == HOME_URL
    assert (record["site_id"], record["period"], record["date"], record["end_date"]) == (
        1,
        "month",
        "2026-10-01",
        "2026-10-31",
    )
    assert record["nb_hits"] == 162
    assert record["bounce_rate"] == pytest.approx(0.35)
    assert recorded_body("0497") == []  # the unknown URL: Matomo has no row, so neither has the tap
    assert_keyed_by(result, "actions_page_url", ["page_url", "label"])
    calls = api_calls(fake, "Actions.getPageUrl")
    assert [c["pageUrl"] for c in calls] == [HOME_URL, "https://shop.example.com/does-not-exist"]
    assert {c["date"] for c in calls} == {"2026-10-01,2026-10-31"}
    assert partition_bookmarks(result, "actions_page_url") == {
        (("page_url", HOME_URL), ("site_id", 1)): "2026-10-01",
        # no row, but the month was read: the bookmark moves on all the same
        (("page_url", "https://shop.example.com/does-not-exist"), ("site_id", 1)): "2026-10-01",
    }


def test_page_title_leading_space_quirk(fake: FakeMatomo) -> None:
    """Matomo's title label starts with a space; it finds the title with or without it."""
    titles = [CHECKOUT_TITLE, f" {CHECKOUT_TITLE}", HOME_TITLE]
    config = base_config(fake, site_ids=[1], page_titles=titles, **OCTOBER)
    result = run_sync(config, streams={"actions_page_title"})

    records = result.records["actions_page_title"]
    assert [r["page_title"] for r in records] == [CHECKOUT_TITLE, f" {CHECKOUT_TITLE}"]
    for record, number_ in zip(records, ("0563", "0564"), strict=True):
        (row,) = recorded_body(number_)
        assert row["label"] == f" {CHECKOUT_TITLE}"
        metrics = ("nb_visits", "nb_hits", "sum_time_spent", "sum_daily_nb_uniq_visitors")
        assert_row_equals(record, row, (*metrics, "nb_hits_following_search", "bounce_rate"))
        assert record["other_metrics"] is None  # every recorded metric has its column
    assert recorded_body("0498") == []  # the home page title had no views under that title
    keys = primary_key_values(result, "actions_page_title")
    assert len(keys) == len(set(keys)) == 2
    assert [c["pageName"] for c in api_calls(fake, "Actions.getPageTitle")] == titles


def test_page_url_days_from_a_multi_date_answer(fake: FakeMatomo) -> None:
    """Recording 0496 (``last3`` days): a day without views is ``[]`` and gives no record."""
    config = base_config(
        fake, site_ids=[1], page_urls=[SALE_URL], start_date="2026-11-24", end_date="2026-11-26"
    )
    result = run_sync(config, streams={"actions_page_url"})

    recorded = recorded_body("0496")
    records = result.records["actions_page_url"]
    assert [r["date"] for r in records] == ["2026-11-24", "2026-11-26"]
    for record in records:
        (row,) = recorded[record["date"]]
        assert_row_equals(
            record, row, ("nb_visits", "nb_uniq_visitors", "nb_hits", "entry_nb_actions")
        )
        assert isinstance(record["entry_nb_actions"] or 0, int)
    assert records[0]["entry_nb_actions"] == 8  # "8" on a day row
    (call,) = api_calls(fake, "Actions.getPageUrl")
    assert (call["date"], call["period"], call["pageUrl"]) == (
        "2026-11-24,2026-11-26",
        "day",
        SALE_URL,
    )


def test_one_partition_and_bookmark_per_site_and_item() -> None:
    with FakeMatomo(synthesize=True) as server:
        config = base_config(server, page_urls=[HOME_URL, SALE_URL], end_date=None, lookback_days=2)
        first = run_sync(config, streams={"actions_page_url"})
        bookmarks = partition_bookmarks(first, "actions_page_url")
        assert bookmarks == {
            (("page_url", url), ("site_id", site)): "2026-11-26"
            for site in (1, 2, 3)
            for url in (HOME_URL, SALE_URL)
        }
        per_item = Counter((r["site_id"], r["page_url"]) for r in first.records["actions_page_url"])
        assert set(per_item) == {(s, u) for s in (1, 2, 3) for u in (HOME_URL, SALE_URL)}

        server.requests.clear()
        second = run_sync(config, streams={"actions_page_url"}, state=first.final_state)
    calls = api_calls(server, "Actions.getPageUrl")
    assert sorted((c["idSite"], c["pageUrl"]) for c in calls) == sorted(
        (str(s), u) for s in (1, 2, 3) for u in (HOME_URL, SALE_URL)
    )
    assert {c["date"] for c in calls} == {"2026-11-24,2026-11-26"}
    assert {r["date"] for r in second.records["actions_page_url"]} <= {
        "2026-11-24",
        "2026-11-25",
        "2026-11-26",
    }
    keys = primary_key_values(second, "actions_page_url")
    assert len(keys) == len(set(keys))


def test_empty_item_settings_send_no_request(fake: FakeMatomo) -> None:
    result = run_sync(base_config(fake), streams=ITEM_STREAMS)
    assert fake.requests == []
    assert not any(result.records.values())


def test_item_settings_are_checked(fake: FakeMatomo) -> None:
    config = base_config(fake, page_urls=[HOME_URL, " "])
    with pytest.raises(ConfigValidationError) as failure:
        run_sync(config, streams={"actions_page_url"})
    assert failure.value.errors == ["`page_urls`: item(s) 2 are empty."]
    assert fake.requests == []


# -- Transitions --------------------------------------------------------------------------------


def expected_transitions(answer: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """The rows a recorded Transitions answer must give: (direction, type, label) -> counts."""
    lists = {
        "previousPages": "previous_pages",
        "previousSiteSearches": "previous_site_searches",
        "followingPages": "following_pages",
        "followingSiteSearches": "following_site_searches",
        "outlinks": "outlinks",
        "downloads": "downloads",
    }
    rows: dict[tuple[str, str, str], dict[str, Any]] = {("page", "", ""): answer["pageMetrics"]}
    for key, direction in lists.items():
        for item in answer[key]:
            rows[(direction, "", item["label"])] = {"referrals": int(item["referrals"])}
    for group in answer["referrers"]:
        rows[("referrer_types", group["shortName"], group["label"])] = {"visits": group["visits"]}
        for detail in group.get("details", []):
            key = ("referrers", group["shortName"], detail["label"])
            rows[key] = {"referrals": int(detail["referrals"])}
    return rows


REPORT_DAY = {"start_date": None, "end_date": None, "report_date": "2026-11-20"}


@pytest.mark.parametrize(
    ("number_", "stream", "settings", "period_start"),
    [
        ("0515", "transitions_page_url", OCTOBER, ("month", "2026-10-01")),
        ("0516", "transitions_page_title", OCTOBER, ("month", "2026-10-01")),
        (
            "0517",
            "transitions_page_url",
            {**REPORT_DAY, "transitions_limit_before_grouping": 5},
            ("day", "2026-11-20"),
        ),
        ("0519", "transitions_page_url", {**OCTOBER, "period": "range"}, ("range", "2026-10-01")),
    ],
)
def test_transitions_rows_equal_recording(
    fake: FakeMatomo,
    number_: str,
    stream: str,
    settings: dict[str, Any],
    period_start: tuple[str, str],
) -> None:
    recorded = recording(number_)
    query = recorded["request"]["query"]
    item_column = stream.removeprefix("transitions_")
    item_setting = f"{item_column}s"
    config = base_config(fake, site_ids=[1], **{item_setting: [query["actionName"]]}, **settings)
    result = run_sync(config, streams={stream})

    # The request is the recorded one (plus the tap's cosmetic parameters).
    (call,) = api_calls(fake, "Transitions.getTransitionsForAction")
    assert {k: call.get(k) for k in query if k not in ("module", "format")} == {
        k: v for k, v in query.items() if k not in ("module", "format")
    }
    records = result.records[stream]
    assert {r[item_column] for r in records} == {query["actionName"]}
    assert {(r["period"], r["date"]) for r in records} == {period_start}
    got = {(r["direction"], r["referrer_type"], r["label"]): r for r in records}
    expected = expected_transitions(recorded["body"])
    assert len(got) == len(records) == len(expected)
    assert set(got) == set(expected)
    for key, counts in expected.items():
        for name, value in counts.items():
            assert got[key][name] == value, (key, name)
            assert isinstance(got[key][name], int)
    assert all(r["is_summary"] == (r["label"] == "Others") for r in records)
    assert_keyed_by(result, stream, [item_column, "direction", "referrer_type", "label"])


def test_transitions_no_data_for_action_is_an_empty_period(fake: FakeMatomo) -> None:
    """Recording 0518: ``NoDataForAction`` -> no rows; the next page is still read."""
    nope = "https://shop.example.com/nope"
    config = base_config(fake, site_ids=[1], page_urls=[nope, HOME_URL], **OCTOBER)
    result = run_sync(config, streams={"transitions_page_url"})

    assert recorded_body("0518") == {"result": "error", "message": "NoDataForAction"}
    records = result.records["transitions_page_url"]
    assert {r["page_url"] for r in records} == {HOME_URL}
    assert len(records) == len(expected_transitions(recorded_body("0515")))
    assert [c["actionName"] for c in api_calls(fake, "Transitions.getTransitionsForAction")] == [
        nope,
        HOME_URL,
    ]


def test_transitions_one_call_per_period_and_off_by_default() -> None:
    with FakeMatomo(synthesize=True) as server:
        config = base_config(
            server,
            site_ids=[1],
            page_urls=[SALE_URL],
            start_date="2026-11-20",
            end_date="2026-11-22",
            transitions_limit_before_grouping=5,
        )
        result = run_sync(config, streams={"transitions_page_url"})
        calls = api_calls(server, "Transitions.getTransitionsForAction")
        selected = selected_by_default(config)
    assert [c["date"] for c in calls] == ["2026-11-20", "2026-11-21", "2026-11-22"]
    assert {c["limitBeforeGrouping"] for c in calls} == {"5"}
    assert len(server.api_requests("API.getBulkRequest")) == 1  # batched into one request
    assert {r["date"] for r in result.records["transitions_page_url"]} == {
        "2026-11-20",
        "2026-11-21",
        "2026-11-22",
    }
    assert selected["transitions_page_url"] is False
    assert selected["transitions_page_title"] is False
    assert selected["actions_page_url"] is True


# -- Advanced Campaign Reporting (MarketingCampaignsReporting) -----------------------------------

#: Stream -> (method, level columns -> Matomo's per-level keys) of the nine campaign reports.
CAMPAIGNS = {
    "campaigns_ids": ("getId", {}),
    "campaigns_names": (
        "getName",
        {
            "campaign_name": "MarketingCampaignsReporting_CampaignName",
            "campaign_keyword_content": "MarketingCampaignsReporting_CombinedKeywordContent",
        },
    ),
    "campaigns_keywords": ("getKeyword", {}),
    "campaigns_sources": ("getSource", {}),
    "campaigns_mediums": ("getMedium", {}),
    "campaigns_contents": ("getContent", {}),
    "campaigns_groups": ("getGroup", {}),
    "campaigns_placements": ("getPlacement", {}),
    "campaigns_source_mediums": (
        "getSourceMedium",
        {
            "campaign_source_medium": "MarketingCampaignsReporting_CampaignSourceMedium",
            "campaign_name": "MarketingCampaignsReporting_CampaignName",
        },
    ),
}
CAMPAIGN_METRICS = (
    "nb_visits",
    "nb_uniq_visitors",
    "nb_users",
    "sum_daily_nb_uniq_visitors",
    "sum_daily_nb_users",
    "nb_actions",
    "max_actions",
    "sum_visit_length",
    "bounce_count",
    "nb_visits_converted",
    "nb_conversions",
    "revenue",
)


def campaign_recording(method: str, site: str, when: str, flat: bool) -> Any:
    name = (
        f"[0-9][0-9][0-9][0-9]__MarketingCampaignsReporting.{method}__idSite-{site}_{when}_"
        f"{'flat-1_' if flat else ''}filter_limit--1.json"
    )
    (path,) = RECORDINGS.glob(name)
    return json.loads(path.read_text())["body"]


def test_campaign_reports_equal_recordings_row_for_row(fake: FakeMatomo) -> None:
    config = base_config(fake, period="month", start_date="2026-11-01", end_date="2026-11-26")
    result = run_sync(config, streams=set(CAMPAIGNS))

    assert {spec.name for spec in CAMPAIGN_REPORTS} == set(CAMPAIGNS)
    when = "period-month_date-2026-11-01"
    for stream, (method, levels) in CAMPAIGNS.items():
        records = result.records[stream]
        everywhere = campaign_recording(method, "all", when, flat=bool(levels))
        by_site = {1: campaign_recording(method, "1", when, flat=bool(levels))}
        by_site |= {site: everywhere[str(site)] for site in (2, 3)}
        assert everywhere["1"] == by_site[1]  # one site alone or within all: the same rows
        for site, rows in by_site.items():
            mine = [r for r in records if r["site_id"] == site]
            assert len(mine) == len(rows), (stream, site)
            for record, row in zip(mine, rows, strict=True):
                assert_row_equals(record, row, CAMPAIGN_METRICS)
                assert (record["period"], record["date"], record["end_date"]) == (
                    "month",
                    "2026-11-01",
                    "2026-11-30",
                )
                for column, key in levels.items():
                    assert record[column] == row.get(key, ""), (stream, column, row["label"])
        assert_keyed_by(result, stream, list(levels or ["label"]))
        assert all(
            c.get("flat") == ("1" if levels else None)
            for c in api_calls(fake, f"MarketingCampaignsReporting.{method}")
        )
    # A campaign without keyword or content keys its row with an empty level.
    summit = next(
        r
        for r in result.records["campaigns_names"]
        if r["campaign_name"] == "analytics-summit-2026"
    )
    assert (summit["site_id"], summit["campaign_keyword_content"]) == (3, "")


def test_campaign_day_rows_from_a_seven_day_answer(fake: FakeMatomo) -> None:
    """Day rows carry counts as strings (``"nb_actions": "14"``): they leave as integers."""
    result = run_sync(base_config(fake), streams={"campaigns_sources", "campaigns_ids"})
    when = "period-day_date-2026-11-20-2026-11-26"
    for stream, method in (("campaigns_sources", "getSource"), ("campaigns_ids", "getId")):
        everywhere = campaign_recording(method, "all", when, flat=False)
        for site in (1, 2, 3):
            expected = [
                (day, row) for day, rows in sorted(everywhere[str(site)].items()) for row in rows
            ]
            mine = [r for r in result.records[stream] if r["site_id"] == site]
            assert [(r["date"], r["label"]) for r in mine] == [
                (d, row["label"]) for d, row in expected
            ]
            for record, (_, row) in zip(mine, expected, strict=True):
                assert_row_equals(record, row, CAMPAIGN_METRICS)
                assert isinstance(record["nb_actions"], int)


# -- missing plugins ----------------------------------------------------------------------------

PLUGIN_STREAMS = {spec.name for spec in CAMPAIGN_REPORTS + USERS_FLOW_REPORTS}


def plugin_calls(server: FakeMatomo, module: str) -> list[dict[str, str]]:
    methods = {
        f"{module}.{m}" for m in ("getUsersFlowPretty", "getUsersFlow", "getInteractionActions")
    }
    methods |= {f"{module}.{method}" for method, _ in CAMPAIGNS.values()}
    return [call for method in sorted(methods) for call in api_calls(server, method)]


def test_missing_plugins_skip_their_streams_with_one_warning_each(
    fake_core: FakeMatomo, caplog: pytest.LogCaptureFixture
) -> None:
    config = base_config(fake_core, users_flow_interaction_positions=[1, 2], **OCTOBER)
    with caplog.at_level(logging.WARNING):
        result = run_sync(config, streams=PLUGIN_STREAMS | {"sites", "visits_summary"})

    assert result.error is None
    assert not any(result.records[s] for s in PLUGIN_STREAMS)
    # The rest of the sync goes on (streams before and after the plugin streams).
    assert len(result.records["sites"]) == 3
    assert [r["site_id"] for r in result.records["visits_summary"]] == [1, 2, 3]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    plugin_warnings = [w for w in warnings if "is not activated" in w]
    assert len(plugin_warnings) == 2, plugin_warnings
    assert sum("MarketingCampaignsReporting" in w for w in plugin_warnings) == 1
    assert sum("UsersFlow" in w for w in plugin_warnings) == 1
    # Each plugin's calls go out once, read ahead together in bulk requests; none is asked
    # again once the plugin is known to be missing.
    for module in ("MarketingCampaignsReporting", "UsersFlow"):
        calls = plugin_calls(fake_core, module)
        assert calls, module
        keys = [tuple(sorted(call.items())) for call in calls]
        assert len(keys) == len(set(keys)), module
    assert TOKEN not in caplog.text


def test_fail_on_missing_plugin_stops_with_a_clear_error(fake_core: FakeMatomo) -> None:
    config = base_config(fake_core, fail_on_missing_plugin=True)
    result = run_sync(config, streams={"campaigns_sources"}, allow_failure=True)

    assert isinstance(result.error, MatomoError)
    message = str(result.error)
    assert "MarketingCampaignsReporting" in message
    assert "`fail_on_missing_plugin`" in message
    assert "campaigns_sources" in message
    assert TOKEN not in message
    assert len(fake_core.requests) == 2  # the sites, then one bulk request for the 3 sites


def test_users_flow_fails_the_same_way_without_the_plugin(fake: FakeMatomo) -> None:
    """Recording 0566: UsersFlow is not installed, whatever the profile."""
    assert "The plugin UsersFlow is not enabled" in recorded_body("0566")["message"]
    config = base_config(fake, fail_on_missing_plugin=True)
    result = run_sync(config, streams={"users_flow"}, allow_failure=True)
    assert isinstance(result.error, MatomoError)
    assert "UsersFlow" in str(result.error)


# -- Users Flow shapes (hand-built answers: the plugin is not on the recorded server) ------------

#: HAND-BUILT from the documented shape (getUsersFlowPretty, flat=1: "Interaction N → page →
#: next page"; leaves of the third level carry only nb_visits; a page without next page is a
#: leaf of the second level). Not a recording.
HAND_BUILT_PATHS = [
    {
        "label": "Interaction 1 → shop.example.com/index → shop.example.com/sale/",
        "nb_visits": 12,
    },
    {
        "label": "Interaction 1 → shop.example.com/index → shop.example.com/help/faq",
        "nb_visits": 3,
    },
    {
        "label": "Interaction 1 → shop.example.com/blog",
        "nb_visits": 4,
        "nb_exits": 4,
        "nb_proceeded": 0,
        "proceeded_rate": 0,
        "exit_rate": 1,
    },
    {"label": "Interaction 2 → shop.example.com/sale/ → shop.example.com/cart", "nb_visits": 5},
]
#: HAND-BUILT (getUsersFlow: steps labelled "1", "2"...). Not a recording.
HAND_BUILT_STEPS = [
    {"label": "1", "nb_visits": 2781, "nb_exits": 1926, "nb_proceeded": 855},
    {"label": "2", "nb_visits": 855, "nb_exits": 320, "nb_proceeded": 535},
]
#: HAND-BUILT (getInteractionActions: the pages of one step). Not a recording.
HAND_BUILT_ACTIONS = [
    {"label": "shop.example.com/cart", "nb_visits": 53, "nb_exits": 7, "nb_proceeded": 46},
    {"label": "Others", "nb_visits": 257, "nb_exits": 112, "nb_proceeded": 145},
]


def test_users_flow_shapes_from_hand_built_answers(fake: FakeMatomo) -> None:
    seen: list[dict[str, str]] = []

    def answer(rows: list[dict[str, Any]]) -> Any:
        def handler(params: dict[str, str]) -> tuple[int, Any]:
            seen.append(params)
            days = {"2026-11-20": rows, "2026-11-21": []}  # rows on the 20th only
            if "," in params["date"]:
                first, last = params["date"].split(",")
                return 200, {day: found for day, found in days.items() if first <= day <= last}
            return 200, days[params["date"]]

        return handler

    fake.handlers["UsersFlow.getUsersFlowPretty"] = answer(HAND_BUILT_PATHS)
    fake.handlers["UsersFlow.getUsersFlow"] = answer(HAND_BUILT_STEPS)
    fake.handlers["UsersFlow.getInteractionActions"] = answer(HAND_BUILT_ACTIONS)
    config = base_config(
        fake,
        site_ids=[1],
        start_date="2026-11-20",
        end_date="2026-11-21",
        users_flow_interaction_positions=[1, 2],
    )
    result = run_sync(config, streams={s.name for s in USERS_FLOW_REPORTS})

    paths = result.records["users_flow"]
    assert [(r["interaction_position"], r["action"], r["proceeded_to"]) for r in paths] == [
        (1, "shop.example.com/index", "shop.example.com/sale/"),
        (1, "shop.example.com/index", "shop.example.com/help/faq"),
        (1, "shop.example.com/blog", ""),
        (2, "shop.example.com/sale/", "shop.example.com/cart"),
    ]
    assert [r["nb_visits"] for r in paths] == [12, 3, 4, 5]
    assert paths[2]["exit_rate"] == 1
    assert {r["date"] for r in paths} == {"2026-11-20"}
    steps = result.records["users_flow_steps"]
    assert [(r["interaction_position"], r["nb_exits"]) for r in steps] == [(1, 1926), (2, 320)]
    actions = result.records["users_flow_interaction_actions"]
    assert sorted({(r["interaction_position"], r["date"]) for r in actions}) == [
        (1, "2026-11-20"),
        (2, "2026-11-20"),
    ]
    assert {r["action"] for r in actions} == {"shop.example.com/cart", "Others"}
    assert all(r["is_summary"] == (r["label"] == "Others") for r in actions)
    for stream in ("users_flow", "users_flow_steps", "users_flow_interaction_actions"):
        keys = primary_key_values(result, stream)
        assert len(keys) == len(set(keys)), stream
    assert_keyed_by(result, "users_flow_interaction_actions", ["interaction_position", "label"])
    by_method = Counter(p["method"] for p in seen)
    assert by_method == {
        # flattened, not seen yet: a first call of one day (sizing.PROBE_ROWS), then the rest
        "UsersFlow.getUsersFlowPretty": 2,
        "UsersFlow.getUsersFlow": 1,
        "UsersFlow.getInteractionActions": 4,  # one per step and day: no multi-date requests
    }
    for params in seen:
        assert params["dataSource"] == "page_url"
        if params["method"] == "UsersFlow.getInteractionActions":
            assert "," not in params["date"]
            assert params["interactionPosition"] in ("1", "2")
        if params["method"] == "UsersFlow.getUsersFlowPretty":
            assert params["flat"] == "1"
    assert partition_bookmarks(result, "users_flow_interaction_actions") == {
        (("interaction_position", 1), ("site_id", 1)): "2026-11-21",
        (("interaction_position", 2), ("site_id", 1)): "2026-11-21",
    }


def test_a_deactivated_core_plugin_is_asked_once(
    fake: FakeMatomo, caplog: pytest.LogCaptureFixture
) -> None:
    """Events is a core plugin, but an admin can deactivate it: its three streams stop asking
    after the first answer says so (the message as Matomo words it for any plugin, see 0566).
    """
    disabled = recorded_body("0566")["message"].replace("UsersFlow", "Events")
    for method in ("getCategory", "getAction", "getName"):
        fake.handlers[f"Events.{method}"] = lambda params: (
            200,
            {"result": "error", "message": disabled},
        )
    # one call per request and one request at a time, so no read-ahead
    config = base_config(fake, site_ids=[1], bulk_request_size=1, max_concurrent_requests=1)
    streams = {"events_categories", "events_actions", "events_names", "visits_summary"}
    with caplog.at_level(logging.WARNING):
        result = run_sync(config, streams=streams)

    assert not any(result.records[s] for s in streams - {"visits_summary"})
    assert len(result.records["visits_summary"]) == 7
    events_calls = [r for r in fake.requests if r.api_method.startswith("Events.")]
    assert len(events_calls) == 1
    warnings = [r.getMessage() for r in caplog.records if "is not activated" in r.getMessage()]
    assert len(warnings) == 1
    assert "Events" in warnings[0]
