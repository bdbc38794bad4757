"""Matomo's transient database faults inside a bulk request: retried per sub-call, then named."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import pytest

from tap_matomo.client import ApiCall, MatomoClient
from tap_matomo.errors import MatomoError, MatomoRequestError, MatomoTransientError, classify_error
from tests.conftest import assert_summaries_equal_recording, base_config, run_sync
from tests.fake_matomo import TOKEN, FakeMatomo, recorded_body

#: Transient faults as Matomo words them (PDO exceptions and PHP's time limit, in the envelope).
TRANSIENT_MESSAGES = [
    "SQLSTATE[HY000]: General error: 2006 MySQL server has gone away",
    "SQLSTATE[HY000]: General error: 2013 Lost connection to MySQL server during query",
    "SQLSTATE[HY000]: General error: 1205 Lock wait timeout exceeded; try restarting transaction",
    "SQLSTATE[40001]: Serialization failure: 1213 Deadlock found when trying to get lock; "
    "try restarting transaction",
    "SQLSTATE[08004] [1040] Too many connections",
    "Maximum execution time of 30 seconds exceeded",
    "Mysql error: SQLSTATE[HY000] [2002] Connection refused",
    "SQLSTATE[HY000] [2002] No such file or directory",
    "SQLSTATE[HY000] [2003] Can't connect to MySQL server on 'db' (115)",
    "SQLSTATE[08S01]: Communication link failure: 1053 Server shutdown in progress",
    "Mysql server has gone away",
    "SQLSTATE[42000] [1203] User matomo already has more than 'max_user_connections' active "
    "connections",
    "PDOStatement::execute(): Error while sending QUERY packet. PID=1234",
    "Allowed memory size of 134217728 bytes exhausted (tried to allocate 20480 bytes)",
    "Fatal error: Maximum execution time of 300 seconds exceeded in /var/www/core/DataTable.php",
]
MEMORY_EXHAUSTED = TRANSIENT_MESSAGES[-2]
GONE_AWAY = TRANSIENT_MESSAGES[0]
#: Errors that the same request sent again gets again.
PERMANENT_MESSAGES = [
    "SQLSTATE[HY000] [1045] Access denied for user 'matomo'@'10.0.0.7' (using password: YES)",
    "SQLSTATE[42S02]: Base table or view not found: 1146 Table 'matomo.log_visit' doesn't exist",
    "Could not run the query in time. Try a smaller period or a smaller filter_limit.",
    "Please specify a value for 'date'.",
]


def summary_calls(server: FakeMatomo) -> list[list[dict[str, str]]]:
    """The VisitsSummary.get calls of each request received, bulk sub-calls unpacked."""
    sent = []
    for request in server.requests:
        if request.api_method == "API.getBulkRequest":
            inner = [
                dict(parse_qsl(value)) for key, value in request.form.items() if key[:5] == "urls["
            ]
            sent.append([call for call in inner if call["method"] == "VisitsSummary.get"])
        elif request.api_method == "VisitsSummary.get":
            envelope = ("module", "format", "token_auth")
            sent.append([{k: v for k, v in request.params.items() if k not in envelope}])
    return [calls for calls in sent if calls]


def failing_for_site(
    server: FakeMatomo, site: str, message: str, times: int | None
) -> dict[str, int]:
    """Answer one site's VisitsSummary.get with an error ``times`` times (None: always)."""
    count = {"failed": 0}

    def handler(params: dict[str, str]) -> tuple[int, Any]:
        if params.get("idSite") == site and (times is None or count["failed"] < times):
            count["failed"] += 1
            return 200, {"result": "error", "message": message}
        return server.answer_recorded(params)

    server.handlers["VisitsSummary.get"] = handler
    return count


def one_day_config(server: FakeMatomo, **overrides: Any) -> dict[str, Any]:
    return base_config(
        server, report_date="2026-11-20", start_date=None, end_date=None, **overrides
    )


@pytest.mark.parametrize("status", [200, 400, 401, 500, 503])
@pytest.mark.parametrize("message", TRANSIENT_MESSAGES)
def test_database_and_php_limit_errors_are_transient_whatever_the_status(
    message: str, status: int
) -> None:
    error = classify_error(message, status=status, method="VisitsSummary.get")
    assert isinstance(error, MatomoTransientError)
    assert "VisitsSummary.get" in str(error)
    assert message in str(error)


@pytest.mark.parametrize("message", PERMANENT_MESSAGES)
def test_errors_that_come_back_are_not_transient(message: str) -> None:
    assert isinstance(classify_error(message, method="VisitsSummary.get"), MatomoRequestError)


def test_memory_exhaustion_is_retried_for_the_failed_sub_call_only(fake: FakeMatomo) -> None:
    """The retry asks less (one call, not the bulk) and archives built before are kept."""
    count = failing_for_site(fake, "2", MEMORY_EXHAUSTED, times=1)
    calls = [
        ApiCall("VisitsSummary.get", {"idSite": site, "period": "day", "date": "2026-11-20"})
        for site in ("1", "2", "3")
    ]
    client = MatomoClient(url=fake.url, token_auth=TOKEN, retry_wait_seconds=0)
    results = client.bulk(calls)
    assert count["failed"] == 1
    assert [[call["idSite"] for call in calls] for calls in summary_calls(fake)] == [
        ["1", "2", "3"],
        ["2"],
    ]
    assert results == [recorded_body("0025")[site] for site in ("1", "2", "3")]


def test_a_sub_call_failing_once_is_resent_alone_and_records_are_complete(
    fake: FakeMatomo,
) -> None:
    count = failing_for_site(fake, "2", GONE_AWAY, times=1)
    result = run_sync(one_day_config(fake), streams={"visits_summary"})

    assert count["failed"] == 1
    sent = summary_calls(fake)
    assert [[call["idSite"] for call in calls] for calls in sent] == [["1", "2", "3"], ["2"]]
    assert sent[1][0] == sent[0][1]  # the very same call again, nothing else
    # VisitsSummary.get idSite=all, 2026-11-20
    assert_summaries_equal_recording(result.records["visits_summary"], "0025")


def test_two_sub_calls_failing_once_are_resent_together(fake: FakeMatomo) -> None:
    count = {"1": 0, "3": 0}

    def handler(params: dict[str, str]) -> tuple[int, Any]:
        site = params.get("idSite", "")
        if site in count and count[site] == 0:
            count[site] += 1
            return 200, {"result": "error", "message": TRANSIENT_MESSAGES[3]}
        return fake.answer_recorded(params)

    fake.handlers["VisitsSummary.get"] = handler
    result = run_sync(one_day_config(fake), streams={"visits_summary"})

    sent = summary_calls(fake)
    assert [[call["idSite"] for call in calls] for calls in sent] == [["1", "2", "3"], ["1", "3"]]
    assert fake.requests[-1].api_method == "API.getBulkRequest"
    assert sorted(r["site_id"] for r in result.records["visits_summary"]) == [1, 2, 3]


def test_a_persisting_fault_names_the_call_after_the_configured_tries(fake: FakeMatomo) -> None:
    count = failing_for_site(fake, "2", GONE_AWAY, times=None)
    result = run_sync(
        one_day_config(fake, max_tries=3), streams={"visits_summary"}, allow_failure=True
    )

    assert isinstance(result.error, MatomoError)
    message = str(result.error)
    assert "VisitsSummary.get(idSite=2" in message
    assert "giving up after 3 tries" in message
    assert "MySQL server has gone away" in message
    assert TOKEN not in message
    assert count["failed"] == 3
    sent = summary_calls(fake)
    assert [[call["idSite"] for call in calls] for calls in sent] == [["1", "2", "3"], ["2"], ["2"]]
    assert not any(r["site_id"] == 2 for r in result.records["visits_summary"])


def test_a_single_call_envelope_fault_is_retried_too(fake: FakeMatomo) -> None:
    count = failing_for_site(fake, "1", TRANSIENT_MESSAGES[2], times=2)
    client = MatomoClient(url=fake.url, token_auth=TOKEN, retry_wait_seconds=0)
    call = ApiCall("VisitsSummary.get", {"idSite": "1", "period": "day", "date": "2026-11-20"})
    assert client.call(call) == recorded_body("0025")["1"]
    assert count["failed"] == 2
    assert len(fake.requests) == 3
