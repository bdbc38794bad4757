"""End to end into DuckDB with the embedded default loader of `make run`, twice.

The loader is the one meltano.yml installs (target-duckdb 0.8.0 with duckdb 1.2.2; README,
Warehouses, says why), here from ``.venv-targets`` (``make test`` installs the same pins, and a
test below checks they are meltano.yml's). The runs are those of tests/warehouse.py.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.test_row_key import LONG_LABEL, PLUGIN_METRIC
from tests.warehouse import ROOT, TARGETS_BIN, Runs, json_type, load_twice, loader

SCHEMA = "tap_matomo"

#: The DuckDB type each JSON schema type lands as with target-duckdb 0.8.0. Dates are text:
#: 0.8.0 has no mapping for `format: date` (ISO text sorts and compares as dates;
#: `date::DATE` casts, checked below).
EXPECTED_TYPES = {
    "date": "VARCHAR",
    "date-time": "TIMESTAMP",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "string": "VARCHAR",
    "array": "JSON",
    "object": "JSON",
}

_QUERY = (
    "import duckdb, json, sys\n"
    "con = duckdb.connect(sys.argv[1], read_only=True)\n"
    "print(json.dumps(con.execute(sys.argv[2]).fetchall(), default=str))\n"
)


class DuckDB:
    """The loaded database file, queried with the loader's own duckdb."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def query(self, sql: str) -> list[list[Any]]:
        done = subprocess.run(
            [str(TARGETS_BIN / "python"), "-c", _QUERY, str(self.path), sql],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(done.stdout)

    def count(self, sql: str) -> int:
        return int(self.query(sql)[0][0])


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[DuckDB, Runs]:
    target = loader("target-duckdb")
    workdir = tmp_path_factory.mktemp("target-duckdb")
    database = workdir / "matomo.duckdb"
    config = {"filepath": str(database), "default_target_schema": SCHEMA}
    runs = load_twice(target, config, workdir)
    return DuckDB(database), runs


@pytest.mark.parametrize(
    ("name", "variable"),
    [("target-duckdb", "TARGET_DUCKDB_PIP"), ("target-postgres", "TARGET_POSTGRES_PIP")],
)
def test_the_tested_loaders_are_the_ones_meltano_installs(name: str, variable: str) -> None:
    meltano = yaml.safe_load((ROOT / "meltano.yml").read_text())
    plugin = next(p for p in meltano["plugins"]["loaders"] if p["name"] == name)
    makefile = (ROOT / "Makefile").read_text()
    match = re.search(rf"^{variable} \?= (.+)$", makefile, re.MULTILINE)
    assert match, f"Makefile: {variable}"
    assert plugin["pip_url"] == match.group(1)
    assert "mappers" not in meltano["plugins"]  # no key workaround between tap and loader


def test_every_row_loads_with_its_key(loaded: tuple[DuckDB, Runs]) -> None:
    """No row lost (duckdb 1.3+ loses one per batch in 0.8.0's CSV load), no duplicate."""
    duckdb, runs = loaded
    keys = {
        table: columns
        for table, columns in duckdb.query(
            "select table_name, constraint_column_names from duckdb_constraints() "
            f"where schema_name = '{SCHEMA}' and constraint_type = 'PRIMARY KEY'"
        )
    }
    with_rows = runs.streams_with_rows()
    assert len(with_rows) >= 60
    for stream in sorted(with_rows):
        assert duckdb.count(f'select count(*) from {SCHEMA}."{stream}"') == runs.distinct_keys(
            stream
        ), stream
        assert keys[stream] == runs.key(stream), stream
    assert keys["actions_page_urls"] == ["site_id", "period", "date", "row_key"]
    summary = {
        (r["site_id"], r["date"]): r["nb_visits"] for r in runs.second.records["visits_summary"]
    }
    loaded_summary = duckdb.query(f"select site_id, date, nb_visits from {SCHEMA}.visits_summary")
    assert {(s, d): v for s, d, v in loaded_summary} == summary


def test_columns_have_the_loaders_types(loaded: tuple[DuckDB, Runs]) -> None:
    duckdb, runs = loaded
    columns = {
        (table, column): kind
        for table, column, kind in duckdb.query(
            "select table_name, column_name, data_type from information_schema.columns "
            f"where table_schema = '{SCHEMA}'"
        )
    }
    checked: set[str] = set()
    for stream in runs.streams_with_rows():
        for name, prop in runs.first.schema(stream)["schema"]["properties"].items():
            expected = EXPECTED_TYPES[json_type(prop)]
            # target-duckdb lower-cases column names (`PagePerformance_network_time`).
            assert columns[(stream, name.lower())] == expected, (stream, name, prop)
            checked.add(expected)
    assert checked == set(EXPECTED_TYPES.values())
    assert columns[("visits_summary", "nb_visits")] == "BIGINT"  # not HUGEINT: bounded
    not_dates = duckdb.count(
        f"select count(*) from {SCHEMA}.visits_summary "
        "where try_cast(date as DATE) is null or try_cast(end_date as DATE) is null"
    )
    assert not_dates == 0


def test_a_10000_character_label_loads(loaded: tuple[DuckDB, Runs]) -> None:
    duckdb, _runs = loaded
    rows = duckdb.query(
        "select length(label), row_key = md5(label), other_metrics "
        f"from {SCHEMA}.actions_page_urls where length(label) > 2704"
    )
    assert len(rows) == 3 * 3  # three sites, three days
    for length, md5_matches, metric in rows:
        assert (length, md5_matches) == (len(LONG_LABEL), True)
        assert json.loads(metric) == [{"name": PLUGIN_METRIC, "value": 7}]
    # The documented SQL for `row_key` (target-duckdb stores "" as NULL, hence coalesce).
    mismatches = (
        f"select count(*) from {SCHEMA}.actions_page_urls where row_key <> md5(coalesce(label, ''))"
    )
    assert duckdb.count(mismatches) == 0
    assert duckdb.count(f"select count(*) from {SCHEMA}.actions_page_urls") > 9
    assert (
        duckdb.count(f"select count(*) from {SCHEMA}.actions_page_urls where other_metrics is null")
        == duckdb.count(f"select count(*) from {SCHEMA}.actions_page_urls") - 9
    )
