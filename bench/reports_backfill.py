"""Wall time of a reports backfill with requests one at a time and side by side.

The backfill: every day report stream selected by default (that the fake answers), 3 sites,
60 days, against the synthesizing FakeMatomo in a child process that answers every HTTP
request LATENCY seconds late (each request in its own thread, as PHP workers do). The same
sync runs at `max_concurrent_requests` 1 and at the default; the ratio of their wall times is
the figure (issue 9's target: at most 0.5 with 100 ms). Both syncs run once before they are
timed, so that the fake answers from memory: building answers in Python costs the fake more
time than the tap spends reading them, and would be measured instead of the tap.

Three cases: the fake's full answers (the tap's own CPU time is a large part of the work), the
answers cut to one row per period (the requests are the work), and full answers from a fake
that also spends CALL_LATENCY seconds on each API call of a request, as Matomo runs the calls of
a bulk request one after the other (a real Matomo 5 took 17 s for 354 calls, 48 ms a call).

    .venv/bin/python bench/reports_backfill.py [--latency 0.1] [--days 60] [--call-latency 0.02]
        [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from _support import (
    answerable,
    child_fake,
    default_day_report_streams,
    pin_clock,
    print_left_out,
    sync,
    table,
    timed_sync,
    window_config,
)

from tap_matomo.settings_schema import setting

SITES = [1, 2, 3]


def sync_at(config: dict[str, Any], streams: set[str]) -> dict[str, Any]:
    """One sync (``_support.timed_sync``) and its concurrency."""
    return {"concurrency": config["max_concurrent_requests"], **timed_sync(config, streams)}


def measure(
    latency: float, days: int, rows: int, per_call: float = 0.0, repeat: int = 3
) -> dict[str, Any]:
    """The backfill at 1 and at the default concurrency, on one fake (``rows``: 0 = full).

    ``per_call``: seconds the fake also spends on each API call of a request; ``repeat``: runs
    of each, the fastest kept.
    """
    default = int(setting({}, "max_concurrent_requests"))
    options = ["--latency", str(latency), "--cache", "--call-latency", str(per_call)]
    options += ["--rows", str(rows)] if rows else []
    with child_fake(*options) as fake:
        candidates = default_day_report_streams(window_config(fake.url, SITES, days))
        streams, failed = answerable(
            candidates, lambda chosen: sync(window_config(fake.url, [1], 1), set(chosen))
        )
        configs = [
            window_config(fake.url, SITES, days, max_concurrent_requests=concurrency)
            for concurrency in (1, default)
        ]
        for config in configs:  # warm-up: the fake keeps its answers (see --cache)
            sync_at(config, set(streams))
        # in turn, so that a slow spell of the machine falls on both; the best of each counts
        tries = [[sync_at(config, set(streams)) for config in configs] for _ in range(repeat)]
        runs = [min(each, key=lambda run: run["wall"]) for each in zip(*tries, strict=True)]
    one = runs[0]
    if any(
        run["state"] != one["state"] or run["records"] != one["records"]
        for run in (run for each in tries for run in each)
    ):
        msg = "the syncs at 1 and at the default concurrency differ in records or final state"
        raise SystemExit(msg)
    return {"runs": runs, "streams": streams, "failed": failed, "candidates": candidates}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per HTTP request")
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument(
        "--call-latency", type=float, default=0.02, help="seconds per API call, third case"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, the fastest kept")
    args = parser.parse_args()
    pin_clock()
    per_call = f"full answers, + {args.call_latency * 1000:.0f} ms per API call (server-bound)"
    cases = {
        "full answers": measure(args.latency, args.days, 0, repeat=args.repeat),
        "answers cut to 1 row per period (requests only)": measure(
            args.latency, args.days, 1, repeat=args.repeat
        ),
        per_call: measure(args.latency, args.days, 0, args.call_latency, args.repeat),
    }
    first = next(iter(cases.values()))
    print(
        f"Reports backfill: {len(SITES)} sites x {len(first['streams'])} default day report "
        f"streams x {args.days} days, FakeMatomo in a child process answering "
        f"{args.latency * 1000:.0f} ms late; the fastest of {args.repeat} runs of each.\n"
    )
    rows = []
    for name, case in cases.items():
        one = case["runs"][0]
        rows += [
            [
                name,
                r["concurrency"],
                r["requests"],
                f"{r['records']:,}",
                f"{r['wall']:.2f}",
                f"{r['cpu']:.2f}",
                f"{r['main']:.2f}",
                f"{r['wall'] / one['wall']:.2f}",
            ]
            for r in case["runs"]
        ]
    print(
        table(
            [
                "answers",
                "max_concurrent_requests",
                "HTTP requests",
                "records",
                "wall s",
                "CPU s",
                "of which records' thread",
                "wall vs 1",
            ],
            rows,
        )
    )
    for name, case in cases.items():
        one, many = case["runs"]
        print(
            f"\n{name}: at the default ({many['concurrency']} at once) the backfill takes "
            f"{many['wall'] / one['wall']:.2f}x the wall time of one request at a time "
            "(same records, same final state)."
        )
    print_left_out(first["failed"], len(first["candidates"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
