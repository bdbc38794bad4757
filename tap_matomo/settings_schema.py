"""The tap's settings as a JSON schema (shown by ``--about``), their bounds and defaults.

Declared once here: the SDK validates types and bounds against this schema, `setting()` reads
defaults from it, and :mod:`tap_matomo.settings` adds the checks the schema cannot do.
"""

from __future__ import annotations

from typing import Any

from singer_sdk import typing as th

from tap_matomo.dates import PERIODS
from tap_matomo.discovery import EXTRA_REPORTS

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
        "different segments share primary keys: load each segment into its own schema. After "
        "a change, streams are read again from the configured start (their bookmarks were the "
        "old segment's). See the README's Segments section.",
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
        description="Seconds to wait for one whole answer (at most a day); Matomo may archive "
        "on request.",
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
