"""`MatomoStream`'s record path writes exactly the messages the SDK's own methods write.

`MatomoStream` replaces the SDK's `_process_record` (streams without children),
`_write_record_message` (catalogs that deselect no property) and `_increment_stream_state`
(skipped while the bookmark holds the record's value); `SingerWriter` encodes SCHEMA and STATE
messages without the SDK's deep copy, and `StateLines` skips an unchanged STATE by its line.
Each sync here runs twice, once with the SDK's methods put back, and must give the same
messages, STATE included (the extraction time aside): plain, with stream maps (a computed
column, a filter, an alias) and with a deselected property, byte for byte.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from singer_sdk import Stream
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.helpers._state import StateWriter

from tap_matomo.output import SingerWriter, StateLines
from tap_matomo.streams.base import MatomoStream
from tap_matomo.tap import TapMatomo
from tests.conftest import base_config, catalog_selecting
from tests.fake_matomo import FakeMatomo

STREAMS = {
    "sites",
    "goals",
    "visits_summary",
    "referrers_all",
    "actions_page_urls",
    "actions_page_url",
    "events_names",
}

EXTRACTED = re.compile(r',"time_extracted":"[^"]*"')

STREAM_MAPS = {
    "visits_summary": {"twice": "nb_visits * 2", "__filter__": "nb_visits > 2"},
    "referrers_all": {"__alias__": "referrers", "url": "__NULL__"},
}


@pytest.fixture
def config() -> Iterator[dict[str, Any]]:
    """Synthesized answers (every report has rows), a month and a week."""
    with FakeMatomo(synthesize=True) as server:
        yield base_config(
            server, start_date="2026-10-20", end_date=None, page_urls=["https://shop.example.com/"]
        )


def _sdk_increment(
    stream: MatomoStream, latest_record: dict[str, Any], *, context: Any = None
) -> None:
    """The SDK's bookmark increment at every record, and what the tap keeps beside a bookmark."""
    Stream._increment_stream_state(stream, latest_record, context=context)
    if stream.uses_bookmarks:
        stream._bookmark_written(stream.get_context_state(context))


def _run(config: dict[str, Any], catalog: dict[str, Any]) -> list[str]:
    """The lines one in-process sync writes, without their extraction times."""
    tap = TapMatomo(config=config, catalog=catalog, parse_env_config=False)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        tap.sync_all()
    return [EXTRACTED.sub("", line) for line in out.getvalue().splitlines()]


def _sync_both_ways(
    monkeypatch: pytest.MonkeyPatch, config: dict[str, Any], deselect: str | None = None
) -> list[dict[str, Any]]:
    catalog = catalog_selecting(config, STREAMS)
    if deselect:
        stream, prop = deselect.split(".")
        for entry in catalog["streams"]:
            for meta in entry["metadata"]:
                if entry["tap_stream_id"] == stream and meta["breadcrumb"] == ["properties", prop]:
                    meta["metadata"]["selected"] = False
    runs = []
    # a STATE every few records, so the bookmarks within a partition are compared too
    monkeypatch.setattr(MatomoStream, "STATE_MSG_FREQUENCY", 7)
    for sdk in (False, True):
        with monkeypatch.context() as patch:
            if sdk:
                patch.setattr(MatomoStream, "_process_record", Stream._process_record)
                patch.setattr(MatomoStream, "_write_record_message", Stream._write_record_message)
                patch.setattr(MatomoStream, "_increment_stream_state", _sdk_increment)
                patch.setattr(SingerWriter, "serialize_message", MsgSpecWriter.serialize_message)
                patch.setattr(StateLines, "write_state", StateWriter.write_state)
            runs.append(_run(config, catalog))
    fast, sdk_path = runs
    assert fast == sdk_path  # byte for byte
    messages = [json.loads(line) for line in fast]
    assert sum(m["type"] == "RECORD" for m in messages) > 100
    assert sum(m["type"] == "STATE" for m in messages) > 50
    assert sum(m["type"] == "SCHEMA" for m in messages) == len(STREAMS)
    return messages


def test_plain_records_as_the_sdk_writes_them(
    config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _sync_both_ways(monkeypatch, config)


def test_stream_maps_as_the_sdk_applies_them(
    config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    messages = _sync_both_ways(monkeypatch, {**config, "stream_maps": STREAM_MAPS})
    streams = {m["stream"] for m in messages if m["type"] == "RECORD"}
    assert "referrers" in streams
    assert "referrers_all" not in streams
    summaries = [
        m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == "visits_summary"
    ]
    assert summaries
    assert all(record["twice"] == 2 * record["nb_visits"] > 4 for record in summaries)


def test_deselected_properties_as_the_sdk_drops_them(
    config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    messages = _sync_both_ways(monkeypatch, config, deselect="visits_summary.nb_visits")
    summaries = [
        m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == "visits_summary"
    ]
    assert summaries
    assert all("nb_visits" not in record for record in summaries)
