"""The Matomo client against the loopback fake: transport, error classes, retries, the token."""

from __future__ import annotations

import json
import time

import pytest

from tap_matomo.client import DEFAULT_USER_AGENT, ApiCall, MatomoClient, normalize_base_url
from tap_matomo.errors import (
    MatomoAuthError,
    MatomoError,
    MatomoNoDataError,
    MatomoPluginNotActivatedError,
    MatomoRequestError,
    classify_error,
)
from tests.fake_matomo import TOKEN, FakeMatomo, recorded_body

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
        (200, '{"nb_visits": 3, "nb_act', "application/json"),  # truncated JSON
        (200, "<!DOCTYPE html><html>proxy login</html>", "text/html"),
    ],
)
def test_transient_faults_are_retried_then_succeed(
    fake: FakeMatomo, status: int, body: str, content_type: str
) -> None:
    fake.fail_next(status, body, times=2, content_type=content_type)
    answer = client_for(fake, max_tries=3).call(SUMMARY_DAY)
    assert answer == recorded_body("0018")
    assert len(fake.requests) == 3


def test_429_honours_retry_after(fake: FakeMatomo) -> None:
    waits: list[float] = []
    fake.fail_next(429, "Too Many Requests", headers={"Retry-After": "7"})
    client = client_for(fake, max_tries=2, retry_wait_seconds=0.5)
    client._sleep = waits.append  # type: ignore[method-assign]
    assert client.call(SUMMARY_DAY) == recorded_body("0018")
    assert waits == [7.0]


def test_unusable_retry_after_falls_back_to_backoff(fake: FakeMatomo) -> None:
    waits: list[float] = []
    fake.fail_next(429, "Too Many Requests", headers={"Retry-After": "nan"})
    client = client_for(fake, max_tries=2, retry_wait_seconds=0.5)
    client._sleep = waits.append  # type: ignore[method-assign]
    assert client.call(SUMMARY_DAY) == recorded_body("0018")
    assert waits == [0.5]


def test_backoff_doubles_without_retry_after(fake: FakeMatomo) -> None:
    waits: list[float] = []
    fake.fail_next(503, times=3)
    client = client_for(fake, max_tries=4, retry_wait_seconds=1.5)
    client._sleep = waits.append  # type: ignore[method-assign]
    client.call(SUMMARY_DAY)
    assert waits == [1.5, 3.0, 6.0]


def test_gives_up_with_a_clear_message(fake: FakeMatomo) -> None:
    fake.fail_next(502, times=3)
    with pytest.raises(MatomoError) as caught:
        client_for(fake, max_tries=3).call(SUMMARY_DAY)
    assert "giving up after 3 tries" in str(caught.value)
    assert "VisitsSummary.get" in str(caught.value)
    assert len(fake.requests) == 3


def test_unreachable_server_is_retried_then_named() -> None:
    client = MatomoClient(
        url="http://127.0.0.1:9", token_auth=TOKEN, max_tries=2, retry_wait_seconds=0
    )
    with pytest.raises(MatomoError) as caught:
        client.call(SUMMARY_DAY)
    assert "could not reach Matomo at http://127.0.0.1:9" in str(caught.value)
    assert "Check `url`" in str(caught.value)
    assert client.request_count == 2


def test_wrong_path_is_a_clear_fatal_error(fake: FakeMatomo) -> None:
    client = MatomoClient(url=fake.url + "/not-matomo", token_auth=TOKEN, max_tries=3)
    with pytest.raises(MatomoRequestError) as caught:
        client.call(SUMMARY_DAY)
    assert "HTTP 404" in str(caught.value)
    assert "Check `url`" in str(caught.value)
    assert len(fake.requests) == 1


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
