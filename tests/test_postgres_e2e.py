"""End to end into a real PostgreSQL: tap-matomo -> MeltanoLabs target-postgres, twice.

The tap reads the fake Matomo (three sites, 2026-11-24 to 26, every default stream, the visit
log, and a page URL of 10,000 characters) in this process with the recordings' clock; its Singer
messages go to target-postgres (its own virtualenv, ``.venv-targets``, which ``make test``
installs) loading a throwaway PostgreSQL on loopback (tests/postgres.py). A second run from the
first run's state re-reads the same days (``lookback_days``) and must upsert them.

Without PostgreSQL's server binaries the tests skip, saying so; under CI (``CI=true``) they
fail instead, since .ci/run installs PostgreSQL.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tap_matomo import dates
from tap_matomo.tap import TapMatomo
from tests import hand_built
from tests.conftest import RECORDED_NOW, SyncResult, base_config, run_sync
from tests.fake_live import FakeLive
from tests.fake_matomo import FakeMatomo
from tests.postgres import ThrowawayPostgres, find_bindir
from tests.test_row_key import LONG_LABEL, PLUGIN_METRIC, install_long_label

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("TARGET_POSTGRES", ROOT / ".venv-targets" / "bin" / "target-postgres"))
SCHEMA = "tap_matomo"
START, END = "2026-11-24", "2026-11-26"

#: The PostgreSQL type each JSON schema type of the tap lands as.
EXPECTED_TYPES = {
    "date": "date",
    "date-time": "timestamp without time zone",
    "integer": "bigint",
    "number": "numeric",
    "boolean": "boolean",
    "string": "text",
    "array": "ARRAY",
    "object": "jsonb",
}


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason}; CI must run this test (.ci/run installs PostgreSQL)")
    pytest.skip(f"{reason}: the PostgreSQL end-to-end test needs it")


@pytest.fixture(scope="module")
def postgres() -> Iterator[ThrowawayPostgres]:
    bindir = find_bindir()
    if bindir is None:
        _unavailable("PostgreSQL is not installed (Debian package `postgresql`)")
    if not TARGET.exists():
        _unavailable(f"{TARGET} is missing (`make test` installs it in .venv-targets)")
    assert bindir is not None
    with ThrowawayPostgres(bindir) as server:
        yield server


@dataclass
class Loads:
    """The two runs' messages, as loaded."""

    first: SyncResult
    second: SyncResult


def _load(server: ThrowawayPostgres, result: SyncResult, config: Path) -> None:
    """Pipe a run's Singer messages into target-postgres; fail with its last lines."""
    lines = "".join(json.dumps(message) + "\n" for message in result.messages)
    done = subprocess.run(
        [str(TARGET), "--config", str(config)],
        input=lines,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def loads(postgres: ThrowawayPostgres, tmp_path_factory: pytest.TempPathFactory) -> Loads:
    config_file = tmp_path_factory.mktemp("target") / "target-postgres.json"
    config_file.write_text(json.dumps(postgres.target_config(SCHEMA)))
    with pytest.MonkeyPatch.context() as patch, FakeMatomo(synthesize=True) as fake:
        patch.setattr(dates, "utc_now", lambda: RECORDED_NOW)
        hand_built.install(fake)
        fake.handlers["Live.getLastVisitsDetails"] = FakeLive()
        install_long_label(fake)
        config = base_config(fake, start_date=START, end_date=END)
        first = run_sync(config)
        _load(postgres, first, config_file)
        second = run_sync(config, state=first.final_state)
        _load(postgres, second, config_file)
    return Loads(first, second)


def _key(result: SyncResult, stream: str) -> list[str]:
    return list(result.schema(stream)["key_properties"])


def _count(server: ThrowawayPostgres, sql: str) -> int:
    return int(server.query(sql)[0][0])


def _default_streams() -> set[str]:
    tap = TapMatomo(config={}, parse_env_config=False, validate_config=False)
    return {name for name, stream in tap.streams.items() if stream.selected_by_default}


def test_every_default_stream_loads_every_row(postgres: ThrowawayPostgres, loads: Loads) -> None:
    with_rows = {stream for stream, records in loads.first.records.items() if records}
    assert with_rows <= _default_streams()
    assert len(with_rows) >= 60, sorted(_default_streams() - with_rows)
    tables = {
        row[0]
        for row in postgres.query(
            f"select table_name from information_schema.tables where table_schema = '{SCHEMA}'"
        )
    }
    assert with_rows <= tables
    for stream in sorted(with_rows):
        key = _key(loads.first, stream)
        expected = {
            tuple(record[k] for k in key)
            for run in (loads.first, loads.second)
            for record in run.records[stream]
        }
        assert _count(postgres, f'select count(*) from {SCHEMA}."{stream}"') == len(expected), (
            stream
        )


def test_primary_keys_are_the_streams_keys(postgres: ThrowawayPostgres, loads: Loads) -> None:
    rows = postgres.query(
        "select tc.table_name, kcu.column_name from information_schema.table_constraints tc "
        "join information_schema.key_column_usage kcu using (constraint_schema, constraint_name) "
        f"where tc.constraint_type = 'PRIMARY KEY' and tc.table_schema = '{SCHEMA}' "
        "order by tc.table_name, kcu.ordinal_position"
    )
    keys: dict[str, list[str]] = {}
    for table, column in rows:
        keys.setdefault(table, []).append(column)
    for stream, records in loads.first.records.items():
        if records:
            assert keys[stream] == _key(loads.first, stream), stream
    assert keys["actions_page_urls"] == ["site_id", "period", "date", "row_key"]


def _json_type(prop: dict[str, Any]) -> str:
    if prop.get("format") in ("date", "date-time"):
        return str(prop["format"])
    types = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
    (kind,) = [t for t in types if t != "null"]
    return str(kind)


def test_columns_have_the_types_of_the_schema(postgres: ThrowawayPostgres, loads: Loads) -> None:
    rows = postgres.query(
        "select table_name, column_name, data_type from information_schema.columns "
        f"where table_schema = '{SCHEMA}'"
    )
    columns = {(table, column): kind for table, column, kind in rows}
    checked: dict[str, int] = {}
    for stream, records in loads.first.records.items():
        if not records:
            continue
        for name, prop in loads.first.schema(stream)["schema"]["properties"].items():
            expected = EXPECTED_TYPES[_json_type(prop)]
            assert columns[(stream, name)] == expected, (stream, name, prop)
            checked[expected] = checked.get(expected, 0) + 1
    assert columns[("visits_summary", "date")] == "date"
    assert columns[("visits_summary", "end_date")] == "date"
    assert columns[("visits_summary", "nb_visits")] == "bigint"
    assert columns[("visits_summary", "bounce_rate")] == "numeric"
    assert set(checked) == set(EXPECTED_TYPES.values())


def test_second_run_upserts_without_duplicates(postgres: ThrowawayPostgres, loads: Loads) -> None:
    again = {stream for stream, records in loads.second.records.items() if records}
    assert "actions_page_urls" in again
    assert len(again) >= 60
    for stream in sorted(again):
        key = ", ".join(f'"{k}"' for k in _key(loads.second, stream))
        total = _count(postgres, f'select count(*) from {SCHEMA}."{stream}"')
        distinct = _count(postgres, f'select count(distinct ({key})) from {SCHEMA}."{stream}"')
        assert total == distinct, stream
        assert total >= len(loads.second.records[stream]), stream
    summary = {
        (r["site_id"], r["date"]): r["nb_visits"] for r in loads.second.records["visits_summary"]
    }
    loaded = postgres.query(
        f"select site_id, date, nb_visits from {SCHEMA}.visits_summary order by site_id, date"
    )
    assert {(int(s), d): int(v) for s, d, v in loaded} == summary
    assert len(summary) == 9  # three sites, three days


def test_a_10000_character_label_loads(postgres: ThrowawayPostgres, loads: Loads) -> None:
    rows = postgres.query(
        "select site_id, date, length(label), row_key = md5(label), other_metrics[1] "
        f"from {SCHEMA}.actions_page_urls where length(label) > 2704 order by site_id, date"
    )
    assert len(rows) == 3 * 3  # three sites, three days
    for _site, _day, length, md5_matches, metric in rows:
        assert (length, md5_matches) == (str(len(LONG_LABEL)), "t")
        assert json.loads(metric) == {"name": PLUGIN_METRIC, "value": 7}
    # The documented SQL for `row_key` holds for every row keyed by its label alone.
    assert (
        _count(
            postgres, f"select count(*) from {SCHEMA}.actions_page_urls where row_key <> md5(label)"
        )
        == 0
    )


def test_missing_values_are_sql_null(postgres: ThrowawayPostgres, loads: Loads) -> None:
    """`other_metrics` and `goals` without values are NULL, not a JSON null."""
    nulls, json_nulls = postgres.query(
        "select count(*) filter (where other_metrics is null), "
        "count(*) filter (where 'null'::jsonb = any(other_metrics)) "
        f"from {SCHEMA}.actions_page_urls"
    )[0]
    assert int(nulls) > 0
    assert int(json_nulls) == 0
    records = {
        (r["site_id"], r["date"], r["row_key"]): r
        for run in (loads.first, loads.second)
        for r in run.records["actions_page_urls"]
    }
    without_goals = sum(r["goals"] is None for r in records.values())
    assert 0 < without_goals < len(records)
    assert (
        _count(postgres, f"select count(*) from {SCHEMA}.actions_page_urls where goals is null")
        == without_goals
    )
