"""What the benchmarks share: the repo on sys.path, the pinned clock, quiet logs, a tap runner.

Benchmarks run offline against ``tests.fake_matomo.FakeMatomo`` on loopback. The clock is pinned
to the recordings' "today" (2026-11-26), like ``tests/conftest.py`` does, so the windows match
the recorded data whatever the machine's date.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
# The tap logs every partition at INFO; a benchmark prints only its table.
os.environ.setdefault("TAP_MATOMO_LOGLEVEL", "ERROR")

import socketserver  # noqa: E402

import pendulum  # noqa: E402

from tap_matomo import dates  # noqa: E402
from tap_matomo.tap import TapMatomo  # noqa: E402
from tests.fake_matomo import TOKEN  # noqa: E402

# The fake writes its headers and body in two sends; with Nagle's algorithm on, each keep-alive
# answer then waits ~40 ms for a delayed ACK. Real servers do not, so neither does the bench fake.
socketserver.StreamRequestHandler.disable_nagle_algorithm = True

RECORDED_NOW = pendulum.datetime(2026, 11, 26, 12, 0, 0, tz="UTC")
END = date(2026, 11, 26)


def pin_clock() -> None:
    """Make the tap's "now" the recordings' now (what the ``pinned_clock`` fixture does)."""
    dates.utc_now = lambda: RECORDED_NOW
    logging.getLogger("tap-matomo").setLevel(logging.ERROR)


def window_config(url: str, site_ids: list[int], days: int, **extra: Any) -> dict[str, Any]:
    """A config for ``days`` days ending on the recordings' today."""
    start = END - timedelta(days=days - 1)
    return {
        "url": url,
        "token_auth": TOKEN,
        "site_ids": site_ids,
        "start_date": start.isoformat(),
        "end_date": END.isoformat(),
        "retry_wait_seconds": 0,
        **extra,
    }


def new_tap(config: dict[str, Any], catalog: dict[str, Any] | None = None) -> TapMatomo:
    """A tap that reads only the given config (no env, no .env)."""
    return TapMatomo(config=config, catalog=catalog, parse_env_config=False)


def default_day_report_streams(config: dict[str, Any]) -> list[str]:
    """Report streams (replication key ``date``) selected by default, from the tap's discovery."""
    tap = TapMatomo(config=config, parse_env_config=False, validate_config=False)
    return sorted(
        name
        for name, stream in tap.streams.items()
        if stream.selected_by_default
        and stream.replication_key == "date"
        and config.get("period", "day") == "day"
    )


def catalog_selecting(config: dict[str, Any], streams: set[str]) -> dict[str, Any]:
    """The discovered catalog with only the named streams selected."""
    tap = TapMatomo(config=config, parse_env_config=False, validate_config=False)
    catalog = tap.catalog_dict
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return catalog


class SingerSink:
    """A stdout stand-in that counts Singer messages and bytes instead of keeping them.

    Like a real stdout it takes bytes through ``buffer``, which is what the tap writes to.
    """

    def __init__(self) -> None:
        self.records = 0
        self.messages = 0
        self.bytes = 0
        self.last_state = ""
        self.buffer = self

    def write(self, line: str | bytes | bytearray) -> int:
        """Count one message, as text (baselines) or bytes (the tap): the same checks on each."""
        text = isinstance(line, str)
        self.bytes += len(line)
        self.messages += line.count("\n" if text else b"\n")  # type: ignore[arg-type]
        if line.startswith('{"type":"RECORD"' if text else b'{"type":"RECORD"'):  # type: ignore[arg-type]
            self.records += 1
        elif line.startswith('{"type":"STATE"' if text else b'{"type":"STATE"'):  # type: ignore[arg-type]
            self.last_state = line if text else bytes(line).decode()  # type: ignore[assignment]
        return len(line)

    def flush(self) -> None:
        return


def sync(config: dict[str, Any], streams: set[str] | None = None) -> SingerSink:
    """Run one in-process sync; the Singer output is counted, not kept."""
    catalog = catalog_selecting(config, streams) if streams is not None else None
    tap = new_tap(config, catalog)
    sink = SingerSink()
    with contextlib.redirect_stdout(sink):  # type: ignore[type-var]
        tap.sync_all()
    return sink


def timed_sync(config: dict[str, Any], streams: set[str]) -> dict[str, Any]:
    """One in-process sync of ``streams``: wall and CPU seconds (all threads, and the thread
    that writes records), records, HTTP requests the tap sent, final state.
    """
    tap = new_tap(config, catalog_selecting(config, streams))
    run = next(iter(tap.streams.values())).run  # type: ignore[attr-defined]
    sink = SingerSink()
    wall, cpu, main = time.perf_counter(), time.process_time(), time.thread_time()
    with contextlib.redirect_stdout(sink):  # type: ignore[type-var]
        tap.sync_all()
    return {
        "wall": time.perf_counter() - wall,
        "cpu": time.process_time() - cpu,
        "main": time.thread_time() - main,
        "records": sink.records,
        "requests": run.client.request_count,
        "state": sink.last_state,
    }


@dataclass
class ChildFake:
    """A FakeMatomo in a child process, so it does not share this process's CPU or memory."""

    process: subprocess.Popen[str]
    url: str


@contextlib.contextmanager
def child_fake(*args: str, script: Path | None = None) -> Iterator[ChildFake]:
    """Start a fake Matomo script (default ``bench/_fake_server.py``, the synthesizing fake).

    The script prints its URL on one line, then serves until its stdin closes.
    """
    script = script or ROOT / "bench" / "_fake_server.py"
    process = subprocess.Popen(
        [sys.executable, str(script), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://"):
            msg = f"the fake Matomo did not start (printed {url!r})"
            raise RuntimeError(msg)
        yield ChildFake(process, url)
    finally:
        assert process.stdin is not None
        process.stdin.close()  # the child exits when its stdin closes
        process.wait(timeout=10)


def reset_peak_rss() -> float:
    """Forget the peak RSS so far (Linux ``clear_refs``); return the current RSS in MB.

    A process started by a big one inherits its peak (``ru_maxrss`` survives fork and exec):
    the memory figures would be the parent's.
    """
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    """The peak RSS in MB since :func:`reset_peak_rss` (``VmHWM``)."""
    return _status_mb("VmHWM")


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table (the benchmark output pastes into bench/README.md)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("--:" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


class _FailedStreams(logging.Handler):
    """Collects the streams the SDK reports as failed ("An unhandled error ... '<stream>'")."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.names: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("An unhandled error occurred while syncing"):
            self.names.append(str(record.args[0]) if record.args else "")  # type: ignore[index]


def answerable(
    streams: list[str], probe: Callable[[list[str]], object]
) -> tuple[list[str], list[str]]:
    """Streams the fake can serve (one it cannot would abort the whole sync), and the others.

    ``probe`` syncs the given streams over a short window; a stream that fails is dropped and
    the probe run again. The synthesizing fake answers any day of a report it holds one
    recording of, so a short window tells the same as a long one.
    """
    logger = logging.getLogger("tap-matomo")
    level, propagate = logger.level, logger.propagate
    handler = _FailedStreams()
    logger.setLevel(logging.ERROR)
    logger.propagate = False  # the failures are listed by the caller, not logged
    logger.addHandler(handler)
    ok, failed = list(streams), []
    try:
        while ok:
            handler.names.clear()
            try:
                probe(ok)
                break
            except Exception as exc:
                name = handler.names[0] if handler.names else ""
                if name not in ok:
                    raise
                ok.remove(name)
                failed.append(f"`{name}`: {type(exc).__name__}: {str(exc)[:110]}")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
    return ok, failed


def print_left_out(failed: list[str], total: int | None = None) -> None:
    """List the streams a benchmark left out because the fake cannot answer them."""
    if not failed:
        return
    of = f" of {total}" if total is not None else ""
    print(f"\nLeft out: {len(failed)}{of} streams the fake cannot answer:")
    for line in failed:
        print(f"- {line}")
