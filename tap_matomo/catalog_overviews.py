"""Catalog entries: one row of metrics per site and period (the overviews).

``Referrers.get`` (channels), ``PagePerformance.get`` (page speed), ``API.get`` (Matomo's main
metrics: every ``*.get`` report of the site merged into one row, recording 0580) and
``MultiSites.getOne`` (the All Websites dashboard, one site at a time).

``MultiSites.getAll`` answers the dashboard of every site at once, without ``idSite`` (recording
0457): one call per run and period instead of one per site, but its rows leave out the sites
without visits (unless ``enhanced=1``) and its partition would be no site at all. The
per-site ``MultiSites.getOne`` gives the same row for one site, so it fits the tap's per-site
partitions, bookmarks and window: the stream ``all_websites`` reads it and covers both methods
(:attr:`ReportSpec.covers`).
"""

from __future__ import annotations

from collections.abc import Mapping

from tap_matomo.catalog_metrics import ACTIONS_SUMMARY_METRICS, GOAL_SUMMARY_METRICS
from tap_matomo.specs import ReportSpec

#: ``Referrers.get``: visits per channel, their share, and distinct referrers per type.
REFERRERS_SUMMARY_METRICS = (
    "Referrers_visitorsFromSearchEngines",
    "Referrers_visitorsFromSocialNetworks",
    "Referrers_visitorsFromDirectEntry",
    "Referrers_visitorsFromWebsites",
    "Referrers_visitorsFromCampaigns",
    "Referrers_distinctSearchEngines",
    "Referrers_distinctSocialNetworks",
    "Referrers_distinctKeywords",
    "Referrers_distinctWebsites",
    "Referrers_distinctWebsitesUrls",
    "Referrers_distinctCampaigns",
    "Referrers_visitorsFromDirectEntry_percent",
    "Referrers_visitorsFromSearchEngines_percent",
    "Referrers_visitorsFromCampaigns_percent",
    "Referrers_visitorsFromSocialNetworks_percent",
    "Referrers_visitorsFromWebsites_percent",
)

_TIMINGS = ("network", "server", "transfer", "domprocessing", "domcompletion", "onload", "pageload")

#: ``PagePerformance.get``: summed seconds and hit counts per timing (Matomo's own names, its
#: ``servery`` typo included), then the averages.
PAGE_PERFORMANCE_METRICS = (
    *(
        f"PagePerformance_{'servery' if timing == 'server' else timing}_{part}"
        if part == "time"
        else f"PagePerformance_{timing}_{part}"
        for timing in _TIMINGS
        for part in ("time", "hits")
    ),
    "avg_time_network",
    "avg_time_server",
    "avg_time_transfer",
    "avg_time_dom_processing",
    "avg_time_dom_completion",
    "avg_time_on_load",
    "avg_page_load_time",
)

#: ``API.get``, in Matomo's order: visits, new and returning visits (VisitFrequency), channels,
#: page speed, goals overall and per visitor type, actions, then the ratios.
MAIN_METRICS = (
    "nb_uniq_visitors",
    "nb_visits",
    "nb_users",
    "nb_actions",
    "max_actions",
    "bounce_count",
    "sum_visit_length",
    *(
        f"{metric}_{visitor}"
        for visitor in ("new", "returning")
        for metric in (
            "nb_visits",
            "nb_actions",
            "nb_uniq_visitors",
            "nb_users",
            "max_actions",
            "bounce_rate",
            "nb_actions_per_visit",
            "avg_time_on_site",
        )
    ),
    *REFERRERS_SUMMARY_METRICS[:11],
    *PAGE_PERFORMANCE_METRICS,
    *GOAL_SUMMARY_METRICS,
    *ACTIONS_SUMMARY_METRICS,
    *REFERRERS_SUMMARY_METRICS[11:],
    "bounce_rate",
    "nb_actions_per_visit",
    "avg_time_on_site",
)

_DASHBOARD = ("nb_visits", "nb_actions", "nb_pageviews", "revenue")
_ENHANCED = ("nb_conversions", "orders", "ecommerce_revenue")
_EVOLUTION = (
    "visits",
    "actions",
    "pageviews",
    "revenue",
    "nb_conversions",
    "orders",
    "ecommerce_revenue",
)

#: ``MultiSites.getOne`` with ``enhanced=1``: the dashboard's metrics, their evolution against
#: the previous period (ratio and trend -1/0/1) and the previous period's values.
ALL_WEBSITES_METRICS = (
    *_DASHBOARD,
    *_ENHANCED,
    *(f"{name}_evolution{suffix}" for name in _EVOLUTION for suffix in ("", "_trend")),
    "ratio",
    "previous_nb_visits",
    "previous_nb_actions",
    "previous_Actions_nb_pageviews",
    "previous_Goal_revenue",
)


def _overview(
    name: str,
    method: str,
    family: str,
    description: str,
    metrics: tuple[str, ...],
    *,
    params: Mapping[str, str] | None = None,
    covers: tuple[str, ...] = (),
    zero_metrics: tuple[str, ...] | None = None,
    selected_by_default: bool = True,
) -> ReportSpec:
    """A one-row-per-period report (kind ``metrics``, keyed by site, period and date)."""
    return ReportSpec(
        name=name,
        method=method,
        family=family,
        description=description,
        kind="metrics",
        metrics=metrics,
        key_columns=(),
        params=params or {},
        covers=covers,
        zero_metrics=zero_metrics,
        selected_by_default=selected_by_default,
    )


OVERVIEW_REPORTS: tuple[ReportSpec, ...] = (
    _overview(
        "referrers_summary",
        "Referrers.get",
        "Referrers",
        "Visits per channel (search engines, social networks, direct entry, websites, "
        "campaigns) with their share of visits, and the number of distinct search engines, "
        "social networks, keywords, websites, website pages and campaigns, per period.",
        REFERRERS_SUMMARY_METRICS,
    ),
    _overview(
        "page_performance",
        "PagePerformance.get",
        "Page Performance",
        "Page load times per period: summed seconds and page views measured per timing "
        "(network, server, transfer, DOM processing, DOM completion, on load, page load) and "
        "their averages in seconds.",
        PAGE_PERFORMANCE_METRICS,
    ),
    _overview(
        "main_metrics",
        "API.get",
        "Overviews",
        "Matomo's main metrics (`API.get`): every per-period summary of the site in one row "
        "(visits, new and returning visits, channels, page speed, goals, actions). Matomo "
        "computes it from those reports, which have streams of their own: not selected by "
        "default.",
        MAIN_METRICS,
        selected_by_default=False,
    ),
    _overview(
        "all_websites",
        "MultiSites.getOne",
        "Overviews",
        "The All Websites dashboard row of each site (`MultiSites.getOne`, `enhanced=1`): "
        "visits, actions, page views, revenue, conversions, orders and product revenue, with "
        "their evolution against the previous period. It covers `MultiSites.getAll` (the same "
        "rows for every site at once). Its numbers are in `visits_summary`, `actions_summary` "
        "and the goal streams: not selected by default. A period without visits has zero "
        "counts and no evolution (it needs the previous period's row).",
        ALL_WEBSITES_METRICS,
        zero_metrics=_DASHBOARD + _ENHANCED,
        params={"enhanced": "1"},
        covers=("MultiSites.getAll",),
        selected_by_default=False,
    ),
)
