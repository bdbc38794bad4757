"""Answers of an unexpected shape stop the stream with a clear error, never mis-dated rows.

A proxy, a plugin or a future Matomo may answer a report with something else than what was asked:
rows must not be filed under the wrong period, or dropped, without a word.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tap_matomo.errors import MatomoRequestError
from tests.conftest import base_config, run_sync
from tests.fake_matomo import TOKEN, FakeMatomo


def answering(body: Any) -> Callable[[dict[str, str]], tuple[int, Any]]:
    """A fake Matomo method that always gives this body."""
    return lambda params: (200, body)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # keyed by period was asked (date=start,end): a bare list would land on the window start
        ([{"nb_visits": 3}], "one entry per period"),
        ({"yesterday": {"nb_visits": 3}}, "period keys"),
        ({"2026-11-20": "3 visits"}, "a list of rows or an object of metrics"),
        ({"2026-11-20": [1, 2]}, "a list of rows or an object of metrics"),
    ],
)
def test_unexpected_shapes_are_errors_that_name_the_call(
    fake: FakeMatomo, body: Any, expected: str
) -> None:
    fake.handlers["VisitsSummary.get"] = answering(body)
    config = base_config(fake, site_ids=[1])
    result = run_sync(config, streams={"visits_summary"}, allow_failure=True)

    assert isinstance(result.error, MatomoRequestError)
    message = str(result.error)
    assert expected in message
    assert "visits_summary" in message
    assert "VisitsSummary.get" in message
    assert TOKEN not in message
    assert result.records["visits_summary"] == []
    assert "replication_key_value" not in json.dumps(result.states)  # the state is left as it was
