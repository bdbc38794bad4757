"""Shared fixtures: a fake Matomo on loopback, a pinned clock, and an in-process tap runner."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pendulum
import pytest

from tap_matomo import dates
from tap_matomo.tap import TapMatomo
from tests.fake_matomo import TOKEN, FakeMatomo, recorded_body

#: The recordings' "now": 12:00 UTC is 2026-11-26 in UTC, Europe/Paris and America/New_York.
RECORDED_NOW = pendulum.datetime(2026, 11, 26, 12, 0, 0, tz="UTC")


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch: pytest.MonkeyPatch) -> pendulum.DateTime:
    """Every test runs at the recordings' time unless it pins another one."""
    monkeypatch.setattr(dates, "utc_now", lambda: RECORDED_NOW)
    return RECORDED_NOW


@pytest.fixture
def fake() -> Iterator[FakeMatomo]:
    """The recorded server, MarketingCampaignsReporting activated (recordings 0600+ win)."""
    with FakeMatomo() as server:
        yield server


@pytest.fixture
def fake_core() -> Iterator[FakeMatomo]:
    """The recorded server before MarketingCampaignsReporting was installed."""
    with FakeMatomo(profile="core") as server:
        yield server


def base_config(server: FakeMatomo, **overrides: Any) -> dict[str, Any]:
    """A config pointing at the fake, for the last recorded week, with instant retries."""
    config: dict[str, Any] = {
        "url": server.url,
        "token_auth": TOKEN,
        "site_ids": [1, 2, 3],
        "start_date": "2026-11-20",
        "end_date": "2026-11-26",
        "retry_wait_seconds": 0,
    }
    config.update(overrides)
    return {k: v for k, v in config.items() if v is not None}


def catalog_selecting(config: dict[str, Any], streams: set[str]) -> dict[str, Any]:
    """The discovered catalog with only the named streams selected."""
    tap = TapMatomo(config=config, parse_env_config=False, validate_config=False)
    catalog = tap.catalog_dict
    for entry in catalog["streams"]:
        chosen = entry["tap_stream_id"] in streams
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = chosen
    return catalog


@dataclass
class SyncResult:
    """The Singer messages of one in-process sync."""

    messages: list[dict[str, Any]]
    records: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    error: Exception | None = None

    @property
    def states(self) -> list[dict[str, Any]]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def final_state(self) -> dict[str, Any]:
        return self.states[-1] if self.states else {}

    def schema(self, stream: str) -> dict[str, Any]:
        return next(m for m in self.messages if m["type"] == "SCHEMA" and m["stream"] == stream)

    def bookmark(self, stream: str, site_id: int) -> str | None:
        for partition in self.final_state["bookmarks"][stream]["partitions"]:
            if partition["context"] == {"site_id": site_id}:
                return partition.get("replication_key_value")
        return None


def run_sync(
    config: dict[str, Any],
    *,
    streams: set[str] | None = None,
    state: dict[str, Any] | None = None,
    allow_failure: bool = False,
    catalog: dict[str, Any] | None = None,
) -> SyncResult:
    """Run a full sync in this process and collect its messages (also those before a failure).

    ``catalog``: the catalog to run with (default: the discovered one, ``streams`` selected).
    """
    if catalog is None and streams is not None:
        catalog = catalog_selecting(config, streams)
    tap = TapMatomo(config=config, state=state, catalog=catalog, parse_env_config=False)
    out = io.StringIO()
    error: Exception | None = None
    with contextlib.redirect_stdout(out):
        try:
            tap.sync_all()
        except Exception as exc:
            if not allow_failure:
                raise
            error = exc
    result = SyncResult(
        messages=[json.loads(line) for line in out.getvalue().splitlines()], error=error
    )
    for message in result.messages:
        if message["type"] == "RECORD":
            result.records[message["stream"]].append(message["record"])
    return result


def primary_key_values(result: SyncResult, stream: str) -> list[tuple]:
    """The primary key of every record of a stream, in emission order."""
    keys = result.schema(stream)["key_properties"]
    return [tuple(record[k] for k in keys) for record in result.records[stream]]


def assert_keyed_by(result: SyncResult, stream: str, columns: list[str]) -> None:
    """The stream is keyed by site, period, date and `row_key`, the MD5 of these columns.

    Computed here independently of ``tap_matomo.keys``; also checks that the natural key (the
    columns themselves) is exactly as unique as `row_key`.
    """
    assert result.schema(stream)["key_properties"] == ["site_id", "period", "date", "row_key"]
    records = result.records[stream]
    assert records, stream
    for record in records:
        text = "\x1f".join(str(record[column]) for column in columns)
        assert record["row_key"] == hashlib.md5(text.encode()).hexdigest(), (stream, record)
    natural = {(r["site_id"], r["period"], r["date"], *(r[c] for c in columns)) for r in records}
    assert len(natural) == len(set(primary_key_values(result, stream))) == len(records), stream


def assert_summaries_equal_recording(records: list[dict[str, Any]], number: str) -> None:
    """`visits_summary` records of one day equal a recorded ``idSite=all`` answer, per site."""
    recorded = recorded_body(number)
    by_site = {record["site_id"]: record for record in records}
    assert sorted(by_site) == sorted(int(site) for site in recorded)
    for site_id, record in by_site.items():
        for metric, value in recorded[str(site_id)].items():
            expected = float(value[:-1]) / 100 if isinstance(value, str) else value
            assert record[metric] == pytest.approx(expected, abs=0.005), (site_id, metric)
