"""The tap's settings: their JSON schema (shown by ``--about``) and the checks the schema cannot do.

The SDK validates types against the schema; :func:`check_settings` adds the cross-field rules
(exactly one of ``site_ids``/``all_sites``, no relative and specific value for the same date bound,
no window that ends before it starts...) and returns one message per problem, each naming the
setting, so that a bad config fails before any request is sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlparse

from singer_sdk import typing as th

from tap_matomo.dates import PERIODS, DateSettings, Period

DEFAULT_START_DAYS_BACK = 30

CONFIG_SCHEMA = th.PropertiesList(
    # -- connection ---------------------------------------------------------------------------
    th.Property(
        "url",
        th.StringType,
        required=True,
        title="Matomo URL",
        description="Base URL of the Matomo installation, e.g. `https://analytics.example.com` "
        "(a trailing `/` or `/index.php` is fine). Matomo Cloud: `https://<name>.matomo.cloud`.",
        examples=["https://demo.matomo.cloud"],
    ),
    th.Property(
        "token_auth",
        th.StringType,
        required=True,
        secret=True,
        title="Token",
        description="Matomo access token (Administration > Personal > Security > Auth tokens). "
        "Sent only in the POST body. Use `anonymous` for a public Matomo.",
    ),
    th.Property(
        "site_ids",
        th.ArrayType(th.IntegerType),
        title="Site IDs",
        description="IDs of the sites to extract. Set this or `all_sites`, not both.",
        examples=[[1, 3]],
    ),
    th.Property(
        "all_sites",
        th.BooleanType,
        default=False,
        title="All sites",
        description="Extract every site the token can view. Set this or `site_ids`, not both.",
    ),
    # -- dates --------------------------------------------------------------------------------
    th.Property(
        "start_date",
        th.StringType,
        title="Start date",
        description="First day (YYYY-MM-DD, in each site's timezone) of the first sync. Later "
        "syncs start from the bookmark minus `lookback_days`. Set this or `start_days_back`; "
        f"neither means {DEFAULT_START_DAYS_BACK} days back.",
        examples=["2026-01-01"],
    ),
    th.Property(
        "start_days_back",
        th.IntegerType(minimum=0),
        title="Start days back",
        description="First day of the first sync as N days before the site's today "
        "(e.g. 10). Set this or `start_date`.",
    ),
    th.Property(
        "end_date",
        th.StringType,
        title="End date",
        description="Last day to extract (YYYY-MM-DD); default: the site's today. Set this or "
        "`end_days_back`.",
    ),
    th.Property(
        "end_days_back",
        th.IntegerType(minimum=0),
        title="End days back",
        description="Last day to extract as N days before the site's today (e.g. 5 with "
        "`start_days_back` 10 reads from 10 to 5 days ago). Set this or `end_date`.",
    ),
    th.Property(
        "report_date",
        th.StringType,
        title="Report date",
        description="Extract only the one period (of `period`) that contains this date "
        "(YYYY-MM-DD). Excludes the start/end settings.",
    ),
    th.Property(
        "report_days_back",
        th.IntegerType(minimum=0),
        title="Report days back",
        description="Extract only the one period that contains the day N days before the "
        "site's today (1 = yesterday). Excludes the start/end settings.",
    ),
    th.Property(
        "period",
        th.StringType,
        default="day",
        allowed_values=list(PERIODS),
        title="Period",
        description="Period of every report row: `day`, `week`, `month`, `year`, or `range` "
        "(one set of rows for the whole window).",
    ),
    th.Property(
        "period_overrides",
        th.ObjectType(additional_properties=th.StringType(allowed_values=list(PERIODS))),
        title="Period per stream",
        description='Period for particular streams, e.g. `{"referrers_get_all": "month"}`; '
        "the others use `period`.",
    ),
    th.Property(
        "lookback_days",
        th.IntegerType(minimum=0),
        default=3,
        title="Lookback days",
        description="Days before the bookmark that an incremental sync reads again, because "
        "Matomo re-archives recent days (late tracking, invalidations). Rows replace the earlier "
        "ones through the primary key.",
    ),
    th.Property(
        "max_periods_per_request",
        th.IntegerType(minimum=1),
        default=31,
        title="Periods per request",
        description="Longest window (in periods) asked in one request; longer windows are cut "
        "into chunks of whole periods.",
    ),
    th.Property(
        "bulk_request_size",
        th.IntegerType(minimum=1, maximum=100),
        default=50,
        title="Calls per bulk request",
        description="How many API calls to batch into one `API.getBulkRequest`; 1 disables "
        "batching.",
    ),
    # -- reports ------------------------------------------------------------------------------
    th.Property(
        "fail_on_missing_plugin",
        th.BooleanType,
        default=False,
        title="Fail on missing plugin",
        description="When a selected report needs a plugin the server lacks "
        "(MarketingCampaignsReporting, UsersFlow): false logs one warning and skips the "
        "stream; true stops the sync with an error.",
    ),
    # -- requests -----------------------------------------------------------------------------
    th.Property(
        "request_timeout",
        th.IntegerType(minimum=1),
        default=300,
        title="Request timeout",
        description="Seconds to wait for one answer; Matomo may archive on request.",
    ),
    th.Property(
        "max_tries",
        th.IntegerType(minimum=1),
        default=5,
        title="Tries per request",
        description="Tries for a request that fails transiently (5xx, 429, network, HTML "
        "or truncated answers). Authentication errors are never retried.",
    ),
    th.Property(
        "retry_wait_seconds",
        th.NumberType,
        default=2,
        title="First retry wait",
        description="Seconds before the first retry, doubling after each; a Retry-After "
        "header wins.",
    ),
    th.Property(
        "verify_ssl",
        th.BooleanType,
        default=True,
        title="Verify TLS",
        description="Verify the server's TLS certificate. Turn off only for a server you trust.",
    ),
    th.Property(
        "user_agent",
        th.StringType,
        title="User agent",
        description="User-Agent header of every request.",
    ),
)


@dataclass(frozen=True)
class TapSettings:
    """The settings after the checks, in the types the tap works with."""

    url: str
    token_auth: str = field(repr=False)
    site_ids: tuple[int, ...] | None
    dates: DateSettings
    period: Period = "day"
    period_overrides: dict[str, Period] = field(default_factory=dict)
    max_periods_per_request: int = 31
    bulk_request_size: int = 50
    fail_on_missing_plugin: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def period_for(self, stream_name: str) -> Period:
        """The period a stream uses: its override or the default."""
        return self.period_overrides.get(stream_name, self.period)


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _parse_date(config: dict[str, Any], key: str, errors: list[str]) -> date | None:
    value = config.get(key)
    if value in (None, ""):
        return None
    text = str(value)
    if _DATE.match(text):
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            pass
    errors.append(f"`{key}`: {value!r} is not a date; write it as YYYY-MM-DD.")
    return None


def check_settings(config: dict[str, Any]) -> tuple[TapSettings | None, list[str]]:
    """Parse the config into :class:`TapSettings`, or return the problems found."""
    errors: list[str] = []

    url = str(config.get("url") or "").strip()
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        errors.append(
            f"`url`: {url!r} is not an http(s) URL; give the Matomo address, "
            "e.g. https://analytics.example.com"
        )

    site_ids = config.get("site_ids")
    all_sites = bool(config.get("all_sites"))
    if site_ids and all_sites:
        errors.append("`site_ids` and `all_sites`: set one of them, not both.")
    elif not site_ids and not all_sites:
        errors.append("`site_ids` or `all_sites`: set one (a list of site IDs, or true).")
    elif site_ids and any(int(i) <= 0 for i in site_ids):
        errors.append("`site_ids`: site IDs are positive integers.")

    dates = {
        key: _parse_date(config, key, errors) for key in ("start_date", "end_date", "report_date")
    }
    back = {
        key: config.get(key) for key in ("start_days_back", "end_days_back", "report_days_back")
    }
    for bound in ("start", "end", "report"):
        if dates[f"{bound}_date"] and back[f"{bound}_days_back"] is not None:
            errors.append(f"`{bound}_date` and `{bound}_days_back`: set one of them, not both.")
    report_set = dates["report_date"] is not None or back["report_days_back"] is not None
    window_keys = [k for k in ("start_date", "end_date") if dates[k]] + [
        k for k in ("start_days_back", "end_days_back") if back[k] is not None
    ]
    if report_set and window_keys:
        listed = ", ".join(f"`{k}`" for k in window_keys)
        errors.append(f"`report_date`/`report_days_back` ask for one period; remove {listed}.")
    if dates["start_date"] and dates["end_date"] and dates["end_date"] < dates["start_date"]:
        errors.append(
            f"`end_date` ({dates['end_date']}) is before `start_date` ({dates['start_date']})."
        )
    if (
        back["start_days_back"] is not None
        and back["end_days_back"] is not None
        and back["end_days_back"] > back["start_days_back"]
    ):
        errors.append(
            f"`end_days_back` ({back['end_days_back']}) is further back than `start_days_back` "
            f"({back['start_days_back']}): the window would end before it starts."
        )

    period = config.get("period") or "day"
    overrides = dict(config.get("period_overrides") or {})
    uses_range = period == "range" or "range" in overrides.values()
    if (
        uses_range
        and not report_set
        and not (dates["start_date"] or back["start_days_back"] is not None)
    ):
        errors.append(
            "`period` range is one aggregate over a window: set `start_date` or "
            "`start_days_back` (and optionally the end)."
        )

    if errors:
        return None, errors

    start_days_back = back["start_days_back"]
    if not report_set and dates["start_date"] is None and start_days_back is None:
        start_days_back = DEFAULT_START_DAYS_BACK
    date_settings = DateSettings(
        start_date=dates["start_date"],
        start_days_back=start_days_back,
        end_date=dates["end_date"],
        end_days_back=back["end_days_back"],
        report_date=dates["report_date"],
        report_days_back=back["report_days_back"],
        lookback_days=int(config.get("lookback_days", 3)),
    )
    return (
        TapSettings(
            url=url,
            token_auth=str(config.get("token_auth") or ""),
            site_ids=tuple(int(i) for i in site_ids) if site_ids else None,
            dates=date_settings,
            period=period,
            period_overrides=overrides,
            max_periods_per_request=int(config.get("max_periods_per_request", 31)),
            bulk_request_size=int(config.get("bulk_request_size", 50)),
            fail_on_missing_plugin=bool(config.get("fail_on_missing_plugin", False)),
            extra=config,
        ),
        [],
    )
