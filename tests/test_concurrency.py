"""Requests side by side (`max_concurrent_requests`): the same output, a polite retreat.

Every test runs the tap against the loopback fake; the fake's answers are made to take a little
time so that requests sent together really overlap.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tap_matomo.client import ApiCall
from tap_matomo.concurrency import RequestPool
from tap_matomo.runtime import READ_AHEAD_ROWS, MatomoRun
from tap_matomo.tap import TapMatomo
from tests.conftest import base_config, catalog_selecting, run_sync
from tests.fake_matomo import FakeMatomo
from tests.test_report_families import sent_calls

START = "2026-10-23"  # 35 days
STREAMS = {
    "visits_summary",
    "referrers_all",
    "devices_types",
    "goals_per_goal",
    "events_names",
    "actions_page_urls",
    "devices_browsers",
}


class InFlight:
    """Counts the requests the fake is answering at once (each held for ``seconds``)."""

    def __init__(self, fake: FakeMatomo, seconds: float = 0.05) -> None:
        self.most = 0
        self._now = 0
        self._lock = threading.Lock()
        handle = fake._handle

        def slow_handle(handler: Any) -> None:
            with self._lock:
                self._now += 1
                self.most = max(self.most, self._now)
            try:
                time.sleep(seconds)
                handle(handler)
            finally:
                with self._lock:
                    self._now -= 1

        fake._handle = slow_handle  # type: ignore[method-assign]


@contextlib.contextmanager
def slow_fake() -> Iterator[tuple[FakeMatomo, InFlight]]:
    with FakeMatomo(synthesize=True) as server:
        yield server, InFlight(server)


def sync_messages(concurrency: int, **config: Any) -> tuple[list[dict[str, Any]], int, int]:
    """All Singer messages of a sync, the HTTP requests it sent, the most at once."""
    with slow_fake() as (server, in_flight):
        settings = base_config(
            server, start_date=START, end_date=None, max_concurrent_requests=concurrency
        )
        result = run_sync({**settings, **config}, streams=STREAMS)
        return without_times(result.messages), len(server.requests), in_flight.most


def without_times(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages without the SDK's ``time_extracted`` (the clock, not the data)."""
    return [{k: v for k, v in m.items() if k != "time_extracted"} for m in messages]


def test_concurrency_changes_neither_records_nor_their_order_nor_the_state() -> None:
    """35 days, 3 sites, 7 report streams: every message (records, schemas, STATE) is the same,
    in the same order, at 1 and at 4 requests at once; and 4 really sends requests together.
    """
    one, requests_one, most_one = sync_messages(1, bulk_request_size=5)
    four, requests_four, most_four = sync_messages(4, bulk_request_size=5)
    records = [m for m in one if m["type"] == "RECORD"]
    assert {m["stream"] for m in records} == STREAMS
    assert len(records) > 3_000
    assert sum(m["type"] == "STATE" for m in one) > 1
    assert four == one
    assert most_one == 1
    assert most_four > 1
    assert requests_four <= requests_one * 1.2  # requests side by side, hardly more of them


def test_small_bulk_requests_side_by_side_give_the_same_answers() -> None:
    """With one call per bulk request, concurrency still keeps the output unchanged."""
    one, _, _ = sync_messages(1, bulk_request_size=1)
    three, _, most = sync_messages(3, bulk_request_size=1)
    assert three == one
    assert most > 1


def test_a_429_is_retried_and_lowers_the_concurrency(caplog: pytest.LogCaptureFixture) -> None:
    """Matomo (or a proxy) says "too many requests": the request is sent again, nothing is lost,
    and the run sends fewer requests at once from then on.
    """
    expected, _, _ = sync_messages(1)
    with slow_fake() as (server, _):
        config = base_config(server, start_date=START, end_date=None, max_concurrent_requests=4)
        # the first report requests: the site list and goal list are not the point here
        server.fail_next(
            429,
            "Too Many Requests",
            headers={"Retry-After": "0"},
            times=2,
            api_method="VisitsSummary.get",
        )
        tap = TapMatomo(
            config=config, catalog=catalog_selecting(config, STREAMS), parse_env_config=False
        )
        out = io.StringIO()
        with caplog.at_level(logging.WARNING, "tap-matomo"), contextlib.redirect_stdout(out):
            tap.sync_all()
        pool = tap.streams["visits_summary"].run.pool  # type: ignore[attr-defined]
    messages = without_times([json.loads(line) for line in out.getvalue().splitlines()])
    assert messages == expected
    assert pool.limit == 1  # halved twice: 4 -> 2 -> 1
    lowered = [r.getMessage() for r in caplog.records if "request(s) at once" in r.getMessage()]
    assert len(lowered) == 2
    assert "HTTP 429" in lowered[0]
    assert "instead of 4" in lowered[0]


def test_a_request_that_fails_for_good_fails_the_run_with_its_error() -> None:
    """An error in a request sent ahead reaches the stream that needs the answer."""
    with slow_fake() as (server, _):
        config = base_config(
            server, start_date=START, end_date=None, max_concurrent_requests=4, max_tries=1
        )
        server.fail_next(503, times=50, api_method="DevicesDetection.getType")
        result = run_sync(config, streams=STREAMS, allow_failure=True)
    assert result.error is not None
    assert "giving up after 1 try" in str(result.error)
    assert "HTTP 503" in str(result.error)


def test_the_pool_runs_inline_at_one_and_in_threads_above() -> None:
    """At 1 a task runs where it is submitted (its error raises there): a sequential run."""
    inline = RequestPool(1)
    caller = threading.get_ident()
    assert inline.submit(threading.get_ident).result() == caller
    with pytest.raises(ZeroDivisionError):
        inline.submit(lambda: 1 / 0)

    pool = RequestPool(3)
    assert pool.submit(threading.get_ident).result(timeout=5) != caller
    failed = pool.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        failed.result(timeout=5)


def test_a_lowered_pool_runs_no_more_tasks_at_once_than_its_limit() -> None:
    pool = RequestPool(4)
    pool.lower("test")
    assert pool.limit == 2
    running, most = [0], [0]
    lock = threading.Lock()

    def task() -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1

    futures = [pool.submit(task) for _ in range(12)]
    for future in futures:
        future.result(timeout=10)
    assert most[0] == 2


@pytest.mark.parametrize(("concurrency", "requests"), [(1, 1), (3, 3)])
def test_calls_sent_ahead_side_by_side_hold_a_share_of_the_read_ahead_rows(
    concurrency: int, requests: int
) -> None:
    """One at a time, the calls sent ahead share a request; side by side, each request holds
    about its share of ``READ_AHEAD_ROWS``, so the first answers come (and are written) first.
    """
    days = [f"2026-11-{day}" for day in range(21, 27)]
    calls = [
        ApiCall("VisitsSummary.get", {"idSite": "1", "period": "day", "date": day}) for day in days
    ]
    rows = READ_AHEAD_ROWS // 8  # all six fit the read-ahead; two a share of 3 + 1 requests
    with FakeMatomo(synthesize=True) as server:
        run = MatomoRun(base_config(server, max_concurrent_requests=concurrency))
        run.prefetch([(call, (0, index), rows) for index, call in enumerate(calls)])
        answers = list(run.fetch(calls))
        sent = [
            sent_calls(server, "VisitsSummary.get", [request])
            for request in server.requests
            if sent_calls(server, "VisitsSummary.get", [request])
        ]
    assert [call for call, _ in answers] == calls
    assert all(isinstance(answer, dict) and answer["nb_visits"] > 0 for _, answer in answers)
    assert len(sent) == requests
    assert sorted(call["date"] for request in sent for call in request) == days


def test_rows_held_ahead_are_expected_until_answered_then_counted_until_taken() -> None:
    """`held_rows` keeps a total of the answers looked at: the same as counting them all."""
    days = [f"2026-11-{day}" for day in range(21, 27)]
    calls = [
        ApiCall("VisitsSummary.get", {"idSite": "1", "period": "day", "date": day}) for day in days
    ]
    release = threading.Event()
    with FakeMatomo(synthesize=True) as server:
        handle = server._handle

        def held_back(handler: Any) -> None:
            release.wait(10)
            handle(handler)

        server._handle = held_back  # type: ignore[method-assign]
        run = MatomoRun(base_config(server, max_concurrent_requests=3))
        run.prefetch([(call, (0, index), 500) for index, call in enumerate(calls)])
        assert run.held_rows() == 6 * 500  # in flight: the rows expected
        assert run.held_rows(besides=calls[:2]) == 4 * 500
        release.set()
        answers = list(run.fetch(calls[:1]))  # waits for its request; the others arrive too
        deadline = time.monotonic() + 10
        while any(not held.future.done() for held in run._ahead.values()):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        # a day of VisitsSummary.get is one object of metrics: one row each
        assert run.held_rows() == 5
        assert run.held_rows(besides=calls[1:3]) == 3
        run.forget_before((0, 3))  # days 2 and 3 read ahead for a plan that changed
        assert run.held_rows() == 3
        assert [call for call, _ in run.fetch(calls[3:])] == calls[3:]
        assert run.held_rows() == 0
    assert [call for call, _ in answers] == calls[:1]
