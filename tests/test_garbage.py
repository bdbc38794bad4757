"""During a sync the collector passes less often and skips the tap's setup; after it, as before.

`tap_matomo.garbage.fewer_collections` changes process-wide settings of the garbage collector:
they must be back as they were after a sync, a failed one included, or the tap would change
the process that runs it (Dagster, tests, a notebook).
"""

from __future__ import annotations

import gc
from collections.abc import Iterable
from typing import Any

import pytest

from tap_matomo.garbage import SYNC_THRESHOLD, fewer_collections
from tap_matomo.streams.reports import ReportStream
from tests.conftest import base_config, run_sync
from tests.fake_matomo import FakeMatomo


def _watch_collector(monkeypatch: pytest.MonkeyPatch) -> list[tuple[tuple[int, ...], int]]:
    """The collector's thresholds and frozen objects each time a report partition starts."""
    seen: list[tuple[tuple[int, ...], int]] = []
    get_records = ReportStream.get_records

    def watched(self: ReportStream, context: Any) -> Iterable[dict[str, Any]]:
        seen.append((gc.get_threshold(), gc.get_freeze_count()))
        return get_records(self, context)

    monkeypatch.setattr(ReportStream, "get_records", watched)
    return seen


def test_fewer_passes_during_a_sync_and_settings_back_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = gc.get_threshold()
    seen = _watch_collector(monkeypatch)
    with FakeMatomo(synthesize=True) as server:
        result = run_sync(base_config(server), streams={"visits_summary", "referrers_all"})
    assert result.records["referrers_all"]
    assert seen
    assert all(thresholds[0] == SYNC_THRESHOLD for thresholds, _ in seen)
    assert all(thresholds[1:] == before[1:] for thresholds, _ in seen)
    assert all(frozen > 1000 for _, frozen in seen)  # the setup: catalog, schemas, settings
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_settings_back_after_a_failed_sync(
    fake: FakeMatomo, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = gc.get_threshold()
    seen = _watch_collector(monkeypatch)
    fake.fail_next(status=403, body="<html>Forbidden</html>", api_method="VisitsSummary.get")
    result = run_sync(base_config(fake), streams={"visits_summary"}, allow_failure=True)
    assert result.error is not None
    assert seen  # it failed during the sync, fewer collections on
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_syncs_at_once_put_the_settings_back_when_the_last_ends() -> None:
    """Two syncs of one process overlapping: the second must not restore the first's values."""
    before = gc.get_threshold()
    with fewer_collections():
        with fewer_collections():
            assert gc.get_threshold()[0] == SYNC_THRESHOLD
        assert gc.get_threshold()[0] == SYNC_THRESHOLD  # the first still runs
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
