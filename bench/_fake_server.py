"""A synthesizing FakeMatomo for the benchmarks, with more sites and bigger reports on demand.

Run as a child process: it prints its URL on one line and serves until its stdin closes::

    .venv/bin/python bench/_fake_server.py [--sites N] [--page-rows N] [--latency S]
"""

from __future__ import annotations

import argparse
import copy
import json
import socketserver
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests import hand_built  # noqa: E402
from tests.fake_live import FakeLive  # noqa: E402
from tests.fake_matomo import FakeMatomo, received_from  # noqa: E402

# No ~40 ms delayed-ACK stall per keep-alive answer (see bench/_support.py).
socketserver.StreamRequestHandler.disable_nagle_algorithm = True

SITES_METHOD = "SitesManager.getSitesWithAtLeastViewAccess"
PAGES_METHOD = "Actions.getPageUrls"


def add_sites(fake: FakeMatomo, count: int) -> None:
    """Answer the site list with ``count`` sites; sites past 3 reuse the data of sites 1-3.

    The fake's synthesizing mode answers report calls of an unknown site from a recorded one.
    """
    fake.handlers.pop(SITES_METHOD, None)  # the recorded list, not an earlier call's
    _, recorded = fake.answer_call({"method": SITES_METHOD, "filter_limit": "-1"})
    sites = []
    for index in range(count):
        site = copy.deepcopy(recorded[index % len(recorded)])
        site["idsite"] = str(index + 1)
        site["name"] = f"{site['name']} #{index + 1}"
        sites.append(site)
    fake.handlers[SITES_METHOD] = lambda params: (200, sites)

    def goals(params: dict[str, str]) -> tuple[int, Any]:
        recorded_site = (int(params["idSite"]) - 1) % len(recorded) + 1
        return fake.answer_recorded({**params, "idSite": str(recorded_site)})

    fake.handlers["Goals.getGoals"] = goals


def page_rows(fake: FakeMatomo, rows_per_day: int) -> list[dict[str, Any]]:
    """``rows_per_day`` page rows made from the recorded flat page report of site 1."""
    _, recorded = fake.answer_call(
        {
            "method": PAGES_METHOD,
            "idSite": "1",
            "period": "day",
            "date": "2026-11-20",
            "flat": "1",
            "filter_limit": "-1",
            "format_metrics": "0",
        }
    )
    rows = []
    for index in range(rows_per_day):
        row = copy.deepcopy(recorded[index % len(recorded)])
        row["label"] = f"/bench/section-{index % 50}/page-{index}"
        row["url"] = f"https://shop.example.com{row['label']}"
        rows.append(row)
    return rows


def add_big_page_report(fake: FakeMatomo, rows_per_day: int) -> None:
    """Answer the page URL report with ``rows_per_day`` rows on every day asked."""
    rows = page_rows(fake, rows_per_day)

    def answer(params: dict[str, str]) -> tuple[int, Any]:
        first, _, last = params["date"].partition(",")
        if not last:
            return 200, rows
        days = days_between(first, last)
        return 200, {day: rows for day in days}

    fake.handlers[PAGES_METHOD] = answer


def days_between(first: str, last: str) -> list[str]:
    """Every day from ``first`` to ``last`` (YYYY-MM-DD), inclusive."""
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]


def trim_rows(answer: Any, rows: int) -> Any:
    """A report answer with at most ``rows`` rows per period."""
    if isinstance(answer, list):
        return answer[:rows]
    if isinstance(answer, dict) and answer.get("result") != "error":
        return {
            key: trim_rows(value, rows) if isinstance(value, list) else value
            for key, value in answer.items()
        }
    return answer


class TrimmedFake(FakeMatomo):
    """The synthesizing fake, answering report calls with at most ``rows`` rows per period."""

    def __init__(self, rows: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rows = rows

    def answer_call(self, params: dict[str, str]) -> tuple[int, Any]:
        status, body = super().answer_call(params)
        if params.get("method", "").startswith(("SitesManager.", "API.")):
            return status, body
        return status, trim_rows(body, self.rows)


def add_answer_cache(fake: FakeMatomo, seconds_per_call: float = 0.0) -> None:
    """Answer a call seen before from memory: a warm-up run leaves the fake's CPU out.

    The synthesizing fake builds each answer in Python, and that takes longer than the tap takes
    to read it; a real Matomo spends that time in other processes (the latency stands for it).
    Answers are kept per API call, as JSON text, and a bulk request's answer is put together
    from them: however a sync groups its calls into requests, a call seen before costs nothing.
    ``seconds_per_call``: time a Matomo spends on each call of a request (it runs the calls of a
    bulk request one after the other, in one PHP worker), slept before answering.
    """
    calls: dict[tuple[tuple[str, str], ...], tuple[int, str]] = {}

    def call_text(params: dict[str, str]) -> tuple[int, str]:
        key = tuple(sorted(params.items()))
        if key not in calls:
            status, body = fake.answer_call(params)
            calls[key] = status, json.dumps(body)
        return calls[key]

    def cached(handler: Any) -> None:
        received = received_from(handler)
        params = received.params
        if received.form.get("token_auth") != fake.token:
            status, text = 401, json.dumps(fake.answer(received)[1])
        elif params.get("method") == "API.getBulkRequest":
            answers = [call_text(call) for call in fake.bulk_calls(params)]
            time.sleep(seconds_per_call * len(answers))
            if any(code != 200 or '"result": "error"' in text[:30] for code, text in answers):
                # an error: the fake's own wording for a sub-answer
                status, text = 200, json.dumps(fake.answer(received)[1])
            else:
                status, text = 200, "[" + ",".join(answer for _, answer in answers) + "]"
        else:
            status, text = call_text(params)
            time.sleep(seconds_per_call)
        FakeMatomo._send(handler, status, text, "application/json; charset=utf-8", {})

    fake._handle = cached  # type: ignore[method-assign]


def add_latency(fake: FakeMatomo, seconds: float) -> None:
    """Answer every HTTP request ``seconds`` late, like a Matomo reading its archives.

    The fake serves each request in its own thread, as a PHP server does in its own worker, so
    requests sent together wait together.
    """
    handle = fake._handle

    def slow(handler: Any) -> None:
        time.sleep(seconds)
        handle(handler)

    fake._handle = slow  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sites", type=int, default=0, help="answer with this many sites")
    parser.add_argument("--page-rows", type=int, default=0, help="rows per day of page URLs")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per HTTP request")
    parser.add_argument("--rows", type=int, default=0, help="cut answers to N rows per period")
    parser.add_argument("--cache", action="store_true", help="keep every answer given")
    parser.add_argument(
        "--call-latency", type=float, default=0.0, help="seconds per API call (with --cache)"
    )
    args = parser.parse_args()
    fake = TrimmedFake(args.rows, synthesize=True) if args.rows else FakeMatomo(synthesize=True)
    hand_built.install(fake)  # the reports no recording holds
    fake.handlers["Live.getLastVisitsDetails"] = FakeLive()  # the visit log, from the recordings
    if args.sites:
        add_sites(fake, args.sites)
    if args.page_rows:
        add_big_page_report(fake, args.page_rows)
    if args.cache:
        add_answer_cache(fake, args.call_latency)
    if args.latency:
        add_latency(fake, args.latency)
    fake.start()
    print(fake.url, flush=True)
    sys.stdin.read()  # serve until the parent closes our stdin
    fake.stop()


if __name__ == "__main__":
    main()
