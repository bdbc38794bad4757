"""The visit log of one site: HTTP requests, wall time and CPU per record against plain JSON.

A 60-day backfill of site 1 with about 2,500 visits (copies of the recorded visits, with all
their actions, spread over the days), streams ``visits`` and ``visit_actions``, in process
against a FakeMatomo in a child process that waits ``--latency-ms`` (default 100) before
answering each HTTP request, like a Matomo across a network. The floor is plain JSON over the
same visits in the same run: ``json.loads`` of the answer bodies and one ``json.dumps`` per visit
and per action, which is what any extractor has to do at least.

    .venv/bin/python bench/visit_log.py [--latency-ms 100] [--visits 2500] [--days 60]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests
from _support import (
    END,
    SingerSink,
    catalog_selecting,
    child_fake,
    new_tap,
    pin_clock,
    table,
    window_config,
)

from tests.fake_matomo import TOKEN, FakeMatomo

LIVE = "Live.getLastVisitsDetails"
SITE_ID = 1
STREAMS = {"visits", "visit_actions"}
#: The other extractors measured on the same work (issue 9): the best one.
BEST_PEER = {"requests": 3, "wall": 2.0}


# -- the server (child process) -------------------------------------------------------------------


def serve(latency: float, visits: int, days: int) -> None:
    """A FakeMatomo whose visit log holds ``visits`` visits of site 1 over ``days`` days."""
    from tests.fake_live import FakeLive

    live = FakeLive({}, copies=False)
    live.spread_copies(SITE_ID, END - timedelta(days=days - 1), days, visits)
    fake = FakeMatomo()
    fake.handlers[LIVE] = live
    handle = fake._handle
    busy = [0.0]  # seconds the fake spent answering (besides the latency)

    def slow_handle(handler: Any) -> None:
        if handler.path == "/requests":  # the bench asks how many requests the tap sent
            counts = json.dumps([len(fake.requests), busy[0]])
            FakeMatomo._send(handler, 200, counts, "application/json", {})
            return
        time.sleep(latency)
        started = time.perf_counter()
        handle(handler)
        busy[0] += time.perf_counter() - started

    fake._handle = slow_handle  # type: ignore[method-assign]
    fake.start()
    print(fake.url, flush=True)
    sys.stdin.read()  # serve until the parent closes our stdin
    fake.stop()


# -- the measures ------------------------------------------------------------------------------


def requests_so_far(url: str) -> tuple[int, float]:
    """HTTP requests the child server has received, and the seconds it spent answering them."""
    count, seconds = requests.get(f"{url}/requests", timeout=10).json()
    return int(count), float(seconds)


def plain_json_cpu(url: str, days: int) -> tuple[float, int]:
    """CPU seconds of json.loads + one json.dumps per visit and per action, and the records.

    The bodies are the visit log of the window, one day per answer as the tap reads it.
    """
    bodies = []
    for offset in range(days):
        day = END - timedelta(days=days - 1 - offset)
        form = {
            "token_auth": TOKEN,
            "idSite": str(SITE_ID),
            "period": "day",
            "date": day.isoformat(),
            "filter_limit": "-1",
            "filter_sort_order": "asc",
        }
        query = {"module": "API", "method": LIVE, "format": "JSON"}
        answer = requests.post(f"{url}/index.php", params=query, data=form, timeout=60)
        bodies.append(answer.text)
    seen: set[int] = set()
    records = 0
    started = time.process_time()
    for body in bodies:
        for visit in json.loads(body):
            if visit["idVisit"] in seen:  # a visit ending at midnight is in two days
                continue
            seen.add(visit["idVisit"])
            json.dumps(visit)
            records += 1
            for action in visit["actionDetails"]:
                json.dumps(action)
                records += 1
    return time.process_time() - started, records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency-ms", type=float, default=100.0, help="per HTTP request")
    parser.add_argument("--visits", type=int, default=2500)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3, help="syncs; the best one is shown")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.latency_ms / 1000, args.visits, args.days)
        return
    pin_clock()
    serve_args = ("--serve", f"--latency-ms={args.latency_ms}", f"--visits={args.visits}")
    with child_fake(*serve_args, f"--days={args.days}", script=Path(__file__)) as child:
        url = child.url
        config = window_config(url, [SITE_ID], args.days)
        catalog = catalog_selecting(config, STREAMS)
        runs = []
        for _ in range(args.repeat):
            before = requests_so_far(url)
            started = time.perf_counter()
            tap = new_tap(config, catalog)
            wall, cpu = time.perf_counter(), time.process_time()
            sink = SingerSink()
            with contextlib.redirect_stdout(sink):  # type: ignore[type-var]
                tap.sync_all()
            done = time.perf_counter()
            cpu = time.process_time() - cpu
            after = requests_so_far(url)
            sent, serving = after[0] - before[0], after[1] - before[1]
            runs.append((done - wall, done - started, cpu, sink.records, sent, serving))
        floor_cpu, floor_records = plain_json_cpu(url, args.days)
    wall, wall_with_start, cpu, records, sent, serving = min(runs)
    floor_us = floor_cpu / floor_records * 1e6
    tap_us = cpu / records * 1e6
    load = os.getloadavg()[0]
    print(
        f"Visit log of one site: {args.days} days, {args.visits:,} visits, "
        f"{args.latency_ms:g} ms per request; best of {args.repeat} syncs "
        f"(load average {load:.1f} on {os.cpu_count()} cores).\n"
    )
    print(
        table(
            ["", "HTTP requests", "sync wall s", "with tap start s", "records", "CPU us/record"],
            [
                [
                    "tap-matomo",
                    sent,
                    f"{wall:.2f}",
                    f"{wall_with_start:.2f}",
                    f"{records:,}",
                    f"{tap_us:.0f}",
                ],
                ["plain JSON floor", "", "", "", f"{floor_records:,}", f"{floor_us:.0f}"],
                [
                    "best peer (issue 9)",
                    BEST_PEER["requests"],
                    "",
                    f"{BEST_PEER['wall']:.1f}",
                    "",
                    "",
                ],
            ],
        )
    )
    print(
        f"\nCPU per record: {tap_us / floor_us:.1f}x the plain-JSON floor (target: 4x). "
        f"Of the sync's {wall:.2f} s: {sent * args.latency_ms / 1000:.2f} s latency, "
        f"{serving:.2f} s the fake building its answers, {cpu:.2f} s the tap's own CPU time."
    )


if __name__ == "__main__":
    main()
