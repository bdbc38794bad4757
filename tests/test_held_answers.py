"""Answers read ahead wait as JSON text (``answers.py``) and are decoded when their turn comes.

Against the loopback fake: what ``MatomoRun.fetch`` hands out is what a plain call answers,
whether the answer waited as text or not, and an answer that cannot be decoded when taken is
asked for again, as a malformed answer is.
"""

from __future__ import annotations

import time

import pytest

from tap_matomo.answers import HeldAnswer, row_total
from tap_matomo.client import ApiCall, MatomoClient
from tap_matomo.runtime import MatomoRun
from tests.conftest import base_config
from tests.fake_matomo import TOKEN, FakeMatomo

DAYS = [f"2026-11-{day}" for day in range(20, 27)]
CALLS = [
    ApiCall("Actions.getPageUrls", {"idSite": "1", "period": "day", "date": day, "flat": "1"})
    for day in DAYS
] + [ApiCall("VisitsSummary.get", {"idSite": "2", "period": "day", "date": DAYS[0]})]


def arrived(run: MatomoRun) -> None:
    deadline = time.monotonic() + 10
    while any(not held.future.done() for held in run._ahead.values()):
        assert time.monotonic() < deadline
        time.sleep(0.01)


@pytest.mark.parametrize("concurrency", [1, 3])
def test_answers_read_ahead_wait_as_text_and_are_taken_decoded(concurrency: int) -> None:
    with FakeMatomo(synthesize=True) as server:
        plain = MatomoClient(url=server.url, token_auth=TOKEN)
        expected = [plain.call(call) for call in CALLS]
        run = MatomoRun(base_config(server, max_concurrent_requests=concurrency))
        run.prefetch([(call, (0, index), 100) for index, call in enumerate(CALLS)])
        arrived(run)
        waiting = [held.future.result()[held.index] for held in run._ahead.values()]
        assert all(isinstance(answer, HeldAnswer) for answer in waiting)
        # counted from the text's outline: the page rows of each day, one object of metrics
        assert run.held_rows() == sum(row_total(answer) for answer in expected)
        taken = list(run.fetch(CALLS))
    assert [call for call, _ in taken] == CALLS
    assert [answer for _, answer in taken] == expected
    assert any(len(answer) > 10 for answer in expected[:-1])  # real tables, not empty days


def test_an_answer_that_cannot_be_decoded_when_taken_is_asked_again() -> None:
    """A number of 5,000 digits in a row passes the outline read when the answer arrives;
    decoding it when taken fails, so the call is sent again and decoded at once (a malformed
    answer retried, as any other)."""
    call = CALLS[0]
    with FakeMatomo(synthesize=True) as server:
        expected = MatomoClient(url=server.url, token_auth=TOKEN).call(call)
        server.fail_next(
            200,
            '[{"label": "/", "nb_visits": ' + "1" * 5000 + "}]",
            content_type="application/json",
            api_method=call.method,
        )
        run = MatomoRun(base_config(server))
        run.prefetch([(call, (0, 0), 100)])
        [(_, answer)] = list(run.fetch([call]))
        sent = server.api_requests(call.method)
    assert answer == expected
    assert len(sent) == 3  # the plain call, the answer that could not be taken, the new one
