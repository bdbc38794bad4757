"""The fault suite: syncs through a Matomo having a bad day lose no row and duplicate none.

The fake injects every fault kind of ``tests/faults.py`` (HTTP 5xx and 429 with and without
Retry-After, HTML pages, truncated JSON, connection resets, answers not whole within
`request_timeout` (slow, or trickling in), Matomo's database and PHP limit errors as whole
answers and as bulk sub-answers) into 30 % of the requests and sub-answers; and a real
``tap-matomo`` process is killed with SIGKILL mid-run and resumed from its last STATE message.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SyncResult, base_config, catalog_selecting, run_sync
from tests.fake_live import FakeLive
from tests.fake_matomo import TOKEN, FakeMatomo
from tests.faults import KINDS, FaultPlan

LIVE = "Live.getLastVisitsDetails"
#: Sites, goals, report streams (bulk requests) and the visit log (paged single requests).
STREAMS = {
    "sites",
    "goals",
    "visits_summary",
    "referrers_search_engines",
    "devices_types",
    "user_country_countries",
    "visits",
    "visit_actions",
}
SEEDS = (1, 2, 3)


def fault_config(server: FakeMatomo, **overrides: Any) -> dict[str, Any]:
    """The last recorded week of 3 sites, in many small requests, with room for bad luck.

    At a 30 % fault rate a request fails 10 times in a row once in 170,000 tries.
    """
    return base_config(
        server,
        bulk_request_size=2,
        visits_page_size=5,
        request_timeout=1,
        max_tries=10,
        **overrides,
    )


def matomo(plan: FaultPlan | None = None) -> FakeMatomo:
    """The recorded server (missing periods filled in), Live emulated, faults injected."""
    server = FakeMatomo(synthesize=True, fault_plan=plan)
    server.handlers[LIVE] = FakeLive()
    return server


@pytest.fixture(scope="module")
def clean() -> Iterator[SyncResult]:
    """The sync on a good day, the reference of every test here."""
    with pytest.MonkeyPatch.context() as patch:
        from tap_matomo import dates
        from tests.conftest import RECORDED_NOW

        patch.setattr(dates, "utc_now", lambda: RECORDED_NOW)
        with matomo() as server:
            yield run_sync(fault_config(server), streams=STREAMS)


def test_syncs_through_30_percent_mixed_faults_emit_the_records_of_a_clean_sync(
    clean: SyncResult, caplog: pytest.LogCaptureFixture
) -> None:
    assert all(clean.records[stream] for stream in STREAMS)
    injected: set[str] = set()
    for seed in SEEDS:
        plan = FaultPlan(rate=0.3, seed=seed)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="tap-matomo"), matomo(plan) as server:
            result = run_sync(fault_config(server), streams=STREAMS, allow_failure=True)
        assert result.error is None, (seed, result.error)
        assert result.records == clean.records, seed  # the same rows, in the same order
        assert result.final_state == clean.final_state, seed
        assert sum(plan.injected.values()) >= 8, (seed, plan.injected)
        retries = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Retry")]
        assert len(retries) >= sum(plan.injected.values()) - plan.injected["bulk_sub_answer"]
        if plan.injected["http_503_retry_after"] + plan.injected["http_429_json_retry_after"]:
            assert any(" in 1.0s " in line for line in retries), seed  # Retry-After, not 0 s
        assert TOKEN not in caplog.text
        injected |= set(plan.injected)
    assert injected == set(KINDS)  # every kind of fault met, and got past


# -- killed with SIGKILL, resumed from the last STATE ------------------------------------------


def tap_process(workdir: Path, name: str, state: dict[str, Any] | None) -> subprocess.Popen:
    """``tap-matomo`` as a scheduler starts it, its messages going to ``<name>.out``."""
    command = [
        sys.executable,
        "-m",
        "tap_matomo",
        "--config",
        str(workdir / "config.json"),
        "--catalog",
        str(workdir / "catalog.json"),
    ]
    if state is not None:
        (workdir / f"{name}.state.json").write_text(json.dumps(state))
        command += ["--state", str(workdir / f"{name}.state.json")]
    with (workdir / f"{name}.out").open("w") as out, (workdir / f"{name}.err").open("w") as err:
        return subprocess.Popen(command, stdout=out, stderr=err, env=os.environ.copy())


def messages(path: Path) -> list[dict[str, Any]]:
    """The complete Singer messages in an output file (a line cut by SIGKILL is left out)."""
    found = []
    for line in path.read_text().splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found


def keys(found: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """Every (stream, primary key) the messages emitted."""
    key_properties = {m["stream"]: m["key_properties"] for m in found if m["type"] == "SCHEMA"}
    return {
        (m["stream"], json.dumps([m["record"][k] for k in key_properties[m["stream"]]]))
        for m in found
        if m["type"] == "RECORD"
    }


def last_state(found: list[dict[str, Any]]) -> dict[str, Any] | None:
    states = [m["value"] for m in found if m["type"] == "STATE"]
    return states[-1] if states else None


def run_until(workdir: Path, name: str, state: dict[str, Any] | None, lines: int | None) -> bool:
    """Run the tap; with ``lines``, SIGKILL it once it has written that many lines.

    Returns whether it was killed while still running.
    """
    process = tap_process(workdir, name, state)
    out = workdir / f"{name}.out"
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if lines is not None and out.read_bytes().count(b"\n") >= lines:
            process.send_signal(signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.002)
    process.wait(timeout=5)
    assert process.returncode == 0, (workdir / f"{name}.err").read_text()[-3000:]
    return False


@dataclass
class Served:
    """A fake Matomo for tap processes: their files, and what a run that is not killed emits."""

    workdir: Path
    keys: set[tuple[str, str]]
    final_state: dict[str, Any] | None


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    workdir = tmp_path_factory.mktemp("killed")
    with matomo() as server:
        config = fault_config(server)
        (workdir / "config.json").write_text(json.dumps(config))
        (workdir / "catalog.json").write_text(json.dumps(catalog_selecting(config, STREAMS)))
        assert not run_until(workdir, "clean", None, None)
        found = messages(workdir / "clean.out")
        yield Served(workdir, keys(found), last_state(found))


#: Lines written before each SIGKILL (of the first run, then of each resumed run). A clean run
#: writes about 1,100 lines: 3 report streams (~720 lines, one STATE at the end of each), the
#: goals and sites, then visits and their actions (a STATE after each page of visits).
KILL_POINTS = [(300,), (760, 60, 40)]


@pytest.mark.parametrize("kill_after_lines", KILL_POINTS, ids=lambda p: "-".join(map(str, p)))
def test_a_sync_killed_and_resumed_from_its_last_state_loses_no_key(
    served: Served, kill_after_lines: tuple[int, ...]
) -> None:
    workdir, expected = served.workdir, served.keys
    name = "run" + "_".join(map(str, kill_after_lines))
    emitted: set[tuple[str, str]] = set()
    state: dict[str, Any] | None = None
    for attempt, lines in enumerate(kill_after_lines):
        killed = run_until(workdir, f"{name}.{attempt}", state, lines)
        assert killed, f"the tap ended before writing {lines} lines"
        found = messages(workdir / f"{name}.{attempt}.out")
        emitted |= keys(found)
        state = last_state(found) or state
    assert not run_until(workdir, f"{name}.last", state, None)
    found = messages(workdir / f"{name}.last.out")
    emitted |= keys(found)
    assert emitted == expected
    assert last_state(found) == served.final_state


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_a_sync_stopped_by_a_signal_fails_and_resumes_from_its_last_state(
    served: Served, signum: signal.Signals
) -> None:
    """A scheduler's stop (SIGTERM) or Ctrl-C: exit 128 + signal, one ERROR line, a last STATE.

    The SDK exited with 0, so a stopped run passed for a complete one. The run resumed from
    that STATE emits every key of a run never stopped, and ends with the same state.
    """
    workdir = served.workdir
    name = f"stopped_{signum.name}"
    process = tap_process(workdir, name, None)
    out = workdir / f"{name}.out"
    deadline = time.monotonic() + 120
    while process.poll() is None and out.read_bytes().count(b"\n") < 300:
        assert time.monotonic() < deadline
        time.sleep(0.002)
    process.send_signal(signum)
    assert process.wait(timeout=30) == 128 + signum
    stderr = (workdir / f"{name}.err").read_text()
    errors = [line for line in stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1, stderr[-2000:]
    assert f"Stopped by {signum.name}" in errors[0]
    assert "Traceback" not in stderr
    found = messages(out)
    # the SDK writes a last STATE when the state changed since the one before
    assert last_state(found) is not None
    emitted = keys(found)
    assert emitted < served.keys  # stopped before the end
    assert not run_until(workdir, f"{name}.resumed", last_state(found), None)
    resumed = messages(workdir / f"{name}.resumed.out")
    assert emitted | keys(resumed) == served.keys
    assert last_state(resumed) == served.final_state


# -- the wrong server, at the command line ----------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "named"),
    [
        (200, "<!DOCTYPE html><html><body>Welcome to our shop</body></html>", "an HTML page"),
        (404, '{"detail": "Not Found"}', "HTTP 404"),
        (200, '{"status": "ok", "version": "2.1"}', "JSON that is not Matomo's"),
    ],
)
def test_a_server_that_is_not_matomo_is_one_line_naming_url(
    fake: FakeMatomo, tmp_path: Path, status: int, body: str, named: str
) -> None:
    """One request, one ERROR line that starts with `url`, no traceback, no credentials."""
    fake.fail_next(status, body, content_type="text/html" if "<" in body else "application/json")
    url = fake.url.replace("http://", "http://etl:pa55word-42@")
    config = base_config(fake, url=url, max_tries=5, retry_wait_seconds=2)
    (tmp_path / "config.json").write_text(json.dumps(config))
    result = subprocess.run(
        [sys.executable, "-m", "tap_matomo", "--config", str(tmp_path / "config.json")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1, errors
    assert "`url`:" in errors[0]
    assert named in errors[0]
    assert "Traceback" not in result.stderr
    for secret in ("pa55word-42", "etl:", TOKEN):
        assert secret not in result.stderr + result.stdout
    assert len(fake.requests) == 1
