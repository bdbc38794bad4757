"""The visit log streams against the Live emulation built from the recorded visits."""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pendulum
import pytest
from jsonschema import Draft202012Validator

from tap_matomo import dates
from tap_matomo.client import ApiCall, MatomoClient
from tap_matomo.errors import MatomoError
from tap_matomo.streams import visit_paging
from tap_matomo.streams.visit_records import ACTION_FIELDS, VISIT_FIELDS
from tap_matomo.streams.visits import VisitsStream
from tests import conftest
from tests.conftest import base_config, run_sync
from tests.fake_live import FakeLive, recorded_visits
from tests.fake_matomo import RECORDINGS, TOKEN, FakeMatomo, Received

LIVE = "Live.getLastVisitsDetails"
STREAMS = {"visits", "visit_actions"}
IDENTITY = {"visitIp": "visit_ip", "visitorId": "visitor_id", "fingerprint": "fingerprint"}


@pytest.fixture(autouse=True)
def _answer_without_delay(fake: FakeMatomo) -> None:
    """Send each answer at once: without TCP_NODELAY the fake's header and body writes wait
    ~40 ms for a delayed ACK, which makes hundreds of Live pages slow."""
    assert fake._server is not None
    fake._server.RequestHandlerClass.disable_nagle_algorithm = True  # type: ignore[attr-defined]


@pytest.fixture
def live(fake: FakeMatomo) -> FakeLive:
    emulation = FakeLive()
    fake.handlers[LIVE] = emulation
    return emulation


def visits_config(fake: FakeMatomo, **overrides: Any) -> dict[str, Any]:
    """The whole recorded window (2026-09-26 to the sites' today)."""
    settings: dict[str, Any] = {"start_date": "2026-09-26", "end_date": None}
    settings.update(overrides)
    return base_config(fake, **settings)


def keys_of(records: list[dict[str, Any]]) -> list[tuple[int, int]]:
    return [(r["site_id"], r["visit_id"]) for r in records]


def utc(*args: int) -> int:
    return int(datetime(*args, tzinfo=timezone.utc).timestamp())


def local(tz: str, *args: int) -> int:
    return int(datetime(*args, tzinfo=ZoneInfo(tz)).timestamp())


def iso(second: int) -> str:
    return datetime.fromtimestamp(second, tz=timezone.utc).isoformat()


def pin_clock(monkeypatch: pytest.MonkeyPatch, live: FakeLive, second: int) -> None:
    monkeypatch.setattr(dates, "utc_now", lambda: pendulum.from_timestamp(second, tz="UTC"))
    live.now = second


def same_value(raw: Any, value: Any, json_type: str) -> bool:
    """A recorded Matomo value and the tap's typed value are the same datum."""
    if raw is None or (raw == "" and json_type != "string"):
        return value is None
    if json_type == "date-time":
        return value == iso(int(raw))
    if json_type == "boolean":
        return value is bool(int(raw))
    if json_type in ("integer", "number"):
        return isinstance(value, int | float) and float(raw) == value
    return value == str(raw)


# -- the emulation itself --------------------------------------------------------------------


def test_emulation_answers_like_the_recordings() -> None:
    """FakeLive over the visits recorded before the campaign visits reproduces every recorded
    answer that has no segment (paging, offsets, asc, today, minTimestamp, all sites)."""
    campaign = {
        (v["idSite"], v["idVisit"])
        for v in json.loads(
            next(RECORDINGS.glob("0745__*.json")).read_text(),
        )["body"]
    }
    core = {k: v for k, v in recorded_visits().items() if k not in campaign}
    checked = 0
    for path in sorted(RECORDINGS.glob("*__Live.getLastVisitsDetails__*.json")):
        record = json.loads(path.read_text())
        query = record["request"]["query"]
        if "segment" in query:
            continue
        emulation = FakeLive(core)
        # The recordings were made in the afternoon of 2026-11-26 (minTimestamp-6h = 10:54 UTC).
        emulation.now = 1795690470 + 6 * 3600
        status, body = emulation(dict(query))
        assert status == 200
        assert body == record["body"], path.name
        checked += 1
    assert checked == 11


# -- completeness and paging ---------------------------------------------------------------


@pytest.mark.parametrize("page_size", [2, 3, 100])
def test_full_window_every_visit_exactly_once(
    fake: FakeMatomo, live: FakeLive, page_size: int
) -> None:
    result = run_sync(visits_config(fake, visits_page_size=page_size), streams=STREAMS)

    keys = keys_of(result.records["visits"])
    assert len(keys) == len(set(keys)), "a visit was emitted twice"
    assert set(keys) == live.keys()
    assert len(keys) == 166
    # Ascending per site (the bookmark follows the records).
    for site_id in (1, 2, 3):
        times = [r["last_action_time"] for r in result.records["visits"] if r["site_id"] == site_id]
        assert times == sorted(times)
    # One site-local day per request, ascending, cursor instead of offset.
    for call in live.calls:
        assert call["period"] == "day"
        assert date.fromisoformat(call["date"])
        assert call["filter_sort_order"] == "asc"
        assert "minTimestamp" in call
        assert "filter_offset" not in call
        # a whole page for the current day, a share of the read-ahead budget for the next ones
        # (51 visits at 5 actions a visit, more once the visits read have fewer)
        assert int(call["filter_limit"]) >= min(page_size, 51)
    if page_size < 100:
        served = Counter(key for answer in live.served for key in answer)
        assert max(served.values()) > 1, "page boundaries should re-read the boundary second"


def live_requests(fake: FakeMatomo) -> list[int]:
    """The visit log HTTP requests received, as the number of Live calls each carried."""
    sizes = []
    for received in fake.requests:
        if LIVE not in received.methods:
            continue
        inner = [k for k in received.params if k.startswith("urls[")]
        sizes.append(len(inner) if received.api_method == "API.getBulkRequest" else 1)
    return sizes


def spread_live(fake: FakeMatomo, visits: int, start: date, days: int) -> FakeLive:
    """A visit log of site 1 (UTC) holding only ``visits`` copies spread over the days."""
    live = FakeLive({})
    live.spread_copies(1, start, days, visits)
    fake.handlers[LIVE] = live
    return live


@pytest.mark.parametrize(("bulk_request_size", "sizes"), [(50, [50, 10]), (10, [10] * 6)])
def test_a_window_is_read_in_requests_that_follow_the_visits_not_the_days(
    fake: FakeMatomo, bulk_request_size: int, sizes: list[int]
) -> None:
    """60 days of 10 visits on average: one call per day, many days per request."""
    live = spread_live(fake, 600, date(2026, 9, 26), 60)
    config = base_config(
        fake,
        site_ids=[1],
        start_date="2026-09-26",
        end_date="2026-11-24",
        bulk_request_size=bulk_request_size,
    )

    result = run_sync(config, streams=STREAMS)

    assert sorted(keys_of(result.records["visits"])) == sorted(live.keys())
    assert len(result.records["visit_actions"]) == sum(
        len(v["actionDetails"]) for v in live.visits.values()
    )
    # Each day in one call, asked in ascending order: the days after the current one are
    # asked for their share of the read-ahead budget (15,000 records at 5 actions a visit:
    # 2,500 visits over the 49 other calls of a bulk request: 51 visits, more than any day
    # holds here), so a request holds as many days as a bulk request does.
    assert [c["date"] for c in live.calls] == [
        (date(2026, 9, 26) + timedelta(days=n)).isoformat() for n in range(60)
    ]
    first = [int(c["filter_limit"]) for c in live.calls[:bulk_request_size]]
    assert first == [500] + [min(500, 2_500 // (bulk_request_size - 1))] * (bulk_request_size - 1)
    assert live_requests(fake) == sizes


def test_a_busy_day_is_paged_while_the_next_days_ride_along(fake: FakeMatomo) -> None:
    """Days of 250 visits with pages of 100: three pages each, the days side by side."""
    live = FakeLive({})
    for day in (10, 11, 12):
        live.spread_copies(1, date(2026, 11, day), 1, 250, seed=day)
    fake.handlers[LIVE] = live
    config = base_config(
        fake, site_ids=[1], start_date="2026-11-10", end_date="2026-11-12", visits_page_size=100
    )

    result = run_sync(config, streams=STREAMS)

    keys = keys_of(result.records["visits"])
    assert len(keys) == len(set(keys)) == 750
    times = [r["last_action_time"] for r in result.records["visits"]]
    assert times == sorted(times)
    assert Counter(c["date"] for c in live.calls) == {
        "2026-11-10": 3,
        "2026-11-11": 3,
        "2026-11-12": 3,
    }
    assert live_requests(fake) == [3, 3, 3]


def test_read_ahead_is_bounded_by_its_budget(
    fake: FakeMatomo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without room to read ahead, each request asks for the current day alone."""
    monkeypatch.setattr(visit_paging, "RECORDS_PER_REQUEST", 1)
    live = spread_live(fake, 100, date(2026, 11, 1), 10)
    config = base_config(fake, site_ids=[1], start_date="2026-11-01", end_date="2026-11-10")

    result = run_sync(config, streams=STREAMS)

    assert sorted(keys_of(result.records["visits"])) == sorted(live.keys())
    assert live_requests(fake) == [1] * 10


def test_records_validate_against_their_schemas(fake: FakeMatomo, live: FakeLive) -> None:
    result = run_sync(visits_config(fake), streams=STREAMS)
    for stream in STREAMS:
        schema = result.schema(stream)["schema"]
        Draft202012Validator.check_schema(schema)
        validator = Draft202012Validator(schema)
        assert result.records[stream]
        for record in result.records[stream]:
            errors = [e.message for e in validator.iter_errors(record)]
            assert not errors, (stream, errors)


def test_visit_values_match_the_recorded_visits(fake: FakeMatomo, live: FakeLive) -> None:
    result = run_sync(visits_config(fake), streams={"visits"})
    by_key = {(r["site_id"], r["visit_id"]): r for r in result.records["visits"]}
    schema = result.schema("visits")["schema"]["properties"]

    for key, raw in live.visits.items():
        record = by_key[key]
        assert record["last_action_time"] == iso(raw["lastActionTimestamp"])
        assert record["action_details_count"] == len(raw["actionDetails"])
        for field in VISIT_FIELDS:
            assert field.column in schema
            assert same_value(raw.get(field.source), record[field.column], field.json_type), (
                key,
                field.source,
                raw.get(field.source),
                record[field.column],
            )
        dimensions = {k: v for k, v in raw.items() if k.startswith("dimension")}
        assert record["custom_dimensions"] == (dimensions or None)
        assert record["other_fields"] is None  # every recorded key is typed or dropped
        assert not [k for k in record if "icon" in k or "flag" in k or "pretty" in k]

    # One visit in full (recording 0745, a campaign visit with numbers as strings).
    visit = by_key[(1, 4798)]
    assert visit["date"] == "2026-11-20"
    assert visit["first_action_time"] == "2026-11-20T22:45:02+00:00"
    assert visit["last_action_time"] == "2026-11-20T22:49:20+00:00"
    assert visit["visit_server_hour"] == 22  # "22"
    assert visit["visit_local_hour"] == 16  # "16"
    assert visit["latitude"] == pytest.approx(32.779)  # "32.779000"
    assert visit["longitude"] == pytest.approx(-96.822)
    assert visit["total_abandoned_carts_items"] == 3  # "3"
    assert visit["total_abandoned_carts_revenue"] == 387
    assert visit["visit_converted"] is False
    assert visit["visit_ecommerce_status"] == "abandonedCart"
    assert visit["campaign_name"] == "black-friday-2026"
    assert visit["campaign_source"] == "newsletter"
    assert visit["campaign_group"] == ""
    assert visit["custom_dimensions"] == {"dimension1": "vip"}
    assert visit["visit_ip"] == "196.62.182.164"
    # Typed schema: the replication key is a date-time, counts are integers.
    assert schema["last_action_time"]["format"] == "date-time"
    assert "integer" in schema["visit_server_hour"]["type"]
    assert "number" in schema["latitude"]["type"]
    assert "boolean" in schema["visit_converted"]["type"]


def test_visit_actions_one_row_per_action(fake: FakeMatomo, live: FakeLive) -> None:
    result = run_sync(visits_config(fake, visits_page_size=3), streams=STREAMS)
    actions = result.records["visit_actions"]
    keys = [(a["site_id"], a["visit_id"], a["position"]) for a in actions]
    assert len(keys) == len(set(keys))
    assert len(actions) == sum(len(v["actionDetails"]) for v in live.visits.values()) == 715

    by_visit: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for action in actions:
        by_visit.setdefault((action["site_id"], action["visit_id"]), []).append(action)
    types = Counter()
    for key, raw in live.visits.items():
        rows = sorted(by_visit.get(key, []), key=lambda a: a["position"])
        assert [a["position"] for a in rows] == list(range(1, len(raw["actionDetails"]) + 1))
        for row, detail in zip(rows, raw["actionDetails"], strict=True):
            expected_type = "content" if str(detail["type"]) == "13" else detail["type"]
            assert row["type"] == expected_type
            types[row["type"]] += 1
            assert row["server_time"] == iso(detail["timestamp"])
            for field in ACTION_FIELDS:
                assert same_value(detail.get(field.source), row[field.column], field.json_type), (
                    key,
                    field.source,
                )
            items = detail.get("itemDetails")
            if items:
                assert [i["sku"] for i in row["item_details"]] == [i["itemSKU"] for i in items]
                assert [i["quantity"] for i in row["item_details"]] == [
                    i["quantity"] for i in items
                ]
            dims = {k: v for k, v in detail.items() if k.startswith("dimension")}
            assert row["custom_dimensions"] == (dims or None)
            assert row["other_fields"] is None
            assert not [k for k in row if "icon" in k.lower() or "pretty" in k]
    assert set(types) == {
        "action",
        "download",
        "outlink",
        "event",
        "search",
        "content",
        "goal",
        "ecommerceOrder",
        "ecommerceAbandonedCart",
    }
    # Visits get their actions count too.
    counts = {
        (r["site_id"], r["visit_id"]): r["action_details_count"] for r in result.records["visits"]
    }
    assert counts == {key: len(rows) for key, rows in by_visit.items()} | {
        key: 0 for key in counts if key not in by_visit
    }


@pytest.mark.parametrize("page_size", [2, 3])
def test_visits_sharing_a_second_at_a_page_boundary(
    fake: FakeMatomo, live: FakeLive, page_size: int
) -> None:
    boundary = utc(2026, 11, 10, 15, 0, 0)
    added = [live.add_visit(1, boundary - 120 + i) for i in range(2)]
    added += [live.add_visit(1, boundary) for _ in range(7)]
    added += [live.add_visit(1, boundary + 1), live.add_visit(1, boundary + 1)]
    expected = {(1, v["idVisit"]) for v in added}

    config = base_config(
        fake,
        site_ids=[1],
        start_date="2026-11-10",
        end_date="2026-11-10",
        visits_page_size=page_size,
    )
    result = run_sync(config, streams=STREAMS)

    keys = keys_of(result.records["visits"])
    assert sorted(keys) == sorted(expected)
    served = Counter(key for answer in live.served for key in answer)
    assert max(served.values()) > 1  # the boundary second was read again, not skipped
    assert {c["date"] for c in live.calls} == {"2026-11-10"}
    assert all("filter_offset" not in c for c in live.calls)
    assert len(result.records["visit_actions"]) == 2 * len(expected)


def test_offset_paging_loses_visits_cursor_paging_does_not(fake: FakeMatomo) -> None:
    """Matomo's deep-offset bug (#16394, #23342), emulated: offset pages skip visits."""
    live = FakeLive(offset_bug=True)
    fake.handlers[LIVE] = live
    day_keys = live.keys_between(1, date(2026, 11, 20), date(2026, 11, 20))

    client = MatomoClient(url=fake.url, token_auth=TOKEN, retry_wait_seconds=0)
    naive: set[tuple[int, int]] = set()
    offset = 0
    while True:
        page = client.call(
            ApiCall(
                LIVE,
                {
                    "idSite": "1",
                    "period": "day",
                    "date": "2026-11-20",
                    "filter_limit": "3",
                    "filter_offset": str(offset),
                },
            )
        )
        naive |= {(v["idSite"], v["idVisit"]) for v in page}
        if len(page) < 3:
            break
        offset += 3
    assert naive < day_keys  # visits lost

    config = base_config(
        fake, site_ids=[1], start_date="2026-11-20", end_date="2026-11-20", visits_page_size=3
    )
    result = run_sync(config, streams={"visits"})
    assert set(keys_of(result.records["visits"])) == day_keys


def test_a_range_cursor_skips_days_before_matomo_4_2_the_daily_one_does_not(
    fake: FakeMatomo,
) -> None:
    """Why each call covers one day: before Matomo 4.2 (issue #16394) a window of several days
    asked with a limit is read newest day first whatever `filter_sort_order` says, so an
    ascending cursor over a range jumps to the last day. A day is never split."""
    live = FakeLive(split_descending=True)
    fake.handlers[LIVE] = live
    expected = live.keys_between(1, date(2026, 10, 29), date(2026, 10, 31))
    client = MatomoClient(url=fake.url, token_auth=TOKEN, retry_wait_seconds=0)
    cursor = utc(2026, 10, 29) - 1
    naive: set[tuple[int, int]] = set()
    while True:
        page = client.call(
            ApiCall(
                LIVE,
                {
                    "idSite": "1",
                    "period": "range",
                    "date": "2026-10-29,2026-10-31",
                    "filter_sort_order": "asc",
                    "filter_limit": "5",
                    "minTimestamp": str(cursor),
                },
            )
        )
        naive |= {(v["idSite"], v["idVisit"]) for v in page}
        if len(page) < 5:
            break
        cursor = max(v["lastActionTimestamp"] for v in page) - 1
    assert naive < expected  # the first page was the 31st's: the 29th and 30th are lost
    assert naive.isdisjoint(live.keys_between(1, date(2026, 10, 29), date(2026, 10, 29)))

    config = base_config(
        fake, site_ids=[1], start_date="2026-10-29", end_date="2026-10-31", visits_page_size=5
    )
    result = run_sync(config, streams={"visits"})
    assert sorted(keys_of(result.records["visits"])) == sorted(expected)


# -- days, timezones, midnight ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("site_id", "tz"), [(1, "UTC"), (2, "Europe/Paris"), (3, "America/New_York")]
)
def test_site_local_day_boundaries(fake: FakeMatomo, live: FakeLive, site_id: int, tz: str) -> None:
    before = live.add_visit(site_id, local(tz, 2026, 11, 11, 23, 59, 59))
    first = live.add_visit(site_id, local(tz, 2026, 11, 12, 0, 0, 1))
    last = live.add_visit(site_id, local(tz, 2026, 11, 12, 23, 59, 59))
    after = live.add_visit(site_id, local(tz, 2026, 11, 13, 0, 0, 1))

    config = base_config(fake, site_ids=[site_id], start_date="2026-11-12", end_date="2026-11-12")
    result = run_sync(config, streams={"visits"})

    keys = set(keys_of(result.records["visits"]))
    assert keys == {(site_id, first["idVisit"]), (site_id, last["idVisit"])}
    assert (site_id, before["idVisit"]) not in keys
    assert (site_id, after["idVisit"]) not in keys
    assert {r["date"] for r in result.records["visits"]} == {"2026-11-12"}
    assert {c["date"] for c in live.calls} == {"2026-11-12"}
    # The first request starts at the site's midnight, whatever the machine's timezone.
    assert live.calls[0]["minTimestamp"] == str(local(tz, 2026, 11, 12) - 1)


def test_visit_ending_at_midnight_is_read_in_two_days_emitted_once(
    fake: FakeMatomo, live: FakeLive
) -> None:
    midnight = local("Europe/Paris", 2026, 11, 11)
    visit = live.add_visit(2, midnight)
    key = (2, visit["idVisit"])
    config = base_config(
        fake, site_ids=[2], start_date="2026-11-10", end_date="2026-11-11", visits_page_size=2
    )

    result = run_sync(config, streams=STREAMS)

    served_in = [
        c["date"] for c, answer in zip(live.calls, live.served, strict=True) if key in answer
    ]
    assert served_in == ["2026-11-10", "2026-11-11"]  # Matomo's bounds are inclusive
    assert keys_of(result.records["visits"]).count(key) == 1
    (record,) = [r for r in result.records["visits"] if r["visit_id"] == visit["idVisit"]]
    assert record["date"] == "2026-11-11"
    positions = [a["position"] for a in result.records["visit_actions"] if a["visit_id"] == key[1]]
    assert positions == [1, 2]


def test_today_request_returns_yesterday_too_but_only_today_is_emitted(
    fake: FakeMatomo, live: FakeLive
) -> None:
    config = base_config(fake, site_ids=[1], start_date="2026-11-26", end_date="2026-11-26")
    result = run_sync(config, streams={"visits"})

    assert set(keys_of(result.records["visits"])) == live.keys_between(
        1, date(2026, 11, 26), date(2026, 11, 26)
    )
    assert {r["date"] for r in result.records["visits"]} == {"2026-11-26"}
    # Without the cursor, Matomo's answer for today would include yesterday.
    _, body = live({"idSite": "1", "period": "day", "date": "2026-11-26", "filter_limit": "-1"})
    assert {v["serverDate"] for v in body} == {"2026-11-25", "2026-11-26"}


# -- incremental -------------------------------------------------------------------------------


@pytest.mark.parametrize(("finality", "late_action_read"), [(60, True), (0, False)])
def test_visits_in_progress_are_read_again_next_run(
    fake: FakeMatomo,
    live: FakeLive,
    monkeypatch: pytest.MonkeyPatch,
    finality: int,
    late_action_read: bool,
) -> None:
    old = live.add_visit(2, utc(2026, 11, 26, 9, 0), page_views=2)
    finished = live.add_visit(2, utc(2026, 11, 26, 11, 0), page_views=2)
    running = live.add_visit(2, utc(2026, 11, 26, 11, 50), page_views=3)
    config = base_config(
        fake,
        site_ids=[2],
        start_date="2026-11-26",
        end_date=None,
        visits_finality_minutes=finality,
    )
    pin_clock(monkeypatch, live, utc(2026, 11, 26, 12, 0))

    first = run_sync(config, streams=STREAMS)

    assert len(first.records["visits"]) == 3
    assert first.bookmark("visits", 2) == iso(utc(2026, 11, 26, 11, 50))

    # Half an hour later: the running visit went on, a late-tracked action extended the
    # finished one (before the bookmark), a new visit started.
    live.set_actions(2, running["idVisit"], utc(2026, 11, 26, 11, 40), utc(2026, 11, 26, 12, 20), 5)
    live.set_actions(
        2, finished["idVisit"], utc(2026, 11, 26, 10, 58), utc(2026, 11, 26, 11, 30), 3
    )
    new = live.add_visit(2, utc(2026, 11, 26, 12, 25))
    pin_clock(monkeypatch, live, utc(2026, 11, 26, 12, 30))

    calls_before = len(live.calls)
    second = run_sync(config, streams=STREAMS, state=first.final_state)

    keys = keys_of(second.records["visits"])
    assert len(keys) == len(set(keys)), "never twice in one run"
    expected = {(2, running["idVisit"]), (2, new["idVisit"])}
    if late_action_read:
        expected.add((2, finished["idVisit"]))
    assert set(keys) == expected
    assert (2, old["idVisit"]) not in keys
    by_id = {r["visit_id"]: r for r in second.records["visits"]}
    assert by_id[running["idVisit"]]["actions"] == 5
    assert by_id[running["idVisit"]]["last_action_time"] == iso(utc(2026, 11, 26, 12, 20))
    running_actions = [
        a for a in second.records["visit_actions"] if a["visit_id"] == running["idVisit"]
    ]
    assert [a["position"] for a in running_actions] == [1, 2, 3, 4, 5]
    assert second.bookmark("visits", 2) == iso(utc(2026, 11, 26, 12, 25))
    # The second run starts `finality` minutes before the bookmark.
    assert live.calls[calls_before]["minTimestamp"] == str(
        utc(2026, 11, 26, 11, 50) - 60 * finality - 1
    )


def resume_config(fake: FakeMatomo) -> dict[str, Any]:
    """Three days of site 1, small pages, no finality window (the strictest case)."""
    return base_config(
        fake,
        site_ids=[1],
        start_date="2026-10-29",
        end_date="2026-10-31",
        visits_page_size=3,
        visits_finality_minutes=0,
        max_tries=1,
    )


def add_same_second_cluster(live: FakeLive) -> int:
    """Five visits ending in the same second, before the first recorded visit of 2026-10-29."""
    second = utc(2026, 10, 29, 8, 0, 0)
    for _ in range(5):
        live.add_visit(1, second)
    return second


def all_action_keys(live: FakeLive, visits: set[tuple[int, int]]) -> set[tuple[int, int, int]]:
    return {
        (key[0], key[1], position)
        for key in visits
        for position in range(1, len(live.visits[key]["actionDetails"]) + 1)
    }


def action_keys(records: list[dict[str, Any]]) -> set[tuple[int, int, int]]:
    return {(a["site_id"], a["visit_id"], a["position"]) for a in records}


#: Every how many STATE messages a resume is tried (all of them take ~4x longer).
STATE_STRIDE = 6


def visits_bookmark(state: dict[str, Any]) -> str | None:
    """The `visits` bookmark of site 1 in a STATE value, if any."""
    partitions = state.get("bookmarks", {}).get("visits", {}).get("partitions", [])
    return next((p.get("replication_key_value") for p in partitions), None)


def test_resume_from_any_state_misses_nothing(
    fake: FakeMatomo, live: FakeLive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kill a run right after any STATE message (records after it are lost), resume from that
    STATE: every visit and every action still arrives, also inside a same-second cluster."""
    cluster = add_same_second_cluster(live)
    monkeypatch.setattr(VisitsStream, "STATE_MSG_FREQUENCY", 1)
    config = resume_config(fake)
    expected = live.keys_between(1, date(2026, 10, 29), date(2026, 10, 31))
    full = run_sync(config, streams=STREAMS)
    assert set(keys_of(full.records["visits"])) == expected

    positions = [i for i, m in enumerate(full.messages) if m["type"] == "STATE"]
    # At every STATE: the visits before the bookmark second are all committed, with all
    # their actions (a resume reads again only from the bookmark second on).
    for index in positions:
        bookmark = visits_bookmark(full.messages[index]["value"])
        if bookmark is None:
            continue
        second = int(datetime.fromisoformat(bookmark).timestamp())
        kept = full.messages[:index]
        committed = {
            (m["record"]["site_id"], m["record"]["visit_id"])
            for m in kept
            if m["type"] == "RECORD" and m["stream"] == "visits"
        }
        before = {k for k in expected if live.visits[k]["lastActionTimestamp"] < second}
        assert before <= committed, index
        committed_actions = action_keys(
            [m["record"] for m in kept if m["type"] == "RECORD" and m["stream"] == "visit_actions"]
        )
        assert all_action_keys(live, before) <= committed_actions, index

    # And resuming from a sample of them (all near the cluster) brings the rest.
    near_cluster = [
        i
        for i in positions
        if (value := visits_bookmark(full.messages[i]["value"])) is not None
        and abs(datetime.fromisoformat(value).timestamp() - cluster) < 3600
    ]
    # Identical states are not repeated: the cluster's second makes one STATE.
    assert near_cluster
    chosen = sorted(set(near_cluster) | set(positions[::STATE_STRIDE]) | {positions[-1]})
    for index in chosen:
        kept = full.messages[:index]
        committed = [m["record"] for m in kept if m["type"] == "RECORD" and m["stream"] == "visits"]
        committed_actions = [
            m["record"] for m in kept if m["type"] == "RECORD" and m["stream"] == "visit_actions"
        ]
        state = copy.deepcopy(full.messages[index]["value"])
        resumed = run_sync(config, streams=STREAMS, state=state)

        again = keys_of(resumed.records["visits"])
        assert len(again) == len(set(again))
        assert set(keys_of(committed)) | set(again) == expected, index
        assert action_keys(committed_actions) | action_keys(
            resumed.records["visit_actions"]
        ) == all_action_keys(live, expected), index


@pytest.mark.parametrize("fail_after", list(range(1, 8)))
def test_resume_after_a_failed_request(
    fake: FakeMatomo, live: FakeLive, monkeypatch: pytest.MonkeyPatch, fail_after: int
) -> None:
    """A run whose visit log request fails after N good ones resumes from its last STATE
    without a gap (a request carries the next pages of several days)."""
    add_same_second_cluster(live)
    monkeypatch.setattr(VisitsStream, "STATE_MSG_FREQUENCY", 1)
    config = resume_config(fake)
    expected = live.keys_between(1, date(2026, 10, 29), date(2026, 10, 31))
    answer = fake.answer
    failing = True

    def stopping(received: Received) -> tuple[int, Any]:
        live_requests = [r for r in fake.requests if LIVE in r.methods]
        if failing and LIVE in received.methods and len(live_requests) > fail_after:
            return 500, {"result": "error", "message": "Mysql server has gone away"}
        return answer(received)

    monkeypatch.setattr(fake, "answer", stopping)
    stopped = run_sync(config, streams=STREAMS, allow_failure=True)
    assert isinstance(stopped.error, MatomoError)
    assert "giving up after 1 try" in str(stopped.error)
    state = copy.deepcopy(stopped.final_state)
    bookmark = visits_bookmark(state)

    failing = False
    calls_before = len(live.calls)
    resumed = run_sync(config, streams=STREAMS, state=state)

    if bookmark is not None:
        # Resumed at the bookmark second itself (finality 0): visits sharing it are read again.
        second = int(datetime.fromisoformat(bookmark).timestamp())
        assert live.calls[calls_before]["minTimestamp"] == str(second - 1)
        assert set(keys_of(resumed.records["visits"])) == {
            key for key in expected if live.visits[key]["lastActionTimestamp"] >= second
        }
    again = keys_of(resumed.records["visits"])
    assert len(again) == len(set(again))
    assert set(keys_of(stopped.records["visits"])) | set(again) == expected
    assert action_keys(stopped.records["visit_actions"]) | action_keys(
        resumed.records["visit_actions"]
    ) == all_action_keys(live, expected)


def test_report_date_reads_its_day_whatever_the_bookmark(fake: FakeMatomo, live: FakeLive) -> None:
    config = base_config(fake, site_ids=[1], start_date=None, end_date=None)
    later = run_sync({**config, "start_date": "2026-11-25"}, streams={"visits"})
    assert later.bookmark("visits", 1) is not None

    config["report_date"] = "2026-11-20"
    result = run_sync(config, streams={"visits"}, state=later.final_state)

    assert set(keys_of(result.records["visits"])) == live.keys_between(
        1, date(2026, 11, 20), date(2026, 11, 20)
    )


def test_final_state_has_one_bookmark_per_site(fake: FakeMatomo, live: FakeLive) -> None:
    result = run_sync(visits_config(fake, visits_page_size=50), streams=STREAMS)
    bookmarks = result.final_state["bookmarks"]
    for site_id in (1, 2, 3):
        last = max(
            r["last_action_time"] for r in result.records["visits"] if r["site_id"] == site_id
        )
        assert result.bookmark("visits", site_id) == last
    assert "progress_markers" not in json.dumps(bookmarks)
    # The child keeps one state entry per site, not one per visit.
    assert [p["context"] for p in bookmarks["visit_actions"]["partitions"]] == [
        {"site_id": 1},
        {"site_id": 2},
        {"site_id": 3},
    ]


def test_only_visit_actions_selected(fake: FakeMatomo, live: FakeLive) -> None:
    config = base_config(fake, site_ids=[3], start_date="2026-11-20", end_date="2026-11-20")
    result = run_sync(config, streams={"visit_actions"})
    assert "visits" not in result.records
    expected = live.keys_between(3, date(2026, 11, 20), date(2026, 11, 20))
    assert {(a["site_id"], a["visit_id"]) for a in result.records["visit_actions"]} == expected


# -- records: truncation, privacy ----------------------------------------------------------------


def test_truncated_actions_are_flagged(fake: FakeMatomo, live: FakeLive) -> None:
    cut = live.add_visit(1, utc(2026, 11, 14, 10, 0), page_views=3, truncatedActionsCount=497)
    whole = live.add_visit(1, utc(2026, 11, 14, 11, 0), page_views=3)
    config = base_config(fake, site_ids=[1], start_date="2026-11-14", end_date="2026-11-14")

    result = run_sync(config, streams=STREAMS)

    by_id = {r["visit_id"]: r for r in result.records["visits"]}
    assert by_id[cut["idVisit"]]["actions_truncated"] is True
    assert by_id[cut["idVisit"]]["truncated_actions_count"] == 497
    assert by_id[cut["idVisit"]]["action_details_count"] == 3
    assert by_id[whole["idVisit"]]["actions_truncated"] is False
    assert by_id[whole["idVisit"]]["truncated_actions_count"] == 0
    assert Counter(a["visit_id"] for a in result.records["visit_actions"]) == {
        cut["idVisit"]: 3,
        whole["idVisit"]: 3,
    }


def test_exclude_identity_leaves_ip_and_visitor_ids_out(fake: FakeMatomo, live: FakeLive) -> None:
    live.add_visit(1, utc(2026, 11, 20, 12, 0), userId="customer-secret@example.com")
    config = visits_config(fake, visits_exclude_identity=True)

    result = run_sync(config, streams=STREAMS)

    removed = {"visit_ip", "visitor_id", "fingerprint", "user_id"}
    assert not removed & set(result.schema("visits")["schema"]["properties"])
    for record in result.records["visits"]:
        assert not removed & set(record)
    output = json.dumps(result.messages)
    for visit in live.visits.values():
        for source in ("visitIp", "visitorId", "fingerprint", "userId"):
            if visit.get(source):
                assert visit[source] not in output, source
    assert len(result.records["visits"]) == len(live.visits)


def test_identity_is_kept_by_default(fake: FakeMatomo, live: FakeLive) -> None:
    config = base_config(fake, site_ids=[1], start_date="2026-11-20", end_date="2026-11-20")
    result = run_sync(config, streams={"visits"})
    for record in result.records["visits"]:
        raw = live.visits[(1, record["visit_id"])]
        for source, column in IDENTITY.items():
            assert record[column] == raw[source]
        assert record["user_id"] == raw["userId"]


def test_stream_maps_are_the_general_alternative(fake: FakeMatomo, live: FakeLive) -> None:
    config = base_config(
        fake,
        site_ids=[1],
        start_date="2026-11-20",
        end_date="2026-11-20",
        stream_maps={"visits": {"city": None, "latitude": None, "longitude": None}},
    )
    result = run_sync(config, streams={"visits"})
    properties = result.schema("visits")["schema"]["properties"]
    assert not {"city", "latitude", "longitude"} & set(properties)
    assert result.records["visits"]
    assert all("city" not in r for r in result.records["visits"])
    assert all(r["country"] for r in result.records["visits"])


def test_properties_deselected_in_the_catalog_are_left_out(
    fake: FakeMatomo, live: FakeLive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SDK's search for deselected properties is skipped only when there are none."""
    deselected = {
        ("visits", "city"),
        ("visit_actions", "page_title"),
        ("visits_summary", "nb_actions"),
    }
    selecting = conftest.catalog_selecting

    def deselecting(config: dict[str, Any], streams: set[str]) -> dict[str, Any]:
        catalog = selecting(config, streams)
        for entry in catalog["streams"]:
            for meta in entry["metadata"]:
                crumb = meta["breadcrumb"]
                if crumb and (entry["tap_stream_id"], crumb[-1]) in deselected:
                    meta["metadata"]["selected"] = False
        return catalog

    monkeypatch.setattr(conftest, "catalog_selecting", deselecting)
    config = base_config(fake, site_ids=[1], start_date="2026-11-20", end_date="2026-11-20")
    result = run_sync(config, streams=STREAMS | {"visits_summary"})

    for stream, column, kept in (
        ("visits", "city", "country"),
        ("visit_actions", "page_title", "url"),
        ("visits_summary", "nb_actions", "nb_visits"),
    ):
        assert result.records[stream], stream
        assert all(column not in r and kept in r for r in result.records[stream]), stream
        assert column not in result.schema(stream)["schema"]["properties"]


def test_stream_map_filter_keeps_the_actions_of_kept_visits(
    fake: FakeMatomo, live: FakeLive
) -> None:
    config = base_config(
        fake,
        site_ids=[1],
        start_date="2026-11-20",
        end_date="2026-11-20",
        visits_page_size=3,
        stream_maps={"visits": {"__filter__": "visit_id % 2 == 0"}},
    )
    result = run_sync(config, streams=STREAMS)

    kept = {
        k for k in live.keys_between(1, date(2026, 11, 20), date(2026, 11, 20)) if k[1] % 2 == 0
    }
    assert set(keys_of(result.records["visits"])) == kept
    assert action_keys(result.records["visit_actions"]) == all_action_keys(live, kept)


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("deactivated", [2, "all"])
def test_visits_log_deactivated_is_a_clear_error(
    fake: FakeMatomo, live: FakeLive, deactivated: int | str
) -> None:
    live.deactivated = {deactivated}
    config = base_config(fake, site_ids=[2], start_date="2026-11-02", end_date="2026-11-02")

    result = run_sync(config, streams={"visits"}, allow_failure=True)

    assert isinstance(result.error, MatomoError)
    message = str(result.error)
    assert "visits log of site 2 is deactivated" in message
    assert "deselect the streams `visits` and `visit_actions`" in message
    assert TOKEN not in message
    assert len(live.calls) == 1  # not retried


def test_token_never_in_url_or_output(fake: FakeMatomo, live: FakeLive) -> None:
    config = base_config(fake, site_ids=[1], start_date="2026-11-20", end_date="2026-11-20")
    result = run_sync(config, streams=STREAMS)
    assert TOKEN not in json.dumps(result.messages)
    for received in fake.api_requests(LIVE):
        assert TOKEN not in received.raw_query
        assert received.form["token_auth"] == TOKEN
