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


class MatomoTransientError(RetriableAPIError):
    """A fault worth retrying: 5xx, 429, a connection error, an HTML page, truncated JSON."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


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
#: Database and PHP faults that Matomo answers as an error envelope (HTTP 200, and per sub-call
#: inside ``API.getBulkRequest``) and that the same request, sent again, usually gets past.
_TRANSIENT_MARKERS = (
    # MySQL 2006: the connection dropped (wait_timeout, server restart); a new request reconnects.
    "MySQL server has gone away",
    # MySQL 2013: same, the connection broke during the query.
    "Lost connection to MySQL server",
    # MySQL 1205 and 1213: a concurrent archiver or tracker held the rows; MySQL itself says
    # "try restarting transaction".
    "Lock wait timeout exceeded",
    "Deadlock found when trying to get lock",
    # MySQL 1040: the server is at max_connections for a moment.
    "Too many connections",
    # PHP's max_execution_time while archiving in the request: the archives finished before the
    # limit are stored, so a retry has less to compute (and the tries are bounded).
    "Maximum execution time of",
)
# Not retried: "Allowed memory size of N bytes exhausted" (the same request needs the same
# memory; fix memory_limit or ask less) and Live's "Could not run the query in time" (the same
# page size times out again; visits.py names the settings to change).
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
    """Return the exception that matches a Matomo error message and HTTP status."""
    text = html.unescape(message).strip()
    if any(marker in text for marker in _SEGMENT_MARKERS):
        # Before the access check: Matomo 5 may answer a segment's permission error with 401.
        return MatomoSegmentError(text + _SEGMENT_HINT, method=method)
    if any(marker in text for marker in _AUTH_MARKERS) or status in (401, 403):
        hint = (
            " Check `token_auth` (a valid, unexpired token sent by POST) and that the token's "
            "user has at least view access to every site in `site_ids`."
        )
        return MatomoAuthError(text + hint, method=method)
    if match := _PLUGIN_NOT_ENABLED.search(text):
        return MatomoPluginNotActivatedError(text, plugin=match.group(1), method=method)
    if any(marker in text for marker in _NO_DATA_MARKERS):
        return MatomoNoDataError(text, method=method)
    if any(marker in text for marker in _TRANSIENT_MARKERS):
        return MatomoTransientError(
            f"Matomo API call {method} failed temporarily: {text}"
            if method
            else f"Matomo failed temporarily: {text}"
        )
    if status == 429 or status >= 500:
        return MatomoTransientError(
            f"Matomo API call {method} answered HTTP {status}: {text}"
            if method
            else f"Matomo answered HTTP {status}: {text}"
        )
    return MatomoRequestError(text, method=method)
