"""`visits_exclude_identity` wins over a catalog discovered with the setting off."""

from __future__ import annotations

import contextlib
import io
import json

from tap_matomo.streams.visit_records import IDENTITY_COLUMNS
from tap_matomo.tap import TapMatomo
from tests.conftest import base_config, catalog_selecting
from tests.fake_live import FakeLive
from tests.fake_matomo import FakeMatomo


def test_identity_columns_leave_a_catalog_discovered_with_them(fake: FakeMatomo) -> None:
    fake.handlers["Live.getLastVisitsDetails"] = FakeLive()
    config = base_config(fake, site_ids=[1], start_date="2026-11-20", end_date="2026-11-20")
    catalog = catalog_selecting(config, {"visits"})  # discovered with the setting off
    entry = next(e for e in catalog["streams"] if e["tap_stream_id"] == "visits")
    assert set(entry["schema"]["properties"]) >= IDENTITY_COLUMNS

    tap = TapMatomo(
        config={**config, "visits_exclude_identity": True},
        catalog=catalog,
        parse_env_config=False,
    )
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        tap.sync_all()

    messages = [json.loads(line) for line in out.getvalue().splitlines()]
    schema = next(m for m in messages if m["type"] == "SCHEMA" and m["stream"] == "visits")
    assert not IDENTITY_COLUMNS & set(schema["schema"]["properties"])
    assert "visit_id" in schema["schema"]["properties"]
    records = [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == "visits"]
    assert records
    assert not any(IDENTITY_COLUMNS & set(record) for record in records)
