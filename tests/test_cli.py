"""The command line as users run it: about, discovery, and failures that say what to fix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tap_matomo.settings_schema import CONFIG_SCHEMA
from tests.fake_matomo import TOKEN, FakeMatomo


def tap(*args: str, config: dict[str, Any] | None = None, tmp_path: Path | None = None):
    command = [sys.executable, "-m", "tap_matomo", *args]
    if config is not None:
        assert tmp_path is not None
        path = tmp_path / "config.json"
        path.write_text(json.dumps(config))
        command += ["--config", str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if " ERROR " in line or line.startswith("ERROR")]


def test_about_lists_every_setting() -> None:
    result = tap("--about", "--format=markdown")
    assert result.returncode == 0, result.stderr
    for name in CONFIG_SCHEMA.to_dict()["properties"]:
        assert f"| {name} |" in result.stdout


def test_discover_works_offline_without_config() -> None:
    result = tap("--discover")
    assert result.returncode == 0, result.stderr
    catalog = json.loads(result.stdout)
    names = {entry["tap_stream_id"] for entry in catalog["streams"]}
    assert {"sites", "goals", "visits_summary"} <= names
    assert TOKEN not in result.stdout


def test_wrong_token_one_error_line_exit_1_one_request(fake: FakeMatomo, tmp_path: Path) -> None:
    config = {
        "url": fake.url,
        "token_auth": "not-the-right-token-000000000000",
        "site_ids": [1],
        "start_date": "2026-11-20",
        "end_date": "2026-11-21",
    }
    result = tap(config=config, tmp_path=tmp_path)

    assert result.returncode == 1
    assert len(fake.requests) == 1
    errors = error_lines(result.stderr)
    assert any("Unable to authenticate" in line and "`token_auth`" in line for line in errors)
    assert "Traceback" not in result.stderr
    assert "not-the-right-token" not in result.stderr + result.stdout
    assert '"type":"RECORD"' not in result.stdout.replace(" ", "")


def test_a_target_that_stops_reading_gets_one_line_not_a_bug_report(tmp_path: Path) -> None:
    """`tap-matomo | target` where the target dies: one ERROR line naming the output, exit 1."""
    with FakeMatomo(synthesize=True) as server:
        config = {"url": server.url, "token_auth": TOKEN, "site_ids": [1, 2, 3]}
        config |= {"start_date": "2026-11-01", "end_date": "2026-11-26"}
        path = tmp_path / "config.json"
        path.write_text(json.dumps(config))
        command = [sys.executable, "-m", "tap_matomo", "--config", str(path)]
        with subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as process:
            assert process.stdout is not None
            assert process.stdout.readline().startswith('{"type":"SCHEMA"')
            process.stdout.close()  # the target died after its first line
            _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1
    errors = error_lines(stderr)
    assert len(errors) == 1, stderr[-2000:]
    assert "broken pipe" in errors[0]
    assert "bug" not in errors[0]
    assert "Traceback" not in stderr
    assert "Exception ignored" not in stderr
    assert TOKEN not in stderr


@pytest.mark.parametrize("args", [(), ("--discover",)])
def test_a_closed_standard_output_is_one_line(
    fake: FakeMatomo, tmp_path: Path, args: tuple[str, ...]
) -> None:
    """`tap-matomo >&-` (a scheduler that gives it no output): one line, no request."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"url": fake.url, "token_auth": TOKEN, "site_ids": [1]}))
    command = [sys.executable, "-m", "tap_matomo", "--config", str(path), *args]
    result = subprocess.run(
        command,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=lambda: os.close(1),  # the child starts without fd 1
    )
    assert result.returncode == 1
    errors = error_lines(result.stderr)
    assert len(errors) == 1, result.stderr[-2000:]
    assert "standard output is closed" in errors[0]
    assert "bug" not in errors[0]
    assert "Traceback" not in result.stderr
    assert fake.requests == []


def test_unreachable_server_fails_clearly(tmp_path: Path) -> None:
    config = {
        "url": "http://127.0.0.1:9",
        "token_auth": TOKEN,
        "site_ids": [1],
        "max_tries": 2,
        "retry_wait_seconds": 0,
    }
    result = tap(config=config, tmp_path=tmp_path)
    assert result.returncode == 1
    assert any("could not reach Matomo" in line for line in error_lines(result.stderr))
    assert "Traceback" not in result.stderr
    assert TOKEN not in result.stderr


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"site_ids": None}, "`site_ids` or `all_sites`"),
        ({"all_sites": True}, "`site_ids` and `all_sites`"),
        ({"url": "matomo.example.com"}, "`url`"),
        ({"start_date": "2026-13-45"}, "`start_date`"),
        ({"end_date": "2026-11-01"}, "`end_date`"),
        ({"start_days_back": 3}, "`start_date` and `start_days_back`"),
        ({"period": "fortnight"}, "period"),
        ({"period_overrides": {"no_such_stream": "week"}}, "`period_overrides`"),
    ],
)
def test_bad_settings_fail_before_any_request(
    fake: FakeMatomo, tmp_path: Path, overrides: dict[str, Any], named: str
) -> None:
    config = {
        "url": fake.url,
        "token_auth": TOKEN,
        "site_ids": [1],
        "start_date": "2026-11-20",
        **overrides,
    }
    config = {k: v for k, v in config.items() if v is not None}
    result = tap(config=config, tmp_path=tmp_path)
    assert result.returncode == 1
    assert named in result.stderr
    assert fake.requests == []


def test_unknown_site_is_named(fake: FakeMatomo, tmp_path: Path) -> None:
    config = {"url": fake.url, "token_auth": TOKEN, "site_ids": [1, 7], "start_date": "2026-11-20"}
    result = tap(config=config, tmp_path=tmp_path)
    assert result.returncode == 1
    assert any("`site_ids`: site(s) 7" in line for line in error_lines(result.stderr))
    assert len(fake.requests) == 1
