"""CPU per record of a daily run as the number of sites grows: the tap's bookkeeping per site.

A scheduled run reads a day: every default day report stream, for 3, 30 and 100 sites (sites
past 3 answered with the data of sites 1-3), against the synthesizing FakeMatomo in a child
process answering at once, so that the tap's own CPU is what is measured. Each site adds a
partition to every stream; what the tap does per partition (planning, reading ahead, state)
must not grow with the partitions already there, so the CPU per record should stay flat.

    .venv/bin/python bench/many_sites.py [--sites 3 30 100] [--days 1]
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


def sync_of_sites(url: str, sites: int, days: int, streams: list[str]) -> dict[str, Any]:
    """One sync of ``sites`` sites (``_support.timed_sync``)."""
    config = window_config(url, list(range(1, sites + 1)), days)
    return {"sites": sites, **timed_sync(config, set(streams))}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sites", type=int, nargs="+", default=[3, 30, 100])
    parser.add_argument("--days", type=int, default=1)
    args = parser.parse_args()
    pin_clock()
    with child_fake("--sites", str(max(args.sites)), "--cache") as fake:
        candidates = default_day_report_streams(window_config(fake.url, [1], args.days))
        streams, failed = answerable(
            candidates, lambda chosen: sync(window_config(fake.url, [1], 1), set(chosen))
        )
        sync_of_sites(fake.url, min(args.sites), args.days, streams)  # warm-up: answers cached
        runs = [sync_of_sites(fake.url, sites, args.days, streams) for sites in args.sites]
    first = runs[0]["cpu"] / runs[0]["records"]
    print(
        f"A daily run: {len(streams)} default day report streams x {args.days} day(s), "
        "FakeMatomo in a child process answering at once.\n"
    )
    rows = [
        [
            run["sites"],
            run["sites"] * len(streams),
            f"{run['records']:,}",
            run["requests"],
            f"{run['cpu']:.2f}",
            f"{run['cpu'] / run['records'] * 1e6:.0f}",
            f"{run['cpu'] / run['records'] / first:.2f}",
        ]
        for run in runs
    ]
    headers = ["sites", "partitions", "records", "HTTP requests", "CPU s", "us/record"]
    print(table([*headers, f"vs {runs[0]['sites']} sites"], rows))
    print_left_out(failed, len(candidates))
    return 0


if __name__ == "__main__":
    sys.exit(main())
