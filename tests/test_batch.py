"""The SDK's BATCH messages: records written to files instead of RECORD messages."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from tests.conftest import base_config, run_sync
from tests.fake_matomo import FakeMatomo


def test_batch_config_writes_the_records_to_files(fake: FakeMatomo, tmp_path: Path) -> None:
    config = base_config(
        fake,
        site_ids=[1],
        batch_config={
            "encoding": {"format": "jsonl", "compression": "gzip"},
            "storage": {"root": f"file://{tmp_path}", "prefix": "matomo-"},
        },
    )
    batched = run_sync(config, streams={"visits_summary"})
    plain = run_sync(base_config(fake, site_ids=[1]), streams={"visits_summary"})

    messages = [m for m in batched.messages if m["type"] == "BATCH"]
    assert messages
    assert not [m for m in batched.messages if m["type"] == "RECORD"]
    records = []
    for message in messages:
        assert message["stream"] == "visits_summary"
        for url in message["manifest"]:
            path = Path(url.removeprefix("file://"))
            assert path.parent == tmp_path
            with gzip.open(path, "rt") as lines:
                records += [json.loads(line) for line in lines]
    assert records == plain.records["visits_summary"]
    assert len(records) == 7
