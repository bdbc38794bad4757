"""The one place where HTTP requests to Matomo are built, sent, retried and checked.

Every call is ``POST {url}/index.php?module=API&method=X&format=JSON`` with the parameters and the
``token_auth`` in the form body, so the token never reaches a URL, a proxy log or an SDK metric.
``module``/``method``/``format`` stay in the query string: without them Matomo renders errors
raised before dispatch (bad token, database down) as HTML instead of JSON.

Until the server has answered once like Matomo, an answer that Matomo never gives (a web page, a
404, another JSON API) or a failed connection is a problem with `url`, reported at once; after
that, the same faults are taken as transient and retried. Credentials inside `url` (HTTP basic
auth in front of Matomo) are masked wherever the URL is shown, as the token is.
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import quote, urlencode, urljoin

import requests
from singer_sdk import metrics
from urllib3.exceptions import NameResolutionError, NewConnectionError

from tap_matomo import answers
from tap_matomo.errors import (
    NETWORK,
    RATE_LIMIT,
    SERVER,
    TIMEOUT,
    MatomoError,
    MatomoRequestError,
    MatomoTransientError,
    MatomoUnavailableError,
    MatomoUrlError,
    classify_error,
    mask_url,
)
from tap_matomo.masking import mask_secrets
from tap_matomo.settings_schema import (
    MAX_REQUEST_TIMEOUT_SECONDS,
    MAX_RETRY_WAIT_SECONDS,
    MAX_TRIES,
)

LOGGER = logging.getLogger("tap-matomo")

try:
    DEFAULT_USER_AGENT = f"tap-matomo/{version('tap-matomo')}"
except PackageNotFoundError:  # pragma: no cover - running from a source tree not installed
    DEFAULT_USER_AGENT = "tap-matomo"

#: Seconds to establish a TCP connection (at most `request_timeout`): a server that does not
#: accept connections is not going to archive any faster.
CONNECT_TIMEOUT_SECONDS = 15.0
#: Bytes of an answer read at once. requests reads 10 KB at a time (8 KB socket reads): a
#: report answer of a few MB took hundreds of reads, each waiting for the interpreter's lock
#: while the records of earlier answers were written, so requests side by side were slow. 1 MB:
#: a few reads an answer (4 MB held 10 MB more at the peak of a backfill, for no speed).
BODY_READ_BYTES = 1024 * 1024
#: Statuses without a Matomo answer that mean `url` is wrong, even in the middle of a run: not
#: found, method not allowed or not implemented, a login asked by a server in front of Matomo.
NOT_MATOMO_STATUSES = frozenset({401, 403, 404, 405, 501})
#: Methods whose every Matomo answer is a JSON list: any other answer is not from Matomo.
LIST_METHODS = frozenset({"SitesManager.getSitesWithAtLeastViewAccess", "API.getBulkRequest"})
#: Statuses that a server in front of Matomo answers while Matomo is down or overloaded.
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 507, 520, 521, 522, 523, 524})


@dataclass(frozen=True)
class ApiCall:
    """One Matomo API method call with its parameters (never the token)."""

    method: str
    params: Mapping[str, str] = field(default_factory=dict)

    @functools.cached_property
    def key(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        """The call as a dict key: its method and parameters, whatever their order.

        Kept once made: the read-ahead looks calls up many times each.
        """
        return self.method, tuple(sorted(self.params.items()))

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
        max_tries: int = 8,
        retry_wait_seconds: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        on_retry: Callable[[MatomoTransientError], None] | None = None,
    ) -> None:
        self.base_url = normalize_base_url(url)
        #: The URL as messages show it: credentials inside it masked.
        self.shown_url = mask_url(self.base_url)
        self._token = token_auth
        #: What `_scrub` masks: the token, and a password written into `url`.
        self._secrets = {"token_auth": token_auth, "url": url}
        self.timeout = _bounded(timeout, 0.001, MAX_REQUEST_TIMEOUT_SECONDS)
        self.max_tries = int(_bounded(max_tries, 1, MAX_TRIES))
        self.retry_wait_seconds = _bounded(retry_wait_seconds, 0.0, MAX_RETRY_WAIT_SECONDS)
        self._sleep = sleep
        #: Whether the server has answered at all, and once like Matomo (see the module doc).
        self._connected = False
        self._matomo_seen = False
        #: Told of every retry (the run lowers its concurrency), from the retrying thread.
        self._on_retry = on_retry
        self._verify_ssl = verify_ssl
        # Matomo admins see who asks in their logs: the tap by default, or the configured agent.
        self._user_agent = user_agent or DEFAULT_USER_AGENT
        # A requests.Session is not thread-safe: one per thread that sends (see runtime.py).
        self._local = threading.local()
        self._count_lock = threading.Lock()
        #: HTTP requests sent so far (a bulk request counts once); read by the benchmark.
        self.request_count = 0

    @property
    def session(self) -> requests.Session:
        """The calling thread's HTTP session (keep-alive connections are per thread)."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.verify = self._verify_ssl
            session.headers["User-Agent"] = self._user_agent
            self._local.session = session
        return session

    # -- public API -------------------------------------------------------------------------

    def call(self, call: ApiCall, *, held: bool = False) -> Any:
        """Send one API call and return its decoded JSON result, raising a MatomoError.

        ``held``: a report answer comes as an ``answers.HeldAnswer`` (checked, measured, decoded
        when taken) rather than decoded.
        """
        return self._with_retries(
            call.describe(), lambda: self._send(call.method, call.params, held=held)
        )

    def bulk(self, calls: Sequence[ApiCall], *, held: bool = False) -> list[Any | MatomoError]:
        """Send many calls in one ``API.getBulkRequest``; each result is its call's own.

        A failed sub-call yields its classified exception in its slot (so a caller can skip a
        missing plugin without losing the other results). Sub-calls that failed transiently are
        sent again, with backoff, up to the configured number of tries. ``held``: as for
        :meth:`call`, each report answer.
        """
        results: list[Any | MatomoError] = [None] * len(calls)
        pending = list(range(len(calls)))
        for attempt in range(1, self.max_tries + 1):
            batch = [calls[i] for i in pending]
            answers = (
                self._bulk_once(batch, held=held)
                if len(batch) > 1
                else [self._try_single(batch[0], held=held)]
            )
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

    def _try_single(self, call: ApiCall, *, held: bool) -> Any | MatomoError | MatomoTransientError:
        try:
            return self._send(call.method, call.params, held=held)
        except (MatomoError, MatomoTransientError) as exc:
            return exc

    def _bulk_once(self, calls: Sequence[ApiCall], *, held: bool) -> list[Any | MatomoError]:
        params = {f"urls[{i}]": call.query_string() for i, call in enumerate(calls)}
        params["filter_limit"] = "-1"  # the result list is itself truncated to 100 otherwise
        answer = self._with_retries(
            f"API.getBulkRequest({len(calls)} calls)",
            lambda: self._send("API.getBulkRequest", params, held=held, bulk=True),
        )
        if not isinstance(answer, list) or len(answer) != len(calls):
            raise MatomoRequestError(
                f"expected a list of {len(calls)} results, got {type(answer).__name__}"
                f"{' of ' + str(len(answer)) if isinstance(answer, list) else ''}",
                method="API.getBulkRequest",
            )
        results: list[Any | MatomoError] = []
        for call, item in zip(calls, answer, strict=True):
            if answers.is_error(item):
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
            wait = self.retry_wait_seconds * 2 ** min(attempt - 1, 30)
        wait = _bounded(wait, 0.0, MAX_RETRY_WAIT_SECONDS)
        LOGGER.warning(
            "Retrying %s in %.1fs (try %d of %d): %s", what, wait, attempt + 1, self.max_tries, exc
        )
        if self._on_retry is not None:
            self._on_retry(exc)
        self._sleep(wait)

    def _gave_up(self, what: str, exc: MatomoTransientError) -> MatomoUnavailableError:
        tries = "1 try" if self.max_tries == 1 else f"{self.max_tries} tries"
        return MatomoUnavailableError(
            f"{what}: giving up after {tries}. Last error: {str(exc).rstrip('.')}. {exc.advice}"
        )

    def _send(
        self, method: str, params: Mapping[str, str], *, held: bool = False, bulk: bool = False
    ) -> Any:
        """One HTTP round trip: returns decoded JSON or raises a classified error.

        ``held``: report answers held as text (``answers.hold``); ``bulk``: each answer of the
        bulk request's list.
        """
        url = f"{self.base_url}/index.php"
        query = {"module": "API", "method": method, "format": "JSON"}
        body = {**params, "token_auth": self._token}
        with self._count_lock:
            self.request_count += 1
        started = time.monotonic()
        # The SDK's `http_request_duration` metric, as its REST streams log it (no URL: POST).
        timer = metrics.Timer(metrics.Metric.HTTP_REQUEST_DURATION, {metrics.Tag.ENDPOINT: method})
        try:
            with timer:
                response = self.session.post(
                    url,
                    params=query,
                    data=body,
                    timeout=(min(CONNECT_TIMEOUT_SECONDS, self.timeout), self.timeout),
                    stream=True,
                    allow_redirects=False,  # see _redirect
                )
                response._content = _read_body(response, started + self.timeout)
                timer.tags[metrics.Tag.HTTP_STATUS_CODE] = response.status_code
                ok = response.status_code < 400
                timer.tags[metrics.Tag.STATUS] = (
                    metrics.Status.SUCCEEDED if ok else metrics.Status.FAILED
                )
        except requests.exceptions.Timeout as exc:
            raise MatomoTransientError(
                f"{method}: no complete answer from {self.shown_url} within {self.timeout:g}s "
                "(`request_timeout`)",
                kind=TIMEOUT,
            ) from exc
        except requests.exceptions.SSLError as exc:
            raise MatomoUrlError(
                f"TLS error talking to {self.shown_url}: {self._scrub(str(exc))}. Check `url`; "
                "set `verify_ssl` to false only for a server you trust.",
                method=method,
            ) from exc
        except requests.exceptions.ContentDecodingError as exc:
            # Matomo was reached: the answer says it is compressed and is not (a proxy's fault)
            raise MatomoTransientError(
                f"{method}: the answer from {self.shown_url} could not be decompressed (its "
                "Content-Encoding header does not match its body)",
                kind=SERVER,
            ) from exc
        except requests.exceptions.RequestException as exc:
            reason = _connect_failure(exc)
            if reason is not None and not self._connected:
                # The first request: a wrong host or port, not a fault worth minutes of backoff.
                raise MatomoUrlError(
                    f"`url`: could not reach Matomo at {self.shown_url} ({reason}). Check `url` "
                    "(scheme, host name and port) and that this machine can reach it."
                ) from None
            raise MatomoTransientError(
                f"{method}: could not reach Matomo at {self.shown_url} "
                f"({reason or type(exc).__name__})",
                kind=NETWORK,
            ) from exc
        self._connected = True
        LOGGER.debug(
            "POST %s/index.php method=%s -> HTTP %s in %.2fs",
            self.shown_url,
            method,
            response.status_code,
            time.monotonic() - started,
        )
        return self._decode(method, response, held=held, bulk=bulk)

    def _decode(self, method: str, response: requests.Response, *, held: bool, bulk: bool) -> Any:
        """The JSON answer, or the classified error (one classification for every status)."""
        status = response.status_code
        retry_after = _retry_after(response)
        payload, text = _json_body(response, held=held and status < 300, bulk=bulk)
        decoded = text is None
        if decoded and answers.is_error(payload):
            self._matomo_seen = True
            error = classify_error(
                self._scrub(str(payload["message"])), status=status, method=method
            )
            if isinstance(error, MatomoTransientError) and retry_after is not None:
                error.retry_after = retry_after
            raise error
        kind = _body_kind(text or "", decoded)
        if 300 <= status < 400:
            raise self._redirect(response)
        if status in TRANSIENT_STATUSES:
            raise MatomoTransientError(
                f"{method}: HTTP {status} from Matomo ({kind})",
                retry_after=retry_after,
                kind=RATE_LIMIT if status == 429 else SERVER,
            )
        if status >= 400:
            # No Matomo envelope: a web server, a proxy or another API answered, not Matomo
            # (Matomo answers its own errors, a bad token included, with the envelope).
            if self._matomo_seen and status not in NOT_MATOMO_STATUSES:
                raise MatomoRequestError(
                    f"HTTP {status} ({kind}) from {self.shown_url}/index.php: a web server or "
                    "proxy in front of Matomo refused the request.",
                    method=method,
                )
            raise self._not_matomo(f"HTTP {status} ({kind})", status)
        if text is not None:  # not decoded
            if not self._matomo_seen and not _maybe_truncated(text):
                raise self._not_matomo(f"HTTP {status} with {kind}", status)
            raise MatomoTransientError(
                f"{method}: expected JSON, got {kind} ({len(text)} bytes, content-type "
                f"{response.headers.get('content-type', '?')}). A proxy error page or a "
                "truncated answer; if it persists check that `url` points at Matomo."
            )
        if not self._matomo_seen:
            kind = answers.type_name(payload)
            if method in LIST_METHODS and kind != "list":
                raise self._not_matomo(
                    f"HTTP {status} with JSON that is not Matomo's (a {kind} "
                    f"where Matomo answers {method} with a list)",
                    status,
                )
            self._matomo_seen = True
        return payload

    def _not_matomo(self, answer: str, status: int) -> MatomoUrlError:
        hint = (
            " If a web server in front of Matomo asks for a login, put it in `url` "
            "(https://user:password@host/)."
            if status in (401, 403)
            else ""
        )
        return MatomoUrlError(
            f"`url`: {self.shown_url}/index.php answered {answer}, not like Matomo's API. Check "
            "`url`: it should be the address of the Matomo installation, where its index.php "
            "lives (e.g. https://analytics.example.com or https://example.com/matomo), not the "
            f"website it tracks.{hint}"
        )

    def _redirect(self, response: requests.Response) -> MatomoUrlError:
        """A redirect is not followed: it names the address to put in `url` instead.

        Followed, a 301 or 302 turns the POST into a GET without its body, so Matomo answers
        as if the token were wrong; a 307 or 308 would send the token to another address.
        """
        location = response.headers.get("location")
        if not location:
            return self._not_matomo(f"HTTP {response.status_code} without a Location", 300)
        target = urljoin(response.url, location).split("?")[0].split("#")[0]
        target = target.removesuffix("index.php").rstrip("/")
        return MatomoUrlError(
            f"`url`: {self.shown_url}/index.php redirects (HTTP {response.status_code}) to "
            f"{self._scrub(target)}/index.php. Set `url` to {self._scrub(target)} if Matomo "
            "answers there: the tap does not follow redirects, which drop the token (or send "
            "it elsewhere)."
        )

    def _scrub(self, text: str) -> str:
        """Remove the token and `url` credentials from text that Matomo or requests echo."""
        return mask_url(mask_secrets(text, self._secrets))


def _json_body(
    response: requests.Response, *, held: bool = False, bulk: bool = False
) -> tuple[Any, str | None]:
    """``(payload, None)`` for a JSON body; ``(None, its text)`` for any other body.

    A UTF-8 body is decoded by ``answers.decode`` (msgspec from its bytes, ``json.loads`` of
    its text for what msgspec refuses), another charset by ``json.loads`` of requests' text.
    ``held``: the answer (``bulk``: each answer of the list) is held as text
    (``answers.hold``) when it can be read that way, else decoded as above.
    """
    if _is_utf8(response.encoding):
        content = response.content
        if held:
            try:
                return (answers.hold_each(content) if bulk else answers.hold(content)), None
            except answers.UNREADABLE:
                pass
        try:
            return answers.decode(content), None
        except answers.Unreadable:
            return None, response.text
    text = response.text
    try:
        return json.loads(text), None
    except (ValueError, RecursionError):  # nested deeper than any answer of Matomo's
        return None, text


@functools.cache
def _is_utf8(encoding: str | None) -> bool:
    """True when requests decodes the body's text as plain UTF-8 (the header's charset)."""
    try:
        return encoding is not None and codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


def _retry_after(response: requests.Response) -> float | None:
    """The wait a ``Retry-After`` header asks for (seconds or an HTTP date), if usable."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - time.time()
    return None if math.isnan(seconds) else max(seconds, 0.0)  # time.sleep(nan) raises


def _bounded(value: float, low: float, high: float) -> float:
    """``value`` within ``[low, high]``; NaN is ``low`` (it compares false with everything)."""
    number = float(value)
    return low if math.isnan(number) else min(max(number, low), high)


def _read_body(response: requests.Response, deadline: float) -> bytes:
    """The whole body by ``deadline`` (``time.monotonic``), else ``requests``' ReadTimeout.

    What ``response.content`` does, in reads of BODY_READ_BYTES (errors the same). The read
    timeout bounds each socket read only: a server (or a proxy) that sends a few bytes now and
    then would keep one answer coming for days. At the deadline a watchdog shuts the socket
    down, which ends the read at once.
    """
    expired = threading.Event()

    def stop() -> None:
        expired.set()
        # the read may have just ended and given its connection back: nothing to stop then
        with contextlib.suppress(Exception):
            response.raw.shutdown()

    watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), stop)
    watchdog.daemon = True
    watchdog.start()
    try:
        body = b"".join(response.iter_content(BODY_READ_BYTES))
    except requests.exceptions.RequestException:
        if not expired.is_set():
            raise
        body = b""
    finally:
        watchdog.cancel()
    if expired.is_set():
        response.close()
        raise requests.exceptions.ReadTimeout("the whole answer did not arrive in time")
    return body


def _connect_failure(exc: requests.exceptions.RequestException) -> str | None:
    """Why no connection could be made at all, or None when it broke after connecting."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    if isinstance(reason, NameResolutionError):
        return "the host name does not resolve"
    if isinstance(reason, NewConnectionError):
        if isinstance(reason.__cause__, ConnectionRefusedError) or "refused" in str(reason):
            return "connection refused"
        return "no connection"
    return None


def _body_kind(text: str, decoded: bool) -> str:
    """A short description of an answer's body, for messages."""
    if decoded:
        return "a JSON body"
    head = text[:500].lower()
    if "<html" in head or "<!doctype html" in head:
        return "an HTML page"
    if not text.strip():
        return "an empty body"
    return "a truncated JSON body" if _maybe_truncated(text) else "a body that is not JSON"


def _maybe_truncated(text: str) -> bool:
    """True for a body that may be a JSON answer cut short (or empty: PHP died)."""
    stripped = text.lstrip()
    return not stripped or stripped[0] in "{["
