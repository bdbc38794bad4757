"""The tap's settings: their JSON schema (shown by ``--about``) and the checks the schema cannot do.

The SDK validates types against the schema; :func:`check_settings` adds the cross-field rules
(exactly one of ``site_ids``/``all_sites``, no relative and specific value for the same date bound,
no window that ends before it starts...) and returns one message per problem, each naming the
setting, so that a bad config fails before any request is sent.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlparse, urlsplit

from singer_sdk import typing as th

from tap_matomo.catalog import reports_by_name
from tap_matomo.dates import MATOMO_FIRST_DAY, PERIODS, DateSettings, Period
from tap_matomo.discovery import EXTRA_REPORTS, declared_specs

DEFAULT_START_DAYS_BACK = 30
#: Bounds of the numeric settings: wide enough for any real use, narrow enough that no date or
#: duration computed from them can overflow (a date 10,000,000 days back does not exist).
MAX_DAYS_BACK = 36_500  # 100 years: Matomo has no data before 1991
MAX_LOOKBACK_DAYS = 3_650
MAX_PERIODS_PER_REQUEST = 1_000
MAX_FINALITY_MINUTES = 10_080  # a week; Matomo closes a visit after 30 idle minutes
MAX_ID = 4_294_967_295  # Matomo's ids are unsigned 32-bit integers
MAX_TRANSITIONS_ROWS = 100_000
MAX_USERS_FLOW_STEP = 1_000
#: The client's bounds (it holds to them whatever it is given): one wait between two tries, a
#: day per answer (larger timeouts overflow the socket layer), over an hour of tries per request.
MAX_RETRY_WAIT_SECONDS = 300
MAX_REQUEST_TIMEOUT_SECONDS = 86_400
MAX_TRIES = 20
VISITS_PAGE_SIZE = 500
VISITS_FINALITY_MINUTES = 60

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
        th.ArrayType(th.IntegerType(minimum=1, maximum=MAX_ID)),
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
    th.Property(
        "shard_count",
        th.IntegerType,
        title="Shard count",
        description="Split the sites (of `site_ids` or `all_sites`) over this many runs that "
        "can go in parallel: a run keeps the sites whose id modulo `shard_count` is its "
        "`shard_index`, so a site stays in its shard as sites are added. Set both or neither; "
        "give each shard its own state (in Meltano one extractor per shard, see the README).",
    ),
    th.Property(
        "shard_index",
        th.IntegerType,
        title="Shard index",
        description="This run's shard: 0 to `shard_count` - 1.",
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
        th.IntegerType(minimum=0, maximum=MAX_DAYS_BACK),
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
        th.IntegerType(minimum=0, maximum=MAX_DAYS_BACK),
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
        th.IntegerType(minimum=0, maximum=MAX_DAYS_BACK),
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
        description='Period for particular streams, e.g. `{"referrers_all": "month"}`; '
        "the others use `period`.",
    ),
    th.Property(
        "lookback_days",
        th.IntegerType(minimum=0, maximum=MAX_LOOKBACK_DAYS),
        default=3,
        title="Lookback days",
        description="Days before the bookmark that an incremental sync reads again, because "
        "Matomo re-archives recent days (late tracking, invalidations). Rows replace the earlier "
        "ones through the primary key.",
    ),
    th.Property(
        "max_periods_per_request",
        th.IntegerType(minimum=1, maximum=MAX_PERIODS_PER_REQUEST),
        default=100,
        title="Periods per request",
        description="Most periods asked in one call; longer windows are cut into chunks of "
        "whole periods. Within it, chunks hold about 5,000 rows, sized from the rows per period "
        "each report answered earlier in the run: a small report covers a whole window in one "
        "call, a big one is asked in smaller chunks.",
    ),
    th.Property(
        "bulk_request_size",
        th.IntegerType(minimum=1, maximum=100),
        default=50,
        title="Calls per bulk request",
        description="How many API calls to batch into one `API.getBulkRequest` (a stream's "
        "calls with those of its next sites and the next streams); 1 disables batching. Lower "
        "it to hold fewer answers in memory at once.",
    ),
    th.Property(
        "max_concurrent_requests",
        th.IntegerType(minimum=1, maximum=16),
        default=3,
        title="Requests at once",
        description="How many bulk requests may be in flight at once (1: one after the other). "
        "Matomo answers each request in one PHP worker: 3 leaves a worker for the tracker and "
        "the web UI on a small server (PHP-FPM's default pool has 5). A retry (HTTP 429, 5xx, "
        "timeout) halves it for the rest of the run. Records, their order and the state are "
        "the same whatever the value.",
    ),
    # -- reports ------------------------------------------------------------------------------
    th.Property(
        "segment",
        th.StringType,
        title="Segment",
        description="A Matomo segment that every report request and the visit log are "
        "restricted to, e.g. `deviceType==smartphone` or `countryCode==us;visitorType==returning`"
        ", sent as-is (URL-encode special characters in values, as Matomo requires). Rows of "
        "different segments share primary keys: load each segment into its own schema and run "
        "a full refresh after changing it. See the README's Segments section.",
        examples=["deviceType==smartphone", "countryCode==us;visitorType==returning"],
    ),
    th.Property(
        "fail_on_missing_plugin",
        th.BooleanType,
        default=False,
        title="Fail on missing plugin",
        description="When a selected report needs a plugin the server lacks "
        "(MarketingCampaignsReporting, UsersFlow): false logs one warning and skips the "
        "stream; true stops the sync with an error.",
    ),
    th.Property(
        "report_flattening",
        th.ObjectType(additional_properties=th.StringType),
        title="Field to flatten",
        description="Per hierarchical report stream, how its levels become rows. Default "
        "`flat`: one row per deepest row, one column per level. `none`: the top level only "
        "(e.g. search engines without keywords). Where Matomo offers a choice of sub-dimension, "
        "its name picks it: `events_categories`: `eventAction` (default) or `eventName`; "
        "`events_actions`: `eventName` or `eventCategory`; `events_names`: `eventAction` or "
        '`eventCategory`. Example: `{"events_categories": "eventName", '
        '"referrers_search_engines": "none"}`.',
    ),
    th.Property(
        "subtables",
        th.ArrayType(
            th.ObjectType(
                th.Property("stream", th.StringType, required=True),
                th.Property(
                    "subtable_id", th.IntegerType(minimum=1, maximum=MAX_ID), required=True
                ),
                th.Property("site_id", th.IntegerType(minimum=1, maximum=MAX_ID)),
            )
        ),
        title="Subtable IDs",
        description="Subtables to read, each `{stream, subtable_id, site_id?}`: the rows "
        "under one row of a hierarchical report (its `idsubdatatable`), e.g. the keywords of "
        'one search engine: `{"stream": "referrers_search_engines", "subtable_id": 3}`. They '
        "go to the stream `<stream>_subtable` (select it). Subtable ids belong to one archive "
        "(site, period and date): the same id names another row, or none, in another period "
        "or site, so use it with one period (`report_date`) and `site_id`.",
    ),
    th.Property(
        EXTRA_REPORTS,
        th.ArrayType(
            th.ObjectType(
                th.Property("method", th.StringType, required=True),
                th.Property(
                    "params",
                    th.ObjectType(
                        additional_properties=th.CustomType({"type": ["string", "number"]})
                    ),
                ),
                th.Property("name", th.StringType),
                th.Property("metrics", th.ArrayType(th.StringType)),
                th.Property("flat", th.BooleanType),
                th.Property("one_period_per_request", th.BooleanType),
            )
        ),
        title="Extra reports",
        description="More report streams, each `{method, params?, name?, metrics?, flat?, "
        "one_period_per_request?}`: any Matomo report method with fixed parameters (a goal, a "
        'segment, a custom report id...), e.g. `{"method": "CustomReports.getCustomReport", '
        '"params": {"idCustomReport": 3}}`. Rows are keyed by site, period, date and '
        "`label`; `metrics` become typed columns, other numbers go to `other_metrics`. `name` "
        "defaults to one made from the method and parameters (`custom_reports_custom_report_3`)"
        ". Selected by default; a method Matomo refuses stops the sync with an error naming "
        "this setting. See the README's Live discovery section.",
    ),
    # -- items: pages (Actions page URL/title, Transitions) and Users Flow steps -------------
    th.Property(
        "page_urls",
        th.ArrayType(th.StringType),
        title="Page URLs",
        description="Full page URLs, e.g. `https://shop.example.com/sale/`, read by the "
        "streams `actions_page_url` (Actions.getPageUrl) and `transitions_page_url`: one "
        "partition, and one bookmark, per site and URL. Empty: those streams send no request.",
        examples=[["https://shop.example.com/", "https://shop.example.com/sale/"]],
    ),
    th.Property(
        "page_titles",
        th.ArrayType(th.StringType),
        title="Page titles",
        description="Page titles as tracked, e.g. `Checkout - Example Shop`, read by the "
        "streams `actions_page_title` (Actions.getPageTitle) and `transitions_page_title`, one "
        "partition per site and title. Matomo reports titles with a leading space "
        "(` Checkout - Example Shop`); it finds them with or without it. Empty: no request.",
    ),
    th.Property(
        "transitions_limit_before_grouping",
        th.IntegerType(minimum=1, maximum=MAX_TRANSITIONS_ROWS),
        title="Transitions rows per list",
        description="Rows Matomo keeps in each Transitions list (previous pages, referrers...) "
        "before it groups the rest into `Others`; default: Matomo's 5.",
    ),
    th.Property(
        "users_flow_interaction_positions",
        th.ArrayType(th.IntegerType(minimum=1, maximum=MAX_USERS_FLOW_STEP)),
        title="Users Flow steps",
        description="Interaction steps (1 = the entry page) whose every action the stream "
        "`users_flow_interaction_actions` reads (UsersFlow.getInteractionActions), one "
        "partition per site and step. Empty: no request.",
        examples=[[1, 2, 3]],
    ),
    # -- visit log (streams `visits`, `visit_actions`) --------------------------------------
    th.Property(
        "visits_page_size",
        th.IntegerType(minimum=1, maximum=10000),
        default=VISITS_PAGE_SIZE,
        title="Visits per call",
        description="Visits asked per `Live.getLastVisitsDetails` call, which covers one "
        "site-local day (the calls of many days share one bulk request). The default is the "
        "biggest page Matomo's own visitor log offers, so that a typical day is one call and a "
        "busy day few calls in a row. Smaller pages are lighter for Matomo (each page also "
        "loads every action of its visits); no visit is lost whatever the size.",
    ),
    th.Property(
        "visits_finality_minutes",
        th.IntegerType(minimum=0, maximum=MAX_FINALITY_MINUTES),
        default=VISITS_FINALITY_MINUTES,
        title="Visit finality window",
        description="Minutes before the bookmark that the next sync reads again: visits still "
        "in progress (Matomo closes a visit after 30 idle minutes) and actions tracked late "
        "are re-emitted with the same key and replace the earlier record.",
    ),
    th.Property(
        "visits_exclude_identity",
        th.BooleanType,
        default=False,
        title="Leave out visitor identity",
        description="Leave the IP address and the visitor ids (`visit_ip`, `visitor_id`, "
        "`fingerprint`, `user_id`) out of the `visits` stream and its schema. For other "
        "fields use stream maps.",
    ),
    # -- requests -----------------------------------------------------------------------------
    th.Property(
        "request_timeout",
        th.IntegerType(minimum=1, maximum=MAX_REQUEST_TIMEOUT_SECONDS),
        default=300,
        title="Request timeout",
        description="Seconds to wait for one answer (at most a day); Matomo may archive on "
        "request.",
    ),
    th.Property(
        "max_tries",
        th.IntegerType(minimum=1, maximum=MAX_TRIES),
        default=8,
        title="Tries per request",
        description="Tries for a request that fails transiently (5xx, 429, network, HTML "
        "or truncated answers, Matomo database and PHP limit errors); the default rides out "
        "about 4 minutes of outage. Authentication errors are never retried.",
    ),
    th.Property(
        "retry_wait_seconds",
        th.NumberType(minimum=0, maximum=MAX_RETRY_WAIT_SECONDS),
        default=2,
        title="First retry wait",
        description="Seconds before the first retry, doubling after each; a Retry-After "
        f"header wins. No wait is longer than {MAX_RETRY_WAIT_SECONDS} seconds.",
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
        description="User-Agent header of every request; default `tap-matomo/<version>`, so "
        "that Matomo's logs show who asks.",
    ),
)


_DEFAULTS: dict[str, Any] = {
    name: prop["default"]
    for name, prop in CONFIG_SCHEMA.to_dict()["properties"].items()
    if "default" in prop
}


def setting(config: dict[str, Any], name: str) -> Any:
    """The configured value of a setting, or its default.

    Defaults are declared once, in the schema above (and so shown by ``--about``).
    """
    value = config.get(name)
    return _DEFAULTS.get(name) if value is None else value


@dataclass(frozen=True)
class RequestSettings:
    """How the client talks to Matomo."""

    timeout: float
    verify_ssl: bool
    user_agent: str | None
    max_tries: int
    retry_wait_seconds: float

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RequestSettings:
        """The request settings of a config, defaults filled in."""
        return cls(
            timeout=float(setting(config, "request_timeout")),
            verify_ssl=bool(setting(config, "verify_ssl")),
            user_agent=setting(config, "user_agent"),
            max_tries=int(setting(config, "max_tries")),
            retry_wait_seconds=float(setting(config, "retry_wait_seconds")),
        )


@dataclass(frozen=True)
class SubtableRequest:
    """One entry of the `subtables` setting."""

    stream: str
    subtable_id: int
    site_id: int | None = None


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count`: the sites whose id modulo `count` is `index`."""

    index: int
    count: int

    def keeps(self, site_id: int) -> bool:
        """True for a site of this shard; by id only, so adding sites moves no other site."""
        return site_id % self.count == self.index


@dataclass(frozen=True)
class TapSettings:
    """The settings after the checks, in the types the tap works with."""

    url: str
    token_auth: str = field(repr=False)
    site_ids: tuple[int, ...] | None
    dates: DateSettings
    #: `shard_count`/`shard_index`, None when the run keeps every site.
    shard: Shard | None = None
    period: Period = "day"
    period_overrides: dict[str, Period] = field(default_factory=dict)
    max_periods_per_request: int = 100
    bulk_request_size: int = 50
    max_concurrent_requests: int = 3
    fail_on_missing_plugin: bool = False
    #: Stream name -> `report_flattening` value (`flat`, `none` or a sub-dimension).
    report_flattening: dict[str, str] = field(default_factory=dict)
    subtables: tuple[SubtableRequest, ...] = ()
    #: Item setting name (`page_urls`, ...) -> its values as request parameters (strings).
    items: dict[str, tuple[str, ...]] = field(default_factory=dict)
    transitions_limit_before_grouping: int | None = None
    #: The `segment` setting (Matomo segment definition), None when not set.
    segment: str | None = None
    http: RequestSettings = field(default_factory=lambda: RequestSettings.from_config({}))
    #: Harmless problems fixed while parsing (e.g. duplicate site ids), for one warning each.
    notes: tuple[str, ...] = ()

    def period_for(self, stream_name: str) -> Period:
        """The period a stream uses: its override or the default."""
        return self.period_overrides.get(stream_name, self.period)


#: The streams that are not reports (their names are taken).
OTHER_STREAMS = ("sites", "goals", "visits", "visit_actions")

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _parse_date(config: dict[str, Any], key: str, errors: list[str]) -> date | None:
    """A whole YYYY-MM-DD date, or a whole ISO date-time read as its day.

    Meltano writes `start_date` as a date-time; ``2026-11-20garbage`` is refused, not read as
    its first ten characters.
    """
    value = config.get(key)
    if value in (None, ""):
        return None
    text = str(value).strip()
    day = None
    if _DATE.fullmatch(text[:10]) and (len(text) == 10 or text[10] in "T "):
        with contextlib.suppress(ValueError):
            day = datetime.fromisoformat(text).date()
    if day is None:
        errors.append(f"`{key}`: {value!r} is not a date; write it as YYYY-MM-DD.")
    elif day < MATOMO_FIRST_DAY:
        errors.append(
            f"`{key}`: {text} is before {MATOMO_FIRST_DAY}, the first day Matomo accepts."
        )
        day = None
    return day


def _check_url(url: str, errors: list[str]) -> None:
    """`url`: an http(s) address with a host, a valid port, and no token in it."""
    problem = None
    parsed = None
    with contextlib.suppress(ValueError):  # "Invalid IPv6 URL"
        parsed = urlparse(url)
    try:
        port_ok = parsed is not None and (parsed.port is None or parsed.port > 0)
    except ValueError:  # not a number, or over 65535
        port_ok = False
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.hostname:
        problem = "is not an http(s) URL"
    elif not port_ok:
        problem = "has an invalid port"
    elif any(char.isspace() for char in url):
        problem = "contains a blank"
    elif "token_auth" in parse_qs(parsed.query):
        errors.append(
            "`url`: holds a `token_auth`; give the token in `token_auth` (it is sent by POST, "
            "never in a URL) and the Matomo address alone in `url`."
        )
        return
    if problem:
        errors.append(
            f"`url`: {url!r} {problem}; give the Matomo address, e.g. https://analytics.example.com"
        )


def _check_token(value: Any, errors: list[str]) -> str:
    """`token_auth`: a non-blank string (surrounding blanks, e.g. a pasted newline, dropped).

    Checked before any request: Matomo counts a refused token as a failed login, and locks the
    IP out after a few.
    """
    token = value.strip() if isinstance(value, str) else ""
    if not token:
        errors.append(
            "`token_auth` is empty: give a Matomo token (Administration > Personal > Security > "
            "Auth tokens), or `anonymous` for a public Matomo."
        )
    return token


def _check_site_ids(value: Any, notes: list[str]) -> tuple[int, ...] | None:
    """`site_ids` without duplicates, in the given order.

    ``[1, 1]`` can only mean site 1, so the duplicate is dropped with a warning rather than
    failing a scheduled run (without this every record of the site was emitted twice).
    """
    if not value:
        return None
    ids = tuple(int(i) for i in value)
    unique = tuple(dict.fromkeys(ids))
    if len(unique) < len(ids):
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        notes.append(
            f"`site_ids` lists site(s) {', '.join(map(str, repeated))} more than once; each "
            "site is extracted once. Remove the duplicates from the setting."
        )
    return unique


#: Settings that list items (pages, Users Flow steps): one stream partition per site and item.
ITEM_SETTINGS = ("page_urls", "page_titles", "users_flow_interaction_positions")


def _check_items(config: dict[str, Any], errors: list[str]) -> dict[str, tuple[str, ...]]:
    """Item settings: lists of non-empty values, kept in order without duplicates."""
    items: dict[str, tuple[str, ...]] = {}
    for setting in ITEM_SETTINGS:
        value = config.get(setting)
        if value in (None, ""):
            items[setting] = ()
            continue
        if not isinstance(value, list):
            errors.append(f"`{setting}`: give a list of values.")
            continue
        empty = [str(i + 1) for i, item in enumerate(value) if str(item).strip() == ""]
        if empty:
            errors.append(f"`{setting}`: item(s) {', '.join(empty)} are empty.")
            continue
        items[setting] = tuple(dict.fromkeys(str(item) for item in value))
    return items


def check_settings(config: dict[str, Any]) -> tuple[TapSettings | None, list[str]]:
    """Parse the config into :class:`TapSettings`, or return the problems found."""
    errors: list[str] = []
    notes: list[str] = []

    url = str(config.get("url") or "").strip()
    _check_url(url, errors)

    token_auth = _check_token(config.get("token_auth"), errors)
    site_ids = config.get("site_ids")
    all_sites = bool(config.get("all_sites"))
    if site_ids and all_sites:
        errors.append("`site_ids` and `all_sites`: set one of them, not both.")
    elif not site_ids and not all_sites:
        errors.append("`site_ids` or `all_sites`: set one (a list of site IDs, or true).")
    elif site_ids and any(int(i) <= 0 for i in site_ids):
        errors.append("`site_ids`: site IDs are positive integers.")

    shard = _check_shard(config.get("shard_count"), config.get("shard_index"), errors)

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

    period = setting(config, "period")
    overrides = dict(config.get("period_overrides") or {})
    known = reports_by_name()
    extra = declared_specs(config.get(EXTRA_REPORTS), set(known) | set(OTHER_STREAMS), errors)
    known.update((spec.name, spec) for spec in extra)
    errors += [
        f"`period_overrides`: no report stream is named {name!r}."
        for name in overrides
        if name not in known
    ]
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

    flattening = _check_flattening(config.get("report_flattening"), errors)
    subtables = _check_subtables(config.get("subtables"), site_ids, errors)

    items = _check_items(config, errors)
    segment = _check_segment(config.get("segment"), errors)

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
        lookback_days=int(setting(config, "lookback_days")),
    )
    return (
        TapSettings(
            url=url,
            token_auth=token_auth,
            site_ids=_check_site_ids(site_ids, notes),
            dates=date_settings,
            shard=shard,
            period=period,
            period_overrides=overrides,
            max_periods_per_request=int(setting(config, "max_periods_per_request")),
            bulk_request_size=int(setting(config, "bulk_request_size")),
            max_concurrent_requests=int(setting(config, "max_concurrent_requests")),
            fail_on_missing_plugin=bool(setting(config, "fail_on_missing_plugin")),
            report_flattening=flattening,
            subtables=subtables,
            items=items,
            transitions_limit_before_grouping=config.get("transitions_limit_before_grouping"),
            segment=segment,
            http=RequestSettings.from_config(config),
            notes=tuple(notes),
        ),
        [],
    )


def _check_shard(count: Any, index: Any, errors: list[str]) -> Shard | None:
    """`shard_count`/`shard_index`: both or neither, the index one of the count's shards."""
    if count is None and index is None:
        return None
    if count is None or index is None:
        errors.append(
            "`shard_count` and `shard_index`: set both (this run is shard `shard_index` of "
            "`shard_count`), or neither."
        )
        return None
    if count < 1:
        errors.append(f"`shard_count`: {count} shards; give 1 or more.")
        return None
    if not 0 <= index < count:
        errors.append(f"`shard_index`: {index} is not a shard of {count}; give 0 to {count - 1}.")
        return None
    return Shard(index=index, count=count)


def _check_segment(value: Any, errors: list[str]) -> str | None:
    """`segment`: unset, or a non-blank definition sent as written (Matomo parses it)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        errors.append(
            "`segment`: give a Matomo segment definition, e.g. `deviceType==smartphone`, "
            "or leave the setting out."
        )
        return None
    return value


def _check_flattening(value: Any, errors: list[str]) -> dict[str, str]:
    """`report_flattening`: known hierarchical streams, each with a value it accepts."""
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        errors.append("`report_flattening`: give an object of stream name -> choice.")
        return {}
    specs = reports_by_name()
    checked: dict[str, str] = {}
    for stream, choice in value.items():
        spec = specs.get(stream)
        allowed = spec.flattening_values() if spec else ()
        if not allowed:
            flat = sorted(name for name, s in specs.items() if s.flattening_values())
            errors.append(
                f"`report_flattening`: {stream!r} is not a hierarchical report stream; "
                f"these are: {', '.join(flat)}."
            )
        elif choice not in allowed:
            errors.append(
                f"`report_flattening`: {stream!r} accepts {', '.join(map(repr, allowed))}, "
                f"not {choice!r}."
            )
        else:
            checked[stream] = str(choice)
    return checked


def _check_subtables(value: Any, site_ids: Any, errors: list[str]) -> tuple[SubtableRequest, ...]:
    """`subtables`: streams that have subtables, positive ids, configured sites."""
    if not value:
        return ()
    specs = reports_by_name()
    with_subtables = sorted(name for name, spec in specs.items() if spec.subtable_method)
    requests: list[SubtableRequest] = []
    for entry in value:
        stream = entry.get("stream") if isinstance(entry, dict) else None
        spec = specs.get(str(stream))
        if spec is None or not spec.subtable_method:
            errors.append(
                f"`subtables`: {stream!r} has no subtables; use one of: "
                f"{', '.join(with_subtables)}."
            )
            continue
        subtable_id, site_id = entry.get("subtable_id"), entry.get("site_id")
        if not isinstance(subtable_id, int) or subtable_id <= 0:
            errors.append(f"`subtables`: {stream!r} needs a positive `subtable_id`.")
            continue
        if site_id is not None and site_ids and int(site_id) not in map(int, site_ids):
            errors.append(f"`subtables`: site {site_id} is not in `site_ids`.")
            continue
        requests.append(SubtableRequest(str(stream), subtable_id, site_id))
    return tuple(requests)


# -- visit log ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class VisitLogSettings:
    """Settings of the visit log streams (``visits``, ``visit_actions``)."""

    page_size: int = VISITS_PAGE_SIZE
    finality_minutes: int = VISITS_FINALITY_MINUTES
    exclude_identity: bool = False


def visit_log_settings(config: dict[str, Any]) -> VisitLogSettings:
    """The visit log settings of a config (the schema has checked their types and bounds)."""
    return VisitLogSettings(
        page_size=int(setting(config, "visits_page_size")),
        finality_minutes=int(setting(config, "visits_finality_minutes")),
        exclude_identity=bool(setting(config, "visits_exclude_identity")),
    )


# -- secrets -----------------------------------------------------------------------------------

#: The settings the schema marks secret (`token_auth`).
SECRET_SETTINGS = tuple(
    name for name, prop in CONFIG_SCHEMA.to_dict()["properties"].items() if prop.get("secret")
)


def secret_values(config: dict[str, Any]) -> list[str]:
    """Every secret text of a config, longest first (so that no part of one is left).

    The secret settings' values (whatever their type, so that a token given as a list is
    masked too) and the password or token written into `url`, raw and URL-encoded.
    """
    found: list[str] = []

    def leaves(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                leaves(item)
        elif isinstance(value, list | tuple):
            for item in value:
                leaves(item)
        elif value is not None and not isinstance(value, bool):
            found.append(str(value))

    for name in SECRET_SETTINGS:
        leaves(config.get(name))
    url = config.get("url")
    if isinstance(url, str):
        with contextlib.suppress(ValueError):  # an unparseable URL is refused by check_settings
            parsed = urlsplit(url.strip())
            leaves(parsed.password)
            leaves(parse_qs(parsed.query).get("token_auth"))
    texts = {text for value in found for text in (value, value.strip()) if text.strip()}
    texts |= {quote(text, safe="") for text in texts}
    return sorted(texts, key=len, reverse=True)


def mask_secrets(text: str, config: dict[str, Any]) -> str:
    """The text with every secret of the config replaced by ``***``."""
    for secret in secret_values(config):
        text = text.replace(secret, "***")
    return text
