"""The one place where HTTP requests to Matomo are built, sent, retried and checked.

Every call is ``POST {url}/index.php?module=API&method=X&format=JSON`` with the parameters and the
``token_auth`` in the form body, so the token never reaches a URL, a proxy log or an SDK metric.
``module``/``method``/``format`` stay in the query string: without them Matomo renders errors
raised before dispatch (bad token, database down) as HTML instead of JSON.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import quote, urlencode

import requests
from singer_sdk import metrics

from tap_matomo.errors import (
    MatomoError,
    MatomoRequestError,
    MatomoTransientError,
    classify_error,
)

LOGGER = logging.getLogger("tap-matomo")

try:
    DEFAULT_USER_AGENT = f"tap-matomo/{version('tap-matomo')}"
except PackageNotFoundError:  # pragma: no cover - running from a source tree not installed
    DEFAULT_USER_AGENT = "tap-matomo"

#: The longest single wait between two tries, whatever Retry-After asks for.
MAX_RETRY_WAIT_SECONDS = 300.0


@dataclass(frozen=True)
class ApiCall:
    """One Matomo API method call with its parameters (never the token)."""

    method: str
    params: Mapping[str, str] = field(default_factory=dict)

    def query_string(self) -> str:
        """Render the call as the inner URL of an ``API.getBulkRequest``."""
        return urlencode({"method": self.method, **self.params}, quote_via=quote)

    def describe(self) -> str:
        """Short human description for logs and error messages."""
        shown = ", ".join(f"{k}={v}" for k, v in self.params.items() if k != "filter_limit")
        return f"{self.method}({shown})"


def normalize_base_url(url: str) -> str:
    """Accept ``https://host/matomo``, ``.../matomo/`` and ``.../matomo/index.php`` alike."""
    base = url.strip().rstrip("/")
    if base.endswith("/index.php"):
        base = base[: -len("/index.php")]
    return base.rstrip("/")


class MatomoClient:
    """A small Matomo Reporting API client: POST only, classified errors, retries with backoff."""

    def __init__(
        self,
        *,
        url: str,
        token_auth: str,
        timeout: float = 300.0,
        verify_ssl: bool = True,
        user_agent: str | None = None,
        max_tries: int = 5,
        retry_wait_seconds: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = normalize_base_url(url)
        self._token = token_auth
        self.timeout = timeout
        self.max_tries = max(1, max_tries)
        self.retry_wait_seconds = retry_wait_seconds
        self._sleep = sleep
        self.session = requests.Session()
        self.session.verify = verify_ssl
        # Matomo admins see who asks in their logs: the tap by default, or the configured agent.
        self.session.headers["User-Agent"] = user_agent or DEFAULT_USER_AGENT
        #: HTTP requests sent so far (a bulk request counts once); read by the benchmark.
        self.request_count = 0

    # -- public API -------------------------------------------------------------------------

    def call(self, call: ApiCall) -> Any:
        """Send one API call and return its decoded JSON result, raising a MatomoError."""
        return self._with_retries(call.describe(), lambda: self._send(call.method, call.params))

    def bulk(self, calls: Sequence[ApiCall]) -> list[Any | MatomoError]:
        """Send many calls in one ``API.getBulkRequest``; each result is its call's own.

        A failed sub-call yields its classified exception in its slot (so a caller can skip a
        missing plugin without losing the other results). Sub-calls that failed transiently are
        sent again, with backoff, up to the configured number of tries.
        """
        results: list[Any | MatomoError] = [None] * len(calls)
        pending = list(range(len(calls)))
        for attempt in range(1, self.max_tries + 1):
            batch = [calls[i] for i in pending]
            answers = self._bulk_once(batch) if len(batch) > 1 else [self._try_single(batch[0])]
            retry: list[int] = []
            # The error of the first failing call: the one named when giving up.
            first_transient: MatomoTransientError | None = None
            for index, answer in zip(pending, answers, strict=True):
                if isinstance(answer, MatomoTransientError):
                    retry.append(index)
                    first_transient = first_transient or answer
                else:
                    results[index] = answer
            if not retry:
                return results
            assert first_transient is not None
            if attempt == self.max_tries:
                raise self._gave_up(calls[retry[0]].describe(), first_transient)
            self._wait(attempt, first_transient, f"{len(retry)} bulk sub-request(s)")
            pending = retry
        return results  # pragma: no cover - the loop always returns or raises

    # -- internals ---------------------------------------------------------------------------

    def _try_single(self, call: ApiCall) -> Any | MatomoError | MatomoTransientError:
        try:
            return self._send(call.method, call.params)
        except (MatomoError, MatomoTransientError) as exc:
            return exc

    def _bulk_once(self, calls: Sequence[ApiCall]) -> list[Any | MatomoError]:
        params = {f"urls[{i}]": call.query_string() for i, call in enumerate(calls)}
        params["filter_limit"] = "-1"  # the result list is itself truncated to 100 otherwise
        answer = self._with_retries(
            f"API.getBulkRequest({len(calls)} calls)",
            lambda: self._send("API.getBulkRequest", params),
        )
        if not isinstance(answer, list) or len(answer) != len(calls):
            raise MatomoRequestError(
                f"expected a list of {len(calls)} results, got {type(answer).__name__}"
                f"{' of ' + str(len(answer)) if isinstance(answer, list) else ''}",
                method="API.getBulkRequest",
            )
        results: list[Any | MatomoError] = []
        for call, item in zip(calls, answer, strict=True):
            if _is_error(item):
                results.append(classify_error(self._scrub(item["message"]), method=call.method))
            else:
                results.append(item)
        return results

    def _with_retries(self, what: str, send: Callable[[], Any]) -> Any:
        for attempt in range(1, self.max_tries + 1):
            try:
                return send()
            except MatomoTransientError as exc:
                if attempt == self.max_tries:
                    raise self._gave_up(what, exc) from None
                self._wait(attempt, exc, what)
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, attempt: int, exc: MatomoTransientError, what: str) -> None:
        wait = exc.retry_after
        if wait is None:
            wait = self.retry_wait_seconds * 2 ** (attempt - 1)
        wait = min(max(wait, 0.0), MAX_RETRY_WAIT_SECONDS)
        LOGGER.warning(
            "Retrying %s in %.1fs (try %d of %d): %s", what, wait, attempt + 1, self.max_tries, exc
        )
        self._sleep(wait)

    def _gave_up(self, what: str, exc: MatomoTransientError) -> MatomoError:
        tries = "1 try" if self.max_tries == 1 else f"{self.max_tries} tries"
        return MatomoError(
            f"{what}: giving up after {tries}. Last error: {str(exc).rstrip('.')}. "
            "Matomo or the network in between is failing; try again later, or raise "
            "`request_timeout` for slow archives."
        )

    def _send(self, method: str, params: Mapping[str, str]) -> Any:
        """One HTTP round trip: returns decoded JSON or raises a classified error."""
        url = f"{self.base_url}/index.php"
        query = {"module": "API", "method": method, "format": "JSON"}
        body = {**params, "token_auth": self._token}
        self.request_count += 1
        started = time.monotonic()
        # The SDK's `http_request_duration` metric, as its REST streams log it (no URL: POST).
        timer = metrics.Timer(metrics.Metric.HTTP_REQUEST_DURATION, {metrics.Tag.ENDPOINT: method})
        try:
            with timer:
                response = self.session.post(url, params=query, data=body, timeout=self.timeout)
                timer.tags[metrics.Tag.HTTP_STATUS_CODE] = response.status_code
                ok = response.status_code < 400
                timer.tags[metrics.Tag.STATUS] = (
                    metrics.Status.SUCCEEDED if ok else metrics.Status.FAILED
                )
        except requests.exceptions.Timeout as exc:
            raise MatomoTransientError(
                f"{method}: no answer from {self.base_url} within {self.timeout:g}s "
                "(`request_timeout`)"
            ) from exc
        except requests.exceptions.SSLError as exc:
            raise MatomoRequestError(
                f"TLS error talking to {self.base_url}: {self._scrub(str(exc))}. Check `url`; "
                "set `verify_ssl` to false only for a server you trust.",
                method=method,
            ) from exc
        except requests.exceptions.RequestException as exc:
            raise MatomoTransientError(
                f"{method}: could not reach Matomo at {self.base_url} "
                f"({type(exc).__name__}). Check `url` and the network."
            ) from exc
        LOGGER.debug(
            "POST %s method=%s -> HTTP %s in %.2fs",
            url,
            method,
            response.status_code,
            time.monotonic() - started,
        )
        return self._decode(method, response)

    def _decode(self, method: str, response: requests.Response) -> Any:
        status = response.status_code
        text = response.text
        try:
            payload = json.loads(text)
        except ValueError:
            payload = None
            decoded = False
        else:
            decoded = True
        if decoded and _is_error(payload):
            raise classify_error(self._scrub(str(payload["message"])), status=status, method=method)
        if status == 429 or status >= 500:
            raise MatomoTransientError(
                f"{method}: HTTP {status} from Matomo", retry_after=_retry_after(response)
            )
        if status in (401, 403):
            raise classify_error(f"HTTP {status}", status=status, method=method)
        if status >= 400:
            raise MatomoRequestError(
                f"HTTP {status} from {response.url.split('?')[0]}. Check `url`: it should be the "
                "address of the Matomo installation (where index.php lives).",
                method=method,
            )
        if not decoded:
            kind = "an HTML page" if "<html" in text[:500].lower() else "a malformed JSON body"
            raise MatomoTransientError(
                f"{method}: expected JSON, got {kind} ({len(text)} bytes, "
                f"content-type {response.headers.get('content-type', '?')}). A proxy error page "
                "or a truncated answer; if it persists check that `url` points at Matomo."
            )
        return payload

    def _scrub(self, text: str) -> str:
        """Remove the token (raw or URL-encoded) from text that Matomo might echo back."""
        if not self._token:
            return text
        for form in {self._token, quote(self._token, safe="")}:
            text = text.replace(form, "***")
        return text


def _is_error(payload: Any) -> bool:
    return isinstance(payload, dict) and payload.get("result") == "error" and "message" in payload


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return None if math.isnan(seconds) else seconds  # time.sleep(nan) raises
