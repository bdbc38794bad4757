"""HTTP requests per backfill, next to the naive one request per site, report and day.

The tap asks Matomo for a whole window per call (``date=start,end``, cut into chunks of
``max_periods_per_request`` periods) and batches calls into ``API.getBulkRequest``. So the number
of HTTP requests should grow with sites and reports, and hardly with days. This benchmark runs real
syncs of every day report stream selected by default against the synthesizing FakeMatomo on
loopback, counts what the fake receives, and prints the counts and ratios.

    .venv/bin/python bench/requests_per_sync.py
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from urllib.parse import parse_qsl

from _fake_server import TrimmedFake, add_sites
from _support import (
    answerable,
    default_day_report_streams,
    pin_clock,
    print_left_out,
    sync,
    table,
    window_config,
)

from tests import hand_built
from tests.fake_matomo import Received

BULK = "API.getBulkRequest"
#: Row lists are cut to this many rows per period: the number of requests does not depend on
#: the rows (reports are asked with filter_limit=-1, never paged), and the benchmark stays fast
#: however many streams the catalog has. bench/throughput.py measures the rows.
ROWS_PER_PERIOD = 1


@dataclass
class Count:
    sites: int
    reports: int
    days: int
    http_requests: int
    api_calls: int
    records: int
    seconds: float

    @property
    def naive(self) -> int:
        return self.sites * self.reports * self.days


def api_calls(request: Received) -> int:
    """API calls carried by one HTTP request (each ``urls[i]`` of a bulk request counts)."""
    if request.api_method != BULK:
        return 1
    return sum(1 for key, _ in parse_qsl(request.raw_body) if key.startswith("urls["))


_FAKE: list[TrimmedFake] = []


def shared_fake() -> TrimmedFake:
    """One fake per process: loading the recordings is the slow part of starting one."""
    if not _FAKE:
        fake = TrimmedFake(ROWS_PER_PERIOD, synthesize=True)
        hand_built.install(fake)  # the reports no recording holds
        fake.start()
        _FAKE.append(fake)
    return _FAKE[0]


def measure(sites: int, days: int, streams: list[str]) -> Count:
    """One backfill of ``streams`` for ``sites`` sites and ``days`` days; what the fake saw."""
    fake = shared_fake()
    add_sites(fake, max(sites, 3))
    fake.requests.clear()
    config = window_config(fake.url, list(range(1, sites + 1)), days)
    started = time.perf_counter()
    sink = sync(config, set(streams))
    seconds = time.perf_counter() - started
    received = list(fake.requests)
    return Count(
        sites=sites,
        reports=len(streams),
        days=days,
        http_requests=len(received),
        api_calls=sum(api_calls(r) for r in received),
        records=sink.records,
        seconds=seconds,
    )


def measure_in_worker(job: tuple[int, int, list[str]]) -> Count:
    """``measure`` in a worker process (the clock is pinned there too)."""
    pin_clock()
    return measure(*job)


def main() -> int:
    pin_clock()
    candidates = default_day_report_streams(window_config("http://127.0.0.1:1", [1], 1))
    streams, failed = answerable(candidates, lambda chosen: measure(1, 2, chosen))
    half = streams[: max(1, len(streams) // 2)]
    plan = [
        (1, 60, streams),
        (3, 60, streams),
        (6, 60, streams),
        (3, 60, half),
        (3, 30, streams),
        (3, 120, streams),
    ]
    # The syncs are independent: run them side by side, one per core (each with its own fake).
    for fake in _FAKE:
        fake.stop()
    _FAKE.clear()
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=max(1, os.cpu_count() or 1), mp_context=context) as pool:
        counts = list(pool.map(measure_in_worker, plan))
    rows = [
        [
            c.sites,
            c.reports,
            c.days,
            f"{c.naive:,}",
            f"{c.api_calls:,}",
            c.http_requests,
            f"{c.naive / c.http_requests:,.0f}x",
            f"{c.api_calls / c.http_requests:,.1f}",
            f"{c.seconds:.1f}",
        ]
        for c in counts
    ]
    print(
        f"Backfill of {len(streams)} day report streams selected by default, end 2026-11-26, "
        "against FakeMatomo(synthesize=True) on loopback (sites 4-6 reuse the data of 1-3; "
        f"answers cut to {ROWS_PER_PERIOD} row per period, so the read-ahead row budget only "
        "binds through its estimate for methods not seen yet: see throughput.py for a sync with "
        "full answers).\n"
        "naive = one request per site, report and day; HTTP = requests the fake received "
        "(the site list included); sync s = wall time of the sync, two syncs side by side on "
        "this machine's cores."
    )
    print()
    print(
        table(
            [
                "sites",
                "reports",
                "days",
                "naive requests",
                "API calls",
                "HTTP requests",
                "naive / HTTP",
                "calls per request",
                "sync s",
            ],
            rows,
        )
    )
    main = counts[1]
    print()
    print(
        f"3 sites x {main.reports} reports x 60 days: {main.http_requests} HTTP requests instead "
        f"of {main.naive:,} ({main.naive / main.http_requests:,.0f}x fewer); 30 -> 120 days: "
        f"{counts[4].http_requests} -> {counts[5].http_requests} requests; 1 -> 6 sites: "
        f"{counts[0].http_requests} -> {counts[2].http_requests}."
    )
    print_left_out(failed, len(candidates))
    return 0


if __name__ == "__main__":
    sys.exit(main())
