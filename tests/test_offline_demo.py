"""`make run-offline`'s wrapper: a command run against the fake Matomo gets working settings."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from tests.conftest import catalog_selecting

ROOT = Path(__file__).resolve().parent.parent
TAP = Path(sys.executable).with_name("tap-matomo")


def test_the_tap_reads_the_recorded_month_through_the_wrapper(tmp_path: Path) -> None:
    config = {"url": "http://127.0.0.1:1", "token_auth": "x", "site_ids": [1]}
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps(catalog_selecting(config, {"sites", "visits_summary"})))
    result = subprocess.run(
        [
            sys.executable,
            "scripts/with_fake_matomo.py",
            str(TAP),
            "--config",
            "ENV",
            "--catalog",
            str(catalog),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    records = [
        json.loads(line)["record"] | {"stream": json.loads(line)["stream"]}
        for line in result.stdout.splitlines()
        if json.loads(line)["type"] == "RECORD"
    ]
    per_stream = Counter(record["stream"] for record in records)
    assert per_stream == {"sites": 3, "visits_summary": 3 * 26}  # 2026-11-01 to 2026-11-26
    summary = [r for r in records if r["stream"] == "visits_summary"]
    assert {r["date"] for r in summary} == {f"2026-11-{day:02d}" for day in range(1, 27)}


def test_connection_test_passes_without_error_lines() -> None:
    """`tap-matomo --test` reads one record per stream: the SDK's deliberate stop after that
    record is not reported as an error.
    """
    result = subprocess.run(
        [sys.executable, "scripts/with_fake_matomo.py", str(TAP), "--config", "ENV", "--test"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "| ERROR" not in result.stderr
    assert "Beginning sync of 'visits_summary'" in result.stderr
