"""Records per second of the tap on a large report, next to plain JSON, and peak memory of a sync.

1. Throughput: the page URL report of one site for 60 days with ROWS_PER_DAY rows a day, served
   by a FakeMatomo in a child process (so the server does not share this process's CPU). The tap
   (HTTP, decoding, record shaping, the SDK's typing and Singer serialization) is set against
   two baselines over the very same answers: ``json.loads`` + one ``json.dumps`` per row, and
   the same plus fetching the answers over HTTP like a bare script would.
2. Memory: a full sync (every default stream the fake can answer, 3 sites) for 7 and 60 days,
   each in a fresh process; peak RSS (`VmHWM`, reset when the sync starts) and RSS before it.
3. Memory flat in the size of a sync: the page URL report of 2. for 100 and 1,000 days
   (100,000 and 1,000,000 records), each in a fresh process.

    .venv/bin/python bench/throughput.py
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import requests
from _support import (
    END,
    ROOT,
    SingerSink,
    answerable,
    catalog_selecting,
    child_fake,
    default_day_report_streams,
    new_tap,
    peak_rss_mb,
    pin_clock,
    print_left_out,
    reset_peak_rss,
    sync,
    table,
    window_config,
)

from tap_matomo.catalog import reports_by_name
from tap_matomo.streams.report_rows import shape_row
from tests.fake_matomo import TOKEN

STREAM = "actions_page_urls"
METHOD = "Actions.getPageUrls"
ROWS_PER_DAY = 1000
DAYS = 60


@dataclass
class Rate:
    name: str
    records: int
    wall: float
    cpu: float

    @property
    def per_second(self) -> float:
        """Records per CPU-second of this process: steadier than wall time on a busy machine."""
        return self.records / self.cpu


def timed(name: str, work: Callable[[], int]) -> Rate:
    """Wall and CPU time of ``work`` (which returns how many records it produced)."""
    wall, cpu = time.perf_counter(), time.process_time()
    records = work()
    return Rate(name, records, time.perf_counter() - wall, time.process_time() - cpu)


# -- 1. throughput ------------------------------------------------------------------------------


def chunks(days: int, size: int = 31) -> list[tuple[date, date]]:
    """The windows the tap asks for (``max_periods_per_request`` days each, the default)."""
    start = END - timedelta(days=days - 1)
    out = []
    while start <= END:
        end = min(END, start + timedelta(days=size - 1))
        out.append((start, end))
        start = end + timedelta(days=1)
    return out


def fetch_bodies(url: str) -> list[str]:
    """The raw answers for the benchmark window, as a bare script would fetch them."""
    session = requests.Session()
    bodies = []
    for start, end in chunks(DAYS):
        response = session.post(
            f"{url}/index.php",
            params={"module": "API", "method": METHOD, "format": "JSON"},
            data={
                "token_auth": TOKEN,
                "idSite": "1",
                "period": "day",
                "date": f"{start},{end}",
                "flat": "1",
                "filter_limit": "-1",
                "format_metrics": "0",
            },
            timeout=60,
        )
        response.raise_for_status()
        bodies.append(response.text)
    return bodies


def plain_json(bodies: list[str]) -> int:
    """Baseline: decode each answer and write each row as one Singer-like line."""
    sink = SingerSink()
    for body in bodies:
        for day, rows in json.loads(body).items():
            for row in rows:
                message = {"type": "RECORD", "stream": STREAM, "record": {"date": day, **row}}
                sink.write(json.dumps(message, separators=(",", ":")) + "\n")
    return sink.records


def shaped_json(bodies: list[str]) -> int:
    """The tap's own row shaping (typing every metric) between the same decode and encode."""
    spec = reports_by_name()[STREAM]
    sink = SingerSink()
    for body in bodies:
        for day, rows in json.loads(body).items():
            for row in rows:
                record = {"site_id": 1, "period": "day", "date": day, **shape_row(spec, row)}
                message = {"type": "RECORD", "stream": STREAM, "record": record}
                sink.write(json.dumps(message, separators=(",", ":")) + "\n")
    return sink.records


def tap_sync(url: str) -> int:
    """The tap's whole path for the same report: HTTP, shaping, SDK, Singer output."""
    config = window_config(url, [1], DAYS)
    tap = new_tap(config, catalog_selecting(config, {STREAM}))
    sink = SingerSink()
    with contextlib.redirect_stdout(sink):  # type: ignore[type-var]
        tap.sync_all()
    return sink.records


def throughput() -> list[Rate]:
    with child_fake("--page-rows", str(ROWS_PER_DAY)) as fake:
        tap_sync(fake.url)  # warm up: imports, first connection
        tap = timed(
            "tap-matomo sync (HTTP + shaping + SDK + Singer JSON)", lambda: tap_sync(fake.url)
        )
        bodies: list[str] = []

        def fetch_and_dump() -> int:
            bodies.extend(fetch_bodies(fake.url))
            return plain_json(bodies)

        fetched = timed("baseline: HTTP fetch + json.loads + json.dumps", fetch_and_dump)
    shaped = timed("json.loads + tap's shape_row + json.dumps", lambda: shaped_json(bodies))
    plain = timed("baseline: json.loads + json.dumps", lambda: plain_json(bodies))
    return [tap, fetched, shaped, plain]


# -- 2. memory ----------------------------------------------------------------------------------


def memory_child(days: int) -> dict[str, Any]:
    """Run in a fresh process: a full sync of ``days`` days; peak RSS before and after."""
    pin_clock()
    with child_fake() as fake:
        config = window_config(fake.url, [1, 2, 3], days)
        candidates = default_day_report_streams(config)
        streams, failed = answerable(
            candidates, lambda chosen: sync(window_config(fake.url, [1], 2), set(chosen))
        )
        streams += ["sites", "goals"]
        before = reset_peak_rss()
        started = time.perf_counter()
        sink = sync(config, set(streams))
        seconds = time.perf_counter() - started
        after = peak_rss_mb()
    return {
        "days": days,
        "streams": len(streams),
        "failed": failed,
        "records": sink.records,
        "output_mb": sink.bytes / 2**20,
        "rss_before_mb": before,
        "rss_peak_mb": after,
        "seconds": seconds,
    }


def pages_memory_child(days: int) -> dict[str, Any]:
    """Run in a fresh process: the page URL report of one site, ROWS_PER_DAY rows a day."""
    pin_clock()
    with child_fake("--page-rows", str(ROWS_PER_DAY)) as fake:
        config = window_config(fake.url, [1], days)
        before = reset_peak_rss()
        started = time.perf_counter()
        sink = sync(config, {STREAM})
        seconds = time.perf_counter() - started
        after = peak_rss_mb()
    return {
        "days": days,
        "records": sink.records,
        "output_mb": sink.bytes / 2**20,
        "rss_before_mb": before,
        "rss_peak_mb": after,
        "seconds": seconds,
    }


def in_child(option: str, days: int) -> dict[str, Any]:
    """One memory measurement in a fresh process (peak RSS is per process)."""
    out = subprocess.run(
        [sys.executable, __file__, option, str(days)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def memory(days_list: list[int]) -> list[dict[str, Any]]:
    with ThreadPoolExecutor(max_workers=len(days_list)) as pool:
        return list(pool.map(lambda days: in_child("--memory-child", days), days_list))


def pages_memory(days_list: list[int]) -> list[dict[str, Any]]:
    """One after the other: two big syncs side by side would measure the machine."""
    return [in_child("--pages-memory-child", days) for days in days_list]


# -- output -------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--pages-memory-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        print(json.dumps(memory_child(args.memory_child)))
        return 0
    if args.pages_memory_child:
        print(json.dumps(pages_memory_child(args.pages_memory_child)))
        return 0

    pin_clock()
    with ThreadPoolExecutor(max_workers=1) as pool:  # the memory runs go on in other processes
        memory_runs = pool.submit(memory, [7, DAYS])
        rates = throughput()
        mem = memory_runs.result()
    big = pages_memory([100, 1000])  # 100,000 and 1,000,000 records

    tap, fetched, shaped, plain = rates
    print(
        f"1. `{STREAM}`, 1 site x {DAYS} days x {ROWS_PER_DAY:,} rows a day "
        f"({tap.records:,} records), FakeMatomo in a child process on loopback.\n"
    )
    print(
        table(
            ["path", "records", "wall s", "CPU s", "records per CPU s", "tap vs this"],
            [
                [
                    r.name,
                    f"{r.records:,}",
                    f"{r.wall:.2f}",
                    f"{r.cpu:.2f}",
                    f"{r.per_second:,.0f}",
                    "1.0x" if r is tap else f"{r.per_second / tap.per_second:.1f}x faster",
                ]
                for r in rates
            ],
        )
    )
    per_record = {
        "JSON decode + encode": plain.cpu,
        "HTTP client": fetched.cpu - plain.cpu,
        "row shaping (shape_row)": shaped.cpu - plain.cpu,
        "SDK record handling + the rest": tap.cpu - fetched.cpu - (shaped.cpu - plain.cpu),
    }
    print(
        f"\nThe tap runs at {tap.per_second / plain.per_second:.0%} of the plain JSON rate and "
        f"{tap.per_second / fetched.per_second:.0%} of fetch + JSON. CPU time per record: "
        + ", ".join(
            f"{name} {seconds / tap.records * 1e6:.0f} us" for name, seconds in per_record.items()
        )
        + f" (total {tap.cpu / tap.records * 1e6:.0f} us)."
    )
    print(
        f"\nCPU per record: tap {tap.cpu / tap.records * 1e6:.1f} us, plain-JSON floor "
        f"(json.loads + json.dumps) {plain.cpu / plain.records * 1e6:.1f} us: "
        f"{(tap.cpu / tap.records) / (plain.cpu / plain.records):.1f}x the floor (target: at "
        "most 3x)."
    )
    print(
        "\n2. Full sync, 3 sites, every default stream the fake answers; one fresh process each.\n"
    )
    print(
        table(
            [
                "days",
                "streams",
                "records",
                "Singer output MB",
                "RSS before sync MB",
                "peak RSS MB",
                "growth MB",
                "sync s",
            ],
            [
                [
                    m["days"],
                    m["streams"],
                    f"{m['records']:,}",
                    f"{m['output_mb']:.1f}",
                    f"{m['rss_before_mb']:.0f}",
                    f"{m['rss_peak_mb']:.0f}",
                    f"{m['rss_peak_mb'] - m['rss_before_mb']:.0f}",
                    f"{m['seconds']:.1f}",
                ]
                for m in mem
            ],
        )
    )
    short, full = mem
    growth_short = short["rss_peak_mb"] - short["rss_before_mb"]
    growth_full = full["rss_peak_mb"] - full["rss_before_mb"]
    print(
        f"\n{full['days']} vs {short['days']} days: {full['output_mb'] / short['output_mb']:.1f}x "
        f"the output, {growth_full / max(growth_short, 0.1):.1f}x the memory growth. The "
        f"{full['days']}-day sync grows by {growth_full / full['output_mb']:.0%} of its output: "
        "records are streamed, what is held is the decoded answers of one bulk request."
    )
    print_left_out(full["failed"])
    print(
        f"\n3. The page URL report of one site, {ROWS_PER_DAY:,} rows a day, for 100 and 1,000 "
        "days; one fresh process each.\n"
    )
    print(
        table(
            ["days", "records", "Singer output MB", "peak RSS MB", "growth MB", "sync s"],
            [
                [
                    m["days"],
                    f"{m['records']:,}",
                    f"{m['output_mb']:,.0f}",
                    f"{m['rss_peak_mb']:.0f}",
                    f"{m['rss_peak_mb'] - m['rss_before_mb']:.0f}",
                    f"{m['seconds']:.1f}",
                ]
                for m in big
            ],
        )
    )
    small, large = big
    print(
        f"\n{large['records']:,} records: peak {large['rss_peak_mb']:.0f} MB (target: under "
        f"250 MB), against {small['rss_peak_mb']:.0f} MB for {small['records']:,}."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
