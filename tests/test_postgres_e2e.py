"""End to end into a real PostgreSQL: tap-matomo -> MeltanoLabs target-postgres, twice.

The runs are those of tests/warehouse.py (three sites, three days, every default stream, a page
URL of 10,000 characters); the server is a throwaway cluster on loopback (tests/postgres.py).
Without PostgreSQL's server binaries the tests skip, saying so; under CI (``CI=true``) they
fail instead, since .ci/run installs PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.postgres import ThrowawayPostgres, find_bindir
from tests.test_row_key import LONG_LABEL, PLUGIN_METRIC
from tests.warehouse import Runs, default_streams, json_type, load_twice, loader, unavailable

SCHEMA = "tap_matomo"

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


@pytest.fixture(scope="module")
def postgres() -> Iterator[ThrowawayPostgres]:
    bindir = find_bindir()
    if bindir is None:
        unavailable("PostgreSQL is not installed (Debian package `postgresql`)")
    assert bindir is not None
    with ThrowawayPostgres(bindir) as server:
        yield server


@pytest.fixture(scope="module")
def runs(postgres: ThrowawayPostgres, tmp_path_factory: pytest.TempPathFactory) -> Runs:
    target = loader("target-postgres")
    workdir = tmp_path_factory.mktemp("target-postgres")
    return load_twice(target, postgres.target_config(SCHEMA), workdir)


def _count(server: ThrowawayPostgres, sql: str) -> int:
    return int(server.query(sql)[0][0])


def test_every_default_stream_loads_every_row(postgres: ThrowawayPostgres, runs: Runs) -> None:
    with_rows = runs.streams_with_rows()
    assert with_rows <= default_streams()
    assert len(with_rows) >= 60, sorted(default_streams() - with_rows)
    tables = {
        row[0]
        for row in postgres.query(
            f"select table_name from information_schema.tables where table_schema = '{SCHEMA}'"
        )
    }
    assert with_rows <= tables
    for stream in sorted(with_rows):
        loaded = _count(postgres, f'select count(*) from {SCHEMA}."{stream}"')
        assert loaded == runs.distinct_keys(stream), stream


def test_primary_keys_are_the_streams_keys(postgres: ThrowawayPostgres, runs: Runs) -> None:
    rows = postgres.query(
        "select tc.table_name, kcu.column_name from information_schema.table_constraints tc "
        "join information_schema.key_column_usage kcu using (constraint_schema, constraint_name) "
        f"where tc.constraint_type = 'PRIMARY KEY' and tc.table_schema = '{SCHEMA}' "
        "order by tc.table_name, kcu.ordinal_position"
    )
    keys: dict[str, list[str]] = {}
    for table, column in rows:
        keys.setdefault(table, []).append(column)
    for stream in runs.streams_with_rows():
        assert keys[stream] == runs.key(stream), stream
    assert keys["actions_page_urls"] == ["site_id", "period", "date", "row_key"]


def test_columns_have_the_types_of_the_schema(postgres: ThrowawayPostgres, runs: Runs) -> None:
    rows = postgres.query(
        "select table_name, column_name, data_type from information_schema.columns "
        f"where table_schema = '{SCHEMA}'"
    )
    columns = {(table, column): kind for table, column, kind in rows}
    checked: set[str] = set()
    for stream in runs.streams_with_rows():
        for name, prop in runs.first.schema(stream)["schema"]["properties"].items():
            expected = EXPECTED_TYPES[json_type(prop)]
            assert columns[(stream, name)] == expected, (stream, name, prop)
            checked.add(expected)
    assert columns[("visits_summary", "date")] == "date"
    assert columns[("visits_summary", "end_date")] == "date"
    assert columns[("visits_summary", "nb_visits")] == "bigint"
    assert columns[("visits_summary", "bounce_rate")] == "numeric"
    assert checked == set(EXPECTED_TYPES.values())


def test_second_run_upserts_without_duplicates(postgres: ThrowawayPostgres, runs: Runs) -> None:
    again = {stream for stream, records in runs.second.records.items() if records}
    assert "actions_page_urls" in again
    assert len(again) >= 60
    for stream in sorted(again):
        key = ", ".join(f'"{k}"' for k in runs.key(stream))
        total = _count(postgres, f'select count(*) from {SCHEMA}."{stream}"')
        distinct = _count(postgres, f'select count(distinct ({key})) from {SCHEMA}."{stream}"')
        assert total == distinct, stream
        assert total >= len(runs.second.records[stream]), stream
    summary = {
        (r["site_id"], r["date"]): r["nb_visits"] for r in runs.second.records["visits_summary"]
    }
    loaded = postgres.query(
        f"select site_id, date, nb_visits from {SCHEMA}.visits_summary order by site_id, date"
    )
    assert {(int(s), d): int(v) for s, d, v in loaded} == summary
    assert len(summary) == 9  # three sites, three days


def test_a_10000_character_label_loads(postgres: ThrowawayPostgres, runs: Runs) -> None:
    rows = postgres.query(
        "select site_id, date, length(label), row_key = md5(label), other_metrics[1] "
        f"from {SCHEMA}.actions_page_urls where length(label) > 2704 order by site_id, date"
    )
    assert len(rows) == 3 * 3  # three sites, three days
    for _site, _day, length, md5_matches, metric in rows:
        assert (length, md5_matches) == (str(len(LONG_LABEL)), "t")
        assert json.loads(metric) == {"name": PLUGIN_METRIC, "value": 7}
    # The documented SQL for `row_key` holds for every row keyed by its label alone.
    mismatches = f"select count(*) from {SCHEMA}.actions_page_urls where row_key <> md5(label)"
    assert _count(postgres, mismatches) == 0


def test_missing_values_are_sql_null(postgres: ThrowawayPostgres, runs: Runs) -> None:
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
        for run in (runs.first, runs.second)
        for r in run.records["actions_page_urls"]
    }
    without_goals = sum(r["goals"] is None for r in records.values())
    assert 0 < without_goals < len(records)
    loaded = f"select count(*) from {SCHEMA}.actions_page_urls where goals is null"
    assert _count(postgres, loaded) == without_goals
