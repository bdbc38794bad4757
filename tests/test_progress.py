"""Progress a user can follow: one line per stream and site, the SDK's metrics per partition."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import base_config, run_sync
from tests.fake_matomo import TOKEN, FakeMatomo

STREAMS = {"sites", "visits_summary", "referrers_all", "devices_types"}


def _metrics(caplog: pytest.LogCaptureFixture, name: str) -> list[dict[str, Any]]:
    points = [
        json.loads(r.getMessage().removeprefix("METRIC: "))
        for r in caplog.records
        if r.name == "singer_sdk.metrics"
    ]
    return [p for p in points if p["metric"] == name]


@pytest.fixture
def fake() -> Iterator[FakeMatomo]:
    """Any window answered (missing periods filled with recorded ones)."""
    with FakeMatomo(synthesize=True) as server:
        yield server


def test_one_line_per_stream_and_site_with_window_records_requests(
    fake: FakeMatomo, caplog: pytest.LogCaptureFixture
) -> None:
    # one request at a time: a request sent in the background (max_concurrent_requests > 1) is
    # counted when a worker sends it, which may fall between two partitions' lines
    config = base_config(fake, max_concurrent_requests=1)
    with caplog.at_level(logging.INFO):
        result = run_sync(config, streams=STREAMS)

    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Synced '")]
    line = re.compile(
        r"Synced '(\w+)', site (\d): 2026-11-20 to 2026-11-26, (\d+) records?, (\d+) requests?"
    )
    per_site = [line.match(text) for text in lines if not text.startswith("Synced 'sites'")]
    assert all(per_site), lines
    found = {(m.group(1), int(m.group(2))): int(m.group(3)) for m in per_site if m}
    assert len(found) == len(per_site) == 9  # three streams, three sites, one line each
    for (stream, site_id), count in found.items():
        assert count == sum(1 for r in result.records[stream] if r["site_id"] == site_id)
    assert "Synced 'sites': 3 records" in "\n".join(lines)
    # every request but the site list (read before the first partition) is counted in exactly
    # one line, and in the SDK's metric
    sent = [r for r in fake.requests if "SitesManager" not in r.raw_query]
    assert len(sent) == len(fake.requests) - 1
    requests = sum(int(n) for n in re.findall(r"(\d+) requests?", "\n".join(lines)))
    assert requests == len(sent)
    assert sum(p["value"] for p in _metrics(caplog, "http_request_count")) == len(sent)


def test_sdk_metrics_are_per_partition(fake: FakeMatomo, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        result = run_sync(base_config(fake), streams=STREAMS)

    counts = [
        p for p in _metrics(caplog, "record_count") if p["tags"]["stream"] == "visits_summary"
    ]
    assert sorted(p["tags"]["context"]["site_id"] for p in counts) == [1, 2, 3]
    assert sum(p["value"] for p in counts) == len(result.records["visits_summary"])
    durations = _metrics(caplog, "http_request_duration")
    assert len(durations) == len(fake.requests)
    assert {p["tags"]["http_status_code"] for p in durations} == {200}
    assert {p["tags"]["status"] for p in durations} == {"succeeded"}
    assert {p["tags"]["endpoint"] for p in durations} >= {"API.getBulkRequest"}
    assert TOKEN not in caplog.text


def test_starting_incremental_sync_names_the_site(
    fake: FakeMatomo, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        run_sync(base_config(fake), streams={"visits_summary"})
    starts = [r.getMessage() for r in caplog.records if "Starting incremental sync" in r.msg]
    assert starts == [
        f"Starting incremental sync of 'visits_summary', site {site_id}, with bookmark value: "
        "2026-11-20"
        for site_id in (1, 2, 3)
    ]


def test_a_failed_partition_says_it_stopped(caplog: pytest.LogCaptureFixture) -> None:
    with FakeMatomo() as server, caplog.at_level(logging.INFO):  # no recording for site 2
        result = run_sync(base_config(server), streams={"visits_summary"}, allow_failure=True)
    assert result.error is not None
    lines = [r.getMessage() for r in caplog.records if "'visits_summary', site" in r.getMessage()]
    assert any(line.startswith("Stopped 'visits_summary', site 2:") for line in lines), lines
    assert not any(line.startswith("Synced 'visits_summary', site 2") for line in lines)
