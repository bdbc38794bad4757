"""The row key: long labels key a row in 32 characters; unknown metrics and their nulls.

Run against the fake Matomo with one page whose URL is 10,000 characters long (a URL with a
long query string) and that carries a metric no catalog entry names. The same fake serves the
PostgreSQL end-to-end test (tests/test_postgres_e2e.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

from tap_matomo.catalog import REPORTS
from tap_matomo.keys import RowKeys, hashed_columns, primary_keys, row_key, row_keys_for
from tap_matomo.specs import dim
from tap_matomo.tap import TapMatomo
from tests.conftest import assert_keyed_by, base_config, run_sync
from tests.fake_matomo import FakeMatomo
from tests.hand_built import map_tables

#: A page URL of exactly 10,000 characters: far over PostgreSQL's 2,704-byte index limit.
LONG_LABEL = ("shop.example.com/search?q=" + "long-query-" * 1000)[:10_000]
assert len(LONG_LABEL) == 10_000
#: A metric of the long page that no catalog entry declares (a plugin's, say).
PLUGIN_METRIC = "nb_plugin_clicks"


def install_long_label(fake: FakeMatomo) -> None:
    """Every ``Actions.getPageUrls`` table gets the long page, with an undeclared metric."""

    def with_long_page(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        page = {
            "label": LONG_LABEL,
            "nb_visits": 1,
            "nb_hits": 2,
            "sum_time_spent": 30,
            PLUGIN_METRIC: 7,
            "url": f"https://{LONG_LABEL}",
            "segment": "pageUrl==https%3A%2F%2Fshop.example.com%2Fsearch",
        }
        return [*rows, page]

    def answer(params: dict[str, str]) -> tuple[int, Any]:
        status, body = fake.answer_recorded(params)
        return status, map_tables(body, with_long_page)

    fake.handlers["Actions.getPageUrls"] = answer


def test_row_key_is_the_md5_of_the_values_joined_by_unit_separators() -> None:
    assert row_key([LONG_LABEL]) == hashlib.md5(LONG_LABEL.encode()).hexdigest()
    assert len(row_key([LONG_LABEL])) == 32
    assert row_key([3, "x"]) == hashlib.md5(b"3\x1fx").hexdigest()
    assert row_key([None, "x"]) == row_key(["", "x"])
    assert row_key(["a", "b"]) != row_key(["a b"]) != row_key(["ab"])


def test_remembered_row_keys_are_the_row_keys_and_stay_bounded() -> None:
    """A label seen again is not hashed again; the memory of them is cut at ``most``."""
    keys = RowKeys(most=4)
    values = [("a",), (1, "a"), ("1", "a"), (None, "a"), ("", "a"), (1.5, "b"), ("a",)]
    for each in values * 3:
        assert keys(each) == row_key(each)
    assert len(keys._known) <= 4
    many = [(f"page-{i}",) for i in range(10)]
    assert [keys(each) for each in many] == [row_key(each) for each in many]
    assert len(keys._known) <= 4


def test_row_keys_are_remembered_only_where_equal_values_have_equal_text() -> None:
    """``1 == 1.0``, but their texts differ: a stream hashing a number column hashes each row."""
    by_name = {spec.name: spec for spec in REPORTS}
    assert isinstance(row_keys_for(by_name["actions_page_urls"]), RowKeys)
    numbers = replace(
        by_name["actions_page_urls"],
        dimensions=(*by_name["actions_page_urls"].dimensions, dim("lat", json_type="number")),
        key_columns=("label", "lat"),
    )
    assert row_keys_for(numbers) is row_key
    assert row_key(("a", 1)) != row_key(("a", 1.0))


def test_every_report_stream_with_dimensions_is_keyed_by_row_key() -> None:
    tap = TapMatomo(config={}, parse_env_config=False, validate_config=False)
    keyed = 0
    for stream in tap.streams.values():
        spec = getattr(stream, "spec", None)
        if spec is None:
            continue
        assert stream.primary_keys == primary_keys(spec)
        properties = stream.schema["properties"]
        if hashed_columns(spec):
            keyed += 1
            assert stream.primary_keys == ("site_id", "period", "date", "row_key")
            assert properties["row_key"]["type"] == ["string"]
            assert set(hashed_columns(spec)) <= set(properties)
        else:
            assert stream.primary_keys == ("site_id", "period", "date")
            assert "row_key" not in properties
    assert keyed > 80


def test_a_10000_character_label_keys_its_row_and_unknown_metrics_are_kept() -> None:
    with FakeMatomo(synthesize=True) as fake:
        install_long_label(fake)
        config = base_config(fake, start_date="2026-11-24", site_ids=[1, 3])
        result = run_sync(config, streams={"actions_page_urls"})
    records = result.records["actions_page_urls"]
    long_rows = [r for r in records if r["label"] == LONG_LABEL]
    assert len(long_rows) == 2 * 3  # two sites, three days
    for record in long_rows:
        assert record["row_key"] == hashlib.md5(LONG_LABEL.encode()).hexdigest()
        assert record["other_metrics"] == [{"name": PLUGIN_METRIC, "value": 7}]
        assert (record["nb_visits"], record["nb_hits"]) == (1, 2)
    others = [r for r in records if r["label"] != LONG_LABEL]
    assert others
    assert all(r["other_metrics"] is None for r in others)  # null, not an empty list
    assert_keyed_by(result, "actions_page_urls", ["label"])
