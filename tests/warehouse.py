"""What the warehouse end-to-end tests share: the two runs of the tap, and piping them to a loader.

The tap reads the fake Matomo (three sites, 2026-11-24 to 26, every default stream, the visit
log, and a page URL of 10,000 characters with a metric no catalog entry names) in this process,
with the recordings' clock. A second run from the first run's state re-reads the same days
(``lookback_days``): the loader must upsert them. The loaders live in their own virtualenv,
``.venv-targets`` (their singer-sdk pins are theirs), which ``make test`` installs.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tap_matomo import dates
from tap_matomo.tap import TapMatomo
from tests import hand_built
from tests.conftest import RECORDED_NOW, SyncResult, base_config, run_sync
from tests.fake_live import FakeLive
from tests.fake_matomo import FakeMatomo
from tests.test_row_key import install_long_label

ROOT = Path(__file__).resolve().parent.parent
TARGETS_BIN = Path(os.environ.get("TARGETS_BIN", ROOT / ".venv-targets" / "bin"))
START, END = "2026-11-24", "2026-11-26"


def unavailable(reason: str) -> None:
    """Skip, saying why; under CI (``CI=true``) fail instead: CI must run these tests."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason}; CI must run this test (.ci/run and `make test` install it)")
    pytest.skip(f"{reason}: the warehouse end-to-end test needs it")


def loader(name: str) -> Path:
    """The loader's executable in ``.venv-targets`` (skips or fails when it is missing)."""
    path = TARGETS_BIN / name
    if not path.exists():
        unavailable(f"{path} is missing (`make test` installs it in .venv-targets)")
    return path


@dataclass
class Runs:
    """The two runs' messages, in the order they were loaded."""

    first: SyncResult
    second: SyncResult

    def streams_with_rows(self) -> set[str]:
        return {stream for stream, records in self.first.records.items() if records}

    def key(self, stream: str) -> list[str]:
        return list(self.first.schema(stream)["key_properties"])

    def distinct_keys(self, stream: str) -> int:
        """Rows the loaded table must hold: one per primary key over both runs."""
        key = self.key(stream)
        return len(
            {
                tuple(record[k] for k in key)
                for run in (self.first, self.second)
                for record in run.records[stream]
            }
        )


def pipe(target: Path, config: dict[str, object], result: SyncResult, workdir: Path) -> None:
    """Load a run's Singer messages with the loader; fail with its last lines."""
    config_file = workdir / f"{target.name}.json"
    config_file.write_text(json.dumps(config))
    lines = "".join(json.dumps(message) + "\n" for message in result.messages)
    done = subprocess.run(
        [str(target), "--config", str(config_file)],
        input=lines,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        cwd=workdir,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def load_twice(target: Path, config: dict[str, object], workdir: Path) -> Runs:
    """Run the tap twice against the fake, loading each run's messages with the loader."""
    with pytest.MonkeyPatch.context() as patch, FakeMatomo(synthesize=True) as fake:
        patch.setattr(dates, "utc_now", lambda: RECORDED_NOW)
        hand_built.install(fake)
        fake.handlers["Live.getLastVisitsDetails"] = FakeLive()
        install_long_label(fake)
        tap_config = base_config(fake, start_date=START, end_date=END)
        first = run_sync(tap_config)
        pipe(target, config, first, workdir)
        second = run_sync(tap_config, state=first.final_state)
        pipe(target, config, second, workdir)
    return Runs(first, second)


def default_streams() -> set[str]:
    tap = TapMatomo(config={}, parse_env_config=False, validate_config=False)
    return {name for name, stream in tap.streams.items() if stream.selected_by_default}


def json_type(prop: dict[str, object]) -> str:
    """``date``, ``date-time`` or the one non-null JSON type of a property."""
    if prop.get("format") in ("date", "date-time"):
        return str(prop["format"])
    types = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
    (kind,) = [t for t in types if t != "null"]
    return str(kind)
