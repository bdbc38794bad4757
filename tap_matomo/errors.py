"""Matomo errors, classified by what the tap should do about them.

Matomo answers most errors as HTTP 200 with ``{"result": "error", "message": ...}``; authentication
fails with 401, PHP fatals with 500 and proxies with HTML pages. :func:`classify_error` turns a
message (and status) into one of the exception types below, so every caller reacts the same way:
authentication and access problems are fatal and never retried (Matomo locks out an IP after 20
failed logins), a missing plugin can be skipped by a stream, transient faults are retried.
"""

from __future__ import annotations

import html
import re
from typing import Literal

from singer_sdk.exceptions import FatalAPIError, RetriableAPIError


class MatomoError(FatalAPIError):
    """Any error answered by Matomo (or on the way to it) that ends the call."""

    def __init__(self, message: str, *, method: str | None = None) -> None:
        self.method = method
        self.detail = message
        prefix = f"Matomo API call {method} failed: " if method else ""
        super().__init__(prefix + message)


class MatomoAuthError(MatomoError):
    """The token is wrong, expired, or lacks view access: check `token_auth` and `site_ids`."""


class MatomoPluginNotActivatedError(MatomoError):
    """The report's plugin is not installed or not activated on this Matomo server."""

    def __init__(self, message: str, *, plugin: str, method: str | None = None) -> None:
        self.plugin = plugin
        super().__init__(message, method=method)


class MatomoNoDataError(MatomoError):
    """Matomo has no data for the requested item (Transitions' ``NoDataForAction``)."""


class MatomoRequestError(MatomoError):
    """Matomo refused the request's parameters (bad date, period, site, method...)."""


class MatomoSegmentError(MatomoRequestError):
    """Matomo refused the `segment` setting (unknown name, syntax, permission, disabled)."""


class MatomoUrlError(MatomoError):
    """The server at `url` cannot be reached, or does not answer like Matomo's API."""


class MatomoUnavailableError(MatomoError):
    """Matomo kept failing, or could not be reached, through every try of a request."""


#: What a transient fault was, for the advice given when the tries run out.
TransientKind = Literal["database", "php_limit", "timeout", "rate_limit", "network", "server"]
DATABASE: TransientKind = "database"
PHP_LIMIT: TransientKind = "php_limit"
TIMEOUT: TransientKind = "timeout"
RATE_LIMIT: TransientKind = "rate_limit"
NETWORK: TransientKind = "network"
SERVER: TransientKind = "server"

_GIVE_UP_ADVICE: dict[TransientKind, str] = {
    DATABASE: "Matomo's database kept failing; try again later, and if it persists check the "
    "MySQL server (is it up, max_connections, locks held by archiving).",
    PHP_LIMIT: "Matomo kept hitting a PHP limit (max_execution_time or memory_limit) while "
    "answering: lower `bulk_request_size` or `max_periods_per_request` so that each request "
    "asks less, raise the limit in Matomo's php.ini, or archive reports ahead with Matomo's "
    "core:archive cron.",
    TIMEOUT: "Matomo may be archiving on request: raise `request_timeout`, or lower "
    "`bulk_request_size` or `max_periods_per_request`.",
    RATE_LIMIT: "Matomo (or Matomo Cloud) is limiting requests from this address; try again later.",
    NETWORK: "Check `url` and the network between here and Matomo.",
    SERVER: "Matomo or the network in between is failing; try again later.",
}


class MatomoTransientError(RetriableAPIError):
    """A fault worth retrying: 5xx, 429, network, HTML or truncated answers, database faults."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, kind: TransientKind = SERVER
    ) -> None:
        self.retry_after = retry_after
        self.kind = kind
        super().__init__(message)

    @property
    def advice(self) -> str:
        """What the user can do when the tries run out."""
        return _GIVE_UP_ADVICE[self.kind]


#: The credentials part of any URL in a text: ``https://user:pw@host`` -> ``https://***@host``.
_URL_CREDENTIALS = re.compile(r"\b([a-z][a-z0-9+.-]*://)[^/\s?#]+@", re.IGNORECASE)


def mask_url(text: str) -> str:
    """Mask the credentials of every URL in ``text`` (a URL, or a message that shows one)."""
    return _URL_CREDENTIALS.sub(r"\1***@", text)


_PLUGIN_NOT_ENABLED = re.compile(r"The plugin (\w+) is not enabled")
_AUTH_MARKERS = (
    "Unable to authenticate",
    "You can't access this resource",
    "You must be logged in",
    "as your IP",  # IP allowlist: "You cannot use this Matomo as your IP %s is not allowed."
    "Too many failed logins",
    "Logging in has been turned off",
)
_NO_DATA_MARKERS = ("NoDataForAction",)
#: Database faults that Matomo answers as an error envelope (HTTP 200 or 500, and per sub-call
#: inside ``API.getBulkRequest``) and that the same request, sent again, usually gets past.
#: Matched case-insensitively: PDO, mysqli and Matomo's own wrappers word them differently.
_DATABASE_FAULTS = re.compile(
    "|".join(
        (
            # PDO connection errors: "SQLSTATE[HY000] [2002] Connection refused" (server down or
            # restarting), [2003] can't connect, [2005] unknown host (DNS blip), [2006] gone
            # away, [2013] lost connection, [1040] too many connections, [1203] a user's
            # max_user_connections. Not [1045] access denied: a broken Matomo config.
            r"SQLSTATE\[\w{5}\] \[(?:1040|1203|2002|2003|2005|2006|2013)\]",
            # SQLSTATE class 08 is "connection exception"; 40001 is a serialization failure
            # (deadlock): MySQL itself says "try restarting transaction".
            r"SQLSTATE\[08\w{3}\]",
            r"SQLSTATE\[40001\]",
            # The same faults as MySQL words them, with or without SQLSTATE.
            r"server has gone away",  # 2006: wait_timeout, server restart; a request reconnects
            r"Lost connection to MySQL server",  # 2013: the connection broke during the query
            r"Lock wait timeout exceeded",  # 1205: an archiver or tracker held the rows
            r"Deadlock found when trying to get lock",  # 1213
            r"Too many connections",  # 1040: the server is at max_connections for a moment
            r"max_user_connections",  # 1203
            r"Error while sending QUERY packet",  # the connection dropped while sending
            r"Connection refused",  # the database (or Redis) is restarting
            r"Connection timed out",
            r"php_network_getaddresses",  # the database host did not resolve, for a moment
        )
    ),
    re.IGNORECASE,
)
#: PHP limits hit while Matomo answered. Transient (and bounded by `max_tries`): the archives
#: finished before the limit are stored, so a retry has less to compute; in a bulk request only
#: the failed sub-calls are sent again, so the retry also asks less; and the memory one call
#: needs depends on what else the PHP process held. When the tries run out, the error says what
#: to change (`bulk_request_size`, `max_periods_per_request`, php.ini, core:archive).
_PHP_LIMITS = re.compile(
    r"Maximum execution time of|Allowed memory size of|Out of memory", re.IGNORECASE
)
# Not retried: Live's "Could not run the query in time" (the same page size times out again;
# visits.py names the settings to change).
#: Matomo's refusals of a segment definition (core/Segment.php, core/Segment/SegmentExpression.php).
_SEGMENT_MARKERS = (
    "is not a supported segment",  # unknown name, or its plugin/custom dimension is missing
    "The segment condition",  # "... '<condition>' is not valid." (syntax)
    "permission to access the segment",
    "disabled the Segmentation feature",  # anonymous token and no segments for anonymous
)
_SEGMENT_HINT = (
    " Check the `segment` setting: segment names are those of API.getSegmentsMetadata (or "
    "Matomo's segment editor), conditions are joined by `;` (and) or `,` (or), and values with "
    "special characters are URL-encoded; the token's user must be allowed to use the segment "
    "(an `anonymous` token may not be). Fix it, or remove `segment`."
)


def classify_error(
    message: str, *, status: int = 200, method: str | None = None
) -> MatomoError | MatomoTransientError:
    """Return the exception that matches a Matomo error message and HTTP status.

    The whole message is classified; messages show at most SHOWN_MESSAGE_CHARS of it (Matomo
    in development mode adds a backtrace, a plugin or a proxy may answer pages of text).
    """
    whole = html.unescape(message).strip()
    text = _shown(whole)
    if any(marker in whole for marker in _SEGMENT_MARKERS):
        # Before the access check: Matomo 5 may answer a segment's permission error with 401.
        return MatomoSegmentError(text + _SEGMENT_HINT, method=method)
    if any(marker in whole for marker in _AUTH_MARKERS):
        return _auth_error(text, method)
    # Before the status checks: a database or PHP fault is transient whatever the status
    # (200 as an API error, 500 when raised before dispatch, any status a proxy chose).
    kind = (
        DATABASE
        if _DATABASE_FAULTS.search(whole)
        else PHP_LIMIT
        if _PHP_LIMITS.search(whole)
        else None
    )
    if kind is not None:
        return MatomoTransientError(
            f"Matomo API call {method} failed temporarily: {text}"
            if method
            else f"Matomo failed temporarily: {text}",
            kind=kind,
        )
    if status in (401, 403):
        return _auth_error(text, method)
    if match := _PLUGIN_NOT_ENABLED.search(whole):
        return MatomoPluginNotActivatedError(text, plugin=match.group(1), method=method)
    if any(marker in whole for marker in _NO_DATA_MARKERS):
        return MatomoNoDataError(text, method=method)
    if status == 429 or status >= 500:
        return MatomoTransientError(
            f"Matomo API call {method} answered HTTP {status}: {text}"
            if method
            else f"Matomo answered HTTP {status}: {text}",
            kind=RATE_LIMIT if status == 429 else SERVER,
        )
    return MatomoRequestError(text, method=method)


#: Characters of a Matomo error message shown in messages and logs.
SHOWN_MESSAGE_CHARS = 1000


def _shown(text: str) -> str:
    """The message, cut to SHOWN_MESSAGE_CHARS characters with a word of what was left out."""
    if len(text) <= SHOWN_MESSAGE_CHARS:
        return text
    left_out = len(text) - SHOWN_MESSAGE_CHARS
    return f"{text[:SHOWN_MESSAGE_CHARS]}... ({left_out:,} more characters not shown)"


def _auth_error(text: str, method: str | None) -> MatomoAuthError:
    hint = (
        " Check `token_auth` (a valid, unexpired token sent by POST) and that the token's "
        "user has at least view access to every site in `site_ids`."
    )
    return MatomoAuthError(text + hint, method=method)
