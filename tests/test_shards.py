"""Sharded runs: `shard_count`/`shard_index` split the sites by id; each shard has its state."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from tap_matomo.settings import Shard, check_settings
from tests.conftest import SyncResult, base_config, run_sync
from tests.fake_live import FakeLive
from tests.fake_matomo import FakeMatomo

#: Full-table, per-site incremental, per-goal and visit log streams.
STREAMS = {"sites", "goals", "visits_summary", "referrers_all", "goals_per_goal", "visits"}


def _records(result: SyncResult) -> Counter[str]:
    return Counter(
        json.dumps([stream, record], sort_keys=True)
        for stream, records in result.records.items()
        for record in records
    )


def _partition_sites(state: dict[str, Any]) -> set[int]:
    return {
        partition["context"]["site_id"]
        for bookmarks in state.get("bookmarks", {}).values()
        for partition in bookmarks.get("partitions", [])
    }


def test_three_shards_together_give_the_single_run_records() -> None:
    with FakeMatomo(synthesize=True) as server:
        server.handlers["Live.getLastVisitsDetails"] = FakeLive()
        config = base_config(server, start_date="2026-11-24")
        single = run_sync(config, streams=STREAMS)
        shards = [
            run_sync({**config, "shard_count": 3, "shard_index": index}, streams=STREAMS)
            for index in range(3)
        ]

    union = sum((_records(shard) for shard in shards), Counter())
    assert union == _records(single)
    assert sum(len(s.records["visits_summary"]) for s in shards) > 3
    for index, shard in enumerate(shards):
        # each shard holds its own site (1, 2 and 3 modulo 3) in records and state
        sites = {r["site_id"] for records in shard.records.values() for r in records}
        assert sites == {index or 3}
        assert _partition_sites(shard.final_state) == {index or 3}
    assert _partition_sites(single.final_state) == {1, 2, 3}


def test_a_site_keeps_its_shard_as_sites_are_added() -> None:
    shard = Shard(index=1, count=4)
    before = [i for i in (1, 2, 5, 9) if shard.keeps(i)]
    after = [i for i in (1, 2, 3, 5, 6, 9, 13, 14) if shard.keeps(i)]
    assert before == [1, 5, 9]
    assert after == [1, 5, 9, 13]


def test_a_shard_without_sites_syncs_nothing_and_fails_nothing(fake: FakeMatomo) -> None:
    config = base_config(fake, shard_count=5, shard_index=4)  # sites 1, 2, 3: none is 4 mod 5
    result = run_sync(config, streams={"visits_summary", "referrers_all"})
    assert result.error is None
    assert not any(result.records.values())


@pytest.mark.parametrize(
    ("shard", "message"),
    [
        ({"shard_count": 3}, "`shard_count` and `shard_index`: set both"),
        ({"shard_index": 0}, "`shard_count` and `shard_index`: set both"),
        ({"shard_count": 3, "shard_index": 3}, "`shard_index`: 3 is not a shard of 3; give 0 to 2"),
        ({"shard_count": 3, "shard_index": -1}, "`shard_index`: -1 is not a shard of 3"),
        ({"shard_count": 0, "shard_index": 0}, "`shard_count`: 0 shards; give 1 or more"),
    ],
)
def test_shard_settings_are_checked(shard: dict[str, Any], message: str) -> None:
    config = {"url": "https://matomo.example.com", "token_auth": "x", "site_ids": [1], **shard}
    settings, errors = check_settings(config)
    assert settings is None
    assert len(errors) == 1
    assert errors[0].startswith(message)
