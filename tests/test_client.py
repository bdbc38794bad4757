"""The Matomo client against the loopback fake: transport, error classes, retries, the token."""

from __future__ import annotations

import datetime
import email.utils
import functools
import json
import logging
import threading
import time
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from singer_sdk.exceptions import ConfigValidationError

from tap_matomo.client import DEFAULT_USER_AGENT, ApiCall, MatomoClient, normalize_base_url
from tap_matomo.errors import (
    MatomoAuthError,
    MatomoError,
    MatomoNoDataError,
    MatomoPluginNotActivatedError,
    MatomoRequestError,
    MatomoTransientError,
    MatomoUrlError,
    classify_error,
)
from tap_matomo.settings_schema import MAX_TRIES
from tap_matomo.tap import TapMatomo
from tests.conftest import base_config
from tests.fake_matomo import TOKEN, FakeMatomo, recorded_body
from tests.faults import FaultPlan

SUMMARY_DAY = ApiCall(
    "VisitsSummary.get",
    {"idSite": "1", "period": "day", "date": "2026-11-20", "filter_limit": "-1"},
)


def client_for(server: FakeMatomo, token: str = TOKEN, **kwargs) -> MatomoClient:
    kwargs.setdefault("retry_wait_seconds", 0)
    return MatomoClient(url=server.url, token_auth=token, **kwargs)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://m.example.com", "https://m.example.com"),
        ("https://m.example.com/", "https://m.example.com"),
        ("https://m.example.com/matomo/index.php", "https://m.example.com/matomo"),
        (" https://m.example.com/matomo/ ", "https://m.example.com/matomo"),
    ],
)
def test_base_url_accepts_trailing_slash_and_index_php(given: str, expected: str) -> None:
    assert normalize_base_url(given) == expected


def test_call_posts_token_in_body_only(fake: FakeMatomo) -> None:
    answer = client_for(fake).call(SUMMARY_DAY)

    assert answer == recorded_body("0018")
    (request,) = fake.requests
    assert request.http_method == "POST"
    assert request.path == "/index.php"
    assert request.query == {"module": "API", "method": "VisitsSummary.get", "format": "JSON"}
    assert request.form["token_auth"] == TOKEN
    assert TOKEN not in request.raw_query
    assert request.form["idSite"] == "1"


def test_bad_token_is_fatal_sent_once_and_never_echoed(fake: FakeMatomo) -> None:
    client = client_for(fake, token="wrong-token-wrong-token", max_tries=5)
    with pytest.raises(MatomoAuthError) as caught:
        client.call(SUMMARY_DAY)

    assert len(fake.requests) == 1  # never retried: Matomo locks out an IP after 20 failures
    message = str(caught.value)
    assert "Unable to authenticate" in message
    assert "`token_auth`" in message
    assert "wrong-token-wrong-token" not in message


@pytest.mark.parametrize(
    ("call", "error_type", "fragment"),
    [
        (
            ApiCall("Foo.bar", {"idSite": "1", "period": "day", "date": "yesterday"}),
            MatomoPluginNotActivatedError,
            "Foo",
        ),
        (
            ApiCall("VisitsSummary.get", {"idSite": "999", "period": "day", "date": "yesterday"}),
            MatomoRequestError,
            "website id was set to '999'",
        ),
        (
            ApiCall(
                "VisitsSummary.get", {"idSite": "1", "period": "fortnight", "date": "yesterday"}
            ),
            MatomoRequestError,
            "The period 'fortnight' is not supported",
        ),
        (
            ApiCall(
                "Transitions.getTransitionsForAction",
                {
                    "idSite": "1",
                    "period": "month",
                    "date": "2026-10-01",
                    "actionType": "url",
                    "actionName": "https://shop.example.com/nope",
                },
            ),
            MatomoNoDataError,
            "NoDataForAction",
        ),
    ],
)
def test_recorded_errors_are_classified_and_not_retried(
    fake: FakeMatomo, call: ApiCall, error_type: type[MatomoError], fragment: str
) -> None:
    with pytest.raises(error_type) as caught:
        client_for(fake).call(call)
    assert fragment in str(caught.value)
    assert call.method in str(caught.value)
    assert len(fake.requests) == 1


def test_plugin_error_names_the_plugin(fake_core: FakeMatomo) -> None:
    call = ApiCall(
        "MarketingCampaignsReporting.getName",
        {"idSite": "1", "period": "month", "date": "2026-10-01"},
    )
    with pytest.raises(MatomoPluginNotActivatedError) as caught:
        client_for(fake_core).call(call)
    assert caught.value.plugin == "MarketingCampaignsReporting"
    assert "Settings > Plugins" in str(caught.value)  # HTML entities decoded


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (500, '{"result":"error","message":"Allowed memory size exhausted"}', "application/json"),
        (502, "<html><body>Bad Gateway</body></html>", "text/html"),
        (503, "<html><body>Maintenance</body></html>", "text/html"),
        (504, "", "text/html"),
        (200, '{"nb_visits": 3, "nb_act', "application/json"),  # truncated JSON
        (200, "", "application/json"),  # PHP died before answering
        (200, "<!DOCTYPE html><html>proxy login</html>", "text/html"),
    ],
)
def test_transient_faults_are_retried_then_succeed(
    fake: FakeMatomo, status: int, body: str, content_type: str
) -> None:
    client = client_for(fake, max_tries=3)
    client.call(SUMMARY_DAY)  # the server has answered like Matomo once
    fake.fail_next(status, body, times=2, content_type=content_type)
    assert client.call(SUMMARY_DAY) == recorded_body("0018")
    assert len(fake.requests) == 4


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (
            500,
            '{"result":"error","message":"Mysql error: SQLSTATE[HY000] [2002] Connection refused"}',
            "application/json",
        ),
        (502, "<html><body>Bad Gateway</body></html>", "text/html"),
        (503, "<html><body>Maintenance</body></html>", "text/html"),
        (200, '[{"idsite": "1", "na', "application/json"),  # truncated JSON
    ],
)
def test_transient_faults_at_the_first_request_are_retried_too(
    fake: FakeMatomo, status: int, body: str, content_type: str
) -> None:
    """A Matomo under maintenance or behind a failing proxy is not a wrong `url`."""
    fake.fail_next(status, body, times=2, content_type=content_type)
    assert client_for(fake, max_tries=3).call(SUMMARY_DAY) == recorded_body("0018")
    assert len(fake.requests) == 3


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, [7.0]),
        ({"Retry-After": "nan"}, [0.5]),  # unusable: the backoff
        ({"Retry-After": "-3"}, [0.0]),
        ({"Retry-After": "1e12"}, [300.0]),  # one wait is bounded
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, [0.0]),  # a date in the past
        ({}, [0.5]),
    ],
)
@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (429, "Too Many Requests", "text/plain"),
        (429, '{"result":"error","message":"Rate limit exceeded"}', "application/json"),
        (503, '{"result":"error","message":"Too many connections"}', "application/json"),
        (200, '{"result":"error","message":"MySQL server has gone away"}', "application/json"),
    ],
)
def test_retry_after_is_honoured_whatever_the_body(
    fake: FakeMatomo,
    headers: dict[str, str],
    expected: list[float],
    status: int,
    body: str,
    content_type: str,
) -> None:
    waits: list[float] = []
    fake.fail_next(status, body, headers=headers, content_type=content_type)
    client = client_for(fake, max_tries=2, retry_wait_seconds=0.5, sleep=waits.append)
    assert client.call(SUMMARY_DAY) == recorded_body("0018")
    assert waits == expected


def test_retry_after_as_a_date_waits_until_then(fake: FakeMatomo) -> None:
    later = email.utils.format_datetime(
        datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=60), usegmt=True
    )
    waits: list[float] = []
    fake.fail_next(429, headers={"Retry-After": later})
    client_for(fake, max_tries=2, sleep=waits.append).call(SUMMARY_DAY)
    assert 50 < waits[0] <= 60


def test_backoff_doubles_without_retry_after(fake: FakeMatomo) -> None:
    waits: list[float] = []
    fake.fail_next(503, times=3)
    client = client_for(fake, max_tries=4, retry_wait_seconds=1.5, sleep=waits.append)
    client.call(SUMMARY_DAY)
    assert waits == [1.5, 3.0, 6.0]


def test_waits_and_tries_are_bounded_whatever_the_settings(fake: FakeMatomo) -> None:
    """Absurd numbers (the schema refuses them) cannot overflow the client either."""
    waits: list[float] = []
    client = client_for(
        fake, max_tries=10**9, retry_wait_seconds=1e300, timeout=1e12, sleep=waits.append
    )
    assert client.max_tries == MAX_TRIES
    fake.fail_next(503, times=2)
    assert client.call(SUMMARY_DAY) == recorded_body("0018")  # no OverflowError
    assert waits == [300.0, 300.0]
    nan = client_for(fake, retry_wait_seconds=float("nan"), timeout=float("nan"))
    assert nan.retry_wait_seconds == 0.0
    assert nan.timeout > 0


def test_gives_up_with_a_clear_message(fake: FakeMatomo) -> None:
    fake.fail_next(502, times=3)
    with pytest.raises(MatomoError) as caught:
        client_for(fake, max_tries=3).call(SUMMARY_DAY)
    assert "giving up after 3 tries" in str(caught.value)
    assert "VisitsSummary.get" in str(caught.value)
    assert len(fake.requests) == 3


def test_an_answer_wrongly_labelled_compressed_is_retried_then_named(fake: FakeMatomo) -> None:
    """A proxy saying gzip over a plain body: Matomo was reached, so not 'could not reach'."""
    client = client_for(fake, max_tries=3)
    client.call(SUMMARY_DAY)
    plain = json.dumps(recorded_body("0018"))
    gzip_lie = {"Content-Encoding": "gzip"}
    fake.fail_next(200, plain, content_type="application/json", headers=gzip_lie)
    assert client.call(SUMMARY_DAY) == recorded_body("0018")  # retried
    fake.fail_next(200, plain, times=3, content_type="application/json", headers=gzip_lie)
    with pytest.raises(MatomoError) as caught:
        client.call(SUMMARY_DAY)
    assert "could not be decompressed" in str(caught.value)
    assert "could not reach" not in str(caught.value)
    assert len(fake.requests) == 1 + 2 + 3


@pytest.mark.parametrize(
    ("message", "advice"),
    [
        ("Mysql error: SQLSTATE[HY000] [2002] Connection refused", "MySQL server"),
        ("Maximum execution time of 30 seconds exceeded", "`bulk_request_size`"),
        ("Allowed memory size of 134217728 bytes exhausted", "`max_periods_per_request`"),
    ],
)
def test_giving_up_says_what_to_do_about_the_fault(
    fake: FakeMatomo, message: str, advice: str
) -> None:
    fake.fail_next(200, json.dumps({"result": "error", "message": message}), times=2)
    with pytest.raises(MatomoError) as caught:
        client_for(fake, max_tries=2).call(SUMMARY_DAY)
    assert message in str(caught.value)
    assert advice in str(caught.value)


def test_unreachable_server_at_the_first_request_names_url_at_once() -> None:
    client = MatomoClient(url="http://127.0.0.1:9", token_auth=TOKEN, max_tries=5)
    with pytest.raises(MatomoUrlError) as caught:
        client.call(SUMMARY_DAY)
    message = str(caught.value)
    assert "could not reach Matomo at http://127.0.0.1:9 (connection refused)" in message
    assert message.startswith("`url`:")
    assert client.request_count == 1  # no backoff for a wrong port


def test_a_host_name_that_does_not_resolve_names_url_at_once() -> None:
    client = MatomoClient(url="https://matomo.example.invalid", token_auth=TOKEN, max_tries=5)
    with pytest.raises(MatomoUrlError) as caught:
        client.call(SUMMARY_DAY)
    assert "the host name does not resolve" in str(caught.value)
    assert "Check `url`" in str(caught.value)
    assert client.request_count == 1


def test_connection_lost_later_in_a_run_is_retried() -> None:
    """Once Matomo has answered, a refused connection is a restart or a network blip."""
    waits: list[float] = []
    with FakeMatomo() as server:
        client = client_for(server, max_tries=3, sleep=waits.append)
        client.call(SUMMARY_DAY)
    client.session.close()  # the kept-alive connection outlives the server's listening socket
    with pytest.raises(MatomoError) as caught:
        client.call(SUMMARY_DAY)
    assert not isinstance(caught.value, MatomoUrlError)
    assert "giving up after 3 tries" in str(caught.value)
    assert "connection refused" in str(caught.value)
    assert client.request_count == 4
    assert len(waits) == 2


@pytest.mark.parametrize(
    ("status", "body", "content_type", "shown"),
    [
        (404, '{"detail": "Not Found"}', "application/json", "HTTP 404 (a JSON body)"),
        (405, "<html>Method Not Allowed</html>", "text/html", "HTTP 405 (an HTML page)"),
        (501, "Unsupported method ('POST')", "text/plain", "HTTP 501"),
        (200, "<!doctype html><html><h1>Our shop</h1></html>", "text/html", "an HTML page"),
        (200, "Hello, world", "text/plain", "a body that is not JSON"),
        (200, '{"status": "ok"}', "application/json", "JSON that is not Matomo's"),
        (401, "<html>401 Authorization Required</html>", "text/html", "https://user:password@"),
    ],
)
def test_a_server_that_is_not_matomo_is_named_at_the_first_request(
    fake: FakeMatomo, status: int, body: str, content_type: str, shown: str
) -> None:
    """Another web server or API behind `url`: one request, one message naming `url`."""
    fake.fail_next(status, body, content_type=content_type)
    call = ApiCall("SitesManager.getSitesWithAtLeastViewAccess", {"filter_limit": "-1"})
    with pytest.raises(MatomoUrlError) as caught:
        client_for(fake, max_tries=5).call(call)
    message = str(caught.value)
    assert message.startswith("`url`:")
    assert shown in message
    assert "Check `url`" in message
    assert len(fake.requests) == 1


def test_a_plain_web_server_is_named_at_the_first_request(tmp_path: Path) -> None:
    """A real static web server (Python's), which answers POST with 501."""
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        host, port = server.server_address[:2]
        client = MatomoClient(url=f"http://{host}:{port}", token_auth=TOKEN, max_tries=5)
        with pytest.raises(MatomoUrlError) as caught:
            client.call(SUMMARY_DAY)
    finally:
        server.shutdown()
        server.server_close()
    assert "HTTP 501" in str(caught.value)
    assert client.request_count == 1


def test_wrong_path_is_a_clear_fatal_error(fake: FakeMatomo) -> None:
    client = MatomoClient(url=fake.url + "/not-matomo", token_auth=TOKEN, max_tries=3)
    with pytest.raises(MatomoUrlError) as caught:
        client.call(SUMMARY_DAY)
    assert "HTTP 404" in str(caught.value)
    assert "/not-matomo/index.php" in str(caught.value)
    assert "Check `url`" in str(caught.value)
    assert len(fake.requests) == 1


def with_credentials(url: str) -> str:
    return url.replace("http://", "http://etl-user:s3cret-Pa55@")


@pytest.mark.parametrize(
    "breaks",
    [
        lambda fake: fake.fail_next(404, "<html>nope</html>"),
        lambda fake: fake.fail_next(200, "<html>a shop</html>"),
        lambda fake: fake.fail_next(503, times=2),
        lambda fake: fake.fail_next(
            200, '{"result":"error","message":"bad url http://etl-user:s3cret-Pa55@x/"}'
        ),
        lambda fake: fake.stop(),
    ],
    ids=["404", "html", "give-up", "echoed", "refused"],
)
def test_credentials_in_url_never_appear_in_a_message(
    fake: FakeMatomo, caplog: pytest.LogCaptureFixture, breaks: Callable[[FakeMatomo], None]
) -> None:
    caplog.set_level(logging.DEBUG, logger="tap-matomo")
    client = MatomoClient(url=with_credentials(fake.url), token_auth=TOKEN, max_tries=2)
    client._sleep = lambda seconds: None  # type: ignore[method-assign]
    breaks(fake)
    with pytest.raises(MatomoError) as caught:
        client.call(SUMMARY_DAY)
    shown = str(caught.value) + caplog.text
    assert "s3cret-Pa55" not in shown
    assert "etl-user" not in shown
    assert TOKEN not in shown
    assert "***@127.0.0.1" in shown


def test_credentials_in_url_are_sent_as_basic_auth(fake: FakeMatomo) -> None:
    """What they are for: a web server in front of Matomo that asks for a login."""
    client = MatomoClient(url=with_credentials(fake.url), token_auth=TOKEN)
    client.call(SUMMARY_DAY)
    (request,) = fake.requests
    assert request.headers["Authorization"].startswith("Basic ")
    assert client.shown_url == fake.url.replace("http://", "http://***@")


def test_token_echoed_in_an_error_is_scrubbed(fake: FakeMatomo) -> None:
    fake.handlers["VisitsSummary.get"] = lambda params: (
        200,
        {"result": "error", "message": f"bad request token_auth={params['token_auth']}"},
    )
    with pytest.raises(MatomoRequestError) as caught:
        client_for(fake).call(SUMMARY_DAY)
    assert TOKEN not in str(caught.value)
    assert "token_auth=***" in str(caught.value)


def test_bulk_returns_each_result_in_place_with_errors_isolated(fake: FakeMatomo) -> None:
    calls = [
        SUMMARY_DAY,
        ApiCall("Foo.bar", {"idSite": "1", "period": "day", "date": "2026-11-20"}),
        ApiCall(
            "VisitsSummary.get",
            {"idSite": "1", "period": "day", "date": "2026-11-20,2026-11-26", "filter_limit": "-1"},
        ),
    ]
    results = client_for(fake).bulk(calls)

    assert len(fake.requests) == 1
    (request,) = fake.requests
    assert request.api_method == "API.getBulkRequest"
    assert request.form["filter_limit"] == "-1"
    assert TOKEN not in request.raw_query
    assert results[0] == recorded_body("0018")
    assert isinstance(results[1], MatomoPluginNotActivatedError)
    assert list(results[2]) == list(recorded_body("0019"))  # one key per day, in order
    assert results[2] == fake.answer_call({"method": calls[2].method, **calls[2].params})[1]


def test_bulk_request_fault_is_retried_whole(fake: FakeMatomo) -> None:
    fake.fail_next(502, api_method="API.getBulkRequest")
    results = client_for(fake).bulk([SUMMARY_DAY, SUMMARY_DAY])
    assert results == [recorded_body("0018")] * 2
    assert [r.api_method for r in fake.requests] == ["API.getBulkRequest"] * 2


def test_bulk_request_body_is_form_encoded_urls(fake: FakeMatomo) -> None:
    client_for(fake).bulk([SUMMARY_DAY, SUMMARY_DAY])
    (request,) = fake.requests
    inner = request.form["urls[0]"]
    assert inner.startswith("method=VisitsSummary.get&")
    assert "token_auth" not in inner
    assert json.loads(json.dumps(request.form))  # plain strings only


def test_user_agent_names_the_tap_or_the_configured_agent(fake: FakeMatomo) -> None:
    client_for(fake).call(SUMMARY_DAY)
    client_for(fake, user_agent="acme-etl/2.1 (data@acme.test)").call(SUMMARY_DAY)
    agents = [request.headers["User-Agent"] for request in fake.requests]
    assert agents[0] == DEFAULT_USER_AGENT
    assert DEFAULT_USER_AGENT.startswith("tap-matomo/")
    assert agents[1] == "acme-etl/2.1 (data@acme.test)"


def test_a_slow_answer_is_a_timeout_retried_then_named(fake: FakeMatomo) -> None:
    """`request_timeout` bounds each try; the final message says which setting to raise."""
    recorded = recorded_body("0018")

    def slow(params: dict[str, str]) -> tuple[int, object]:
        time.sleep(1.5)
        return 200, recorded

    fake.handlers["VisitsSummary.get"] = slow
    waits: list[float] = []
    client = client_for(fake, timeout=0.5, max_tries=2, sleep=waits.append)
    with pytest.raises(MatomoError) as failure:
        client.call(SUMMARY_DAY)
    message = str(failure.value)
    assert "within 0.5s" in message
    assert "`request_timeout`" in message
    assert len(waits) == 1  # tried twice, waited once
    assert TOKEN not in message


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_not_followed_and_names_where_it_goes(fake: FakeMatomo, status: int) -> None:
    """`url` names the address Matomo answers at; nothing reaches the redirect's target.

    Followed, a 301/302 turned the POST into a GET without the token (Matomo then says the
    token is wrong), and a 307/308 sent the token to the new address.
    """
    with FakeMatomo() as elsewhere:
        other = elsewhere.url
        location = f"{other}/matomo/index.php?module=API&token_auth={TOKEN}"
        fake.fail_next(status, "", headers={"Location": location})
        with pytest.raises(MatomoUrlError) as failure:
            client_for(fake).call(SUMMARY_DAY)
        assert elsewhere.requests == []
    message = str(failure.value)
    assert message.startswith("`url`: ")
    assert f"redirects (HTTP {status}) to {other}/matomo/index.php" in message
    assert f"Set `url` to {other}/matomo if Matomo answers there" in message
    assert len(fake.requests) == 1  # not retried
    assert TOKEN not in message


def test_an_answer_nested_deeper_than_python_can_decode_is_a_malformed_answer(
    fake: FakeMatomo,
) -> None:
    """Not a RecursionError reported as a bug: a malformed answer, retried, then named."""
    deep = "[" * 100_000 + "]" * 100_000
    fake.fail_next(200, deep, content_type="application/json")
    client = client_for(fake, max_tries=1)
    with pytest.raises(MatomoError) as failure:
        client.call(SUMMARY_DAY)
    assert "expected JSON" in str(failure.value)
    assert "giving up after 1 try" in str(failure.value)


def test_an_answer_trickling_in_is_cut_at_request_timeout() -> None:
    """`request_timeout` bounds the whole answer, not each socket read.

    The fake sends a byte every 0.1 s, so that every read gets data in time: without a
    deadline for the whole answer the client waited for the fake to give up (12 s here, days
    for a real answer).
    """
    plan = FaultPlan(rate=1.0, seed=1, kinds=("trickled_answer",))
    with FakeMatomo(fault_plan=plan) as server:
        client = client_for(server, timeout=0.5, max_tries=2, sleep=lambda seconds: None)
        started = time.monotonic()
        with pytest.raises(MatomoError) as failure:
            client.call(SUMMARY_DAY)
        elapsed = time.monotonic() - started
    message = str(failure.value)
    assert "giving up after 2 tries" in message
    assert "within 0.5s (`request_timeout`)" in message
    assert elapsed < 3.0  # two tries of 0.5 s, and the time to start them
    assert plan.injected["trickled_answer"] == 2
    assert TOKEN not in message


def test_a_long_error_message_is_classified_whole_and_shown_cut() -> None:
    """Matomo in development mode adds a backtrace: the line stays readable, the kind right."""
    backtrace = "#0 /var/www/core/Db.php(123): PDO->query()\n" * 2_000
    fault = "SQLSTATE[HY000]: General error: 2006 MySQL server has gone away"
    error = classify_error(f"Boom\n{backtrace}{fault}", status=200, method="VisitsSummary.get")
    assert isinstance(error, MatomoTransientError)  # the fault at the end was found
    assert len(str(error)) < 1_200
    assert str(error).endswith("more characters not shown)")
    refused = classify_error("x" * 50_000, status=200, method="VisitsSummary.get")
    assert type(refused) is MatomoRequestError
    assert "(49,000 more characters not shown)" in str(refused)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("You cannot use this Matomo as your IP 10.0.0.7 is not allowed.", MatomoAuthError),
        ("Period 'range' is not allowed for this method.", MatomoRequestError),
    ],
)
def test_ip_allowlist_is_an_auth_error_other_refusals_are_not(
    message: str, expected: type[Exception]
) -> None:
    """Only the IP allowlist refusal gets the token hint; any other "not allowed" does not."""
    error = classify_error(message, status=200, method="VisitsSummary.get")
    assert type(error) is expected


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("request_timeout", 1e12),
        ("request_timeout", 0),
        ("retry_wait_seconds", -1),
        ("retry_wait_seconds", 1e9),
        ("max_tries", 0),
        ("max_tries", 10**6),
    ],
)
def test_request_settings_are_bounded_before_any_request(
    fake: FakeMatomo, name: str, value: float
) -> None:
    with pytest.raises(ConfigValidationError) as caught:
        TapMatomo(config=base_config(fake, **{name: value}), parse_env_config=False)
    assert f"`{name}`" in " ".join(caught.value.errors)
    assert fake.requests == []
