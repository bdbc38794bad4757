"""The metric sets of the catalog's reports, as Matomo names them (shared by several reports)."""

from __future__ import annotations

from tap_matomo.specs import VISIT_METRICS

VISIT_SUMMARY_METRICS = (
    "nb_visits",
    "nb_uniq_visitors",
    "nb_users",
    "nb_actions",
    "nb_visits_converted",
    "bounce_count",
    "sum_visit_length",
    "max_actions",
    "bounce_rate",
    "nb_actions_per_visit",
    "avg_time_on_site",
)


def _timing_metrics(*stats: str) -> tuple[str, ...]:
    """Page load timing metrics (``avg_time_network``...), per statistic, in Matomo's order."""
    timings = ("network", "server", "transfer", "dom_processing", "dom_completion", "on_load")
    return tuple(f"{stat}{timing}" for timing in timings for stat in stats)


#: ``Actions.get``: page views, downloads, outlinks and site searches of a period (also part of
#: ``API.get``).
ACTIONS_SUMMARY_METRICS = (
    "nb_pageviews",
    "nb_uniq_pageviews",
    "nb_downloads",
    "nb_uniq_downloads",
    "nb_outlinks",
    "nb_uniq_outlinks",
    "nb_searches",
    "nb_keywords",
)

#: Page reports (URLs, titles, entry and exit pages): hits, time, entries, exits, page speed.
PAGE_METRICS = (
    "nb_visits",
    "nb_uniq_visitors",
    "sum_daily_nb_uniq_visitors",
    "nb_hits",
    "sum_time_spent",
    "nb_hits_following_search",
    "entry_nb_visits",
    "entry_nb_uniq_visitors",
    "sum_daily_entry_nb_uniq_visitors",
    "entry_nb_actions",
    "entry_sum_visit_length",
    "entry_bounce_count",
    "exit_nb_visits",
    "exit_nb_uniq_visitors",
    "sum_daily_exit_nb_uniq_visitors",
    "avg_time_on_page",
    "bounce_rate",
    "exit_rate",
    *_timing_metrics("nb_hits_with_time_", "min_time_", "max_time_", "avg_time_"),
    "avg_page_load_time",
)

#: Downloads and outlinks.
LINK_METRICS = (
    "nb_visits",
    "nb_uniq_visitors",
    "sum_daily_nb_uniq_visitors",
    "nb_hits",
    "sum_time_spent",
    "nb_hits_following_search",
)

SITE_SEARCH_METRICS = (
    "nb_visits",
    "nb_uniq_visitors",
    "sum_daily_nb_uniq_visitors",
    "nb_hits",
    "sum_time_spent",
    "exit_nb_visits",
    "nb_pages_per_search",
    "avg_time_on_page",
    "bounce_rate",
    "exit_rate",
)

EVENT_METRICS = (
    "nb_visits",
    "nb_uniq_visitors",
    "sum_daily_nb_uniq_visitors",
    "nb_events",
    "nb_events_with_value",
    "sum_event_value",
    "min_event_value",
    "max_event_value",
    "avg_event_value",
)

CONTENT_METRICS = (
    "nb_visits",
    "nb_uniq_visitors",
    "sum_daily_nb_uniq_visitors",
    "nb_impressions",
    "nb_interactions",
    "interaction_rate",
)

#: Goal metrics of ``Goals.get``, overall and per visitor type.
GOAL_SUMMARY_BASE = ("nb_conversions", "nb_visits_converted", "revenue", "conversion_rate")
#: Ecommerce additions (orders; abandoned carts have items and the average only).
ECOMMERCE_BASE = (
    "items",
    "avg_order_revenue",
    "revenue_subtotal",
    "revenue_tax",
    "revenue_shipping",
    "revenue_discount",
)


def _by_visitor_type(names: tuple[str, ...]) -> tuple[str, ...]:
    """Each metric overall, for new visits and for returning visits (``Goals.get``)."""
    return tuple(f"{n}{suffix}" for suffix in ("", "_new_visit", "_returning_visit") for n in names)


GOAL_SUMMARY_METRICS = _by_visitor_type(GOAL_SUMMARY_BASE)
ECOMMERCE_ORDER_METRICS = _by_visitor_type(GOAL_SUMMARY_BASE + ECOMMERCE_BASE)
ABANDONED_CART_METRICS = _by_visitor_type(GOAL_SUMMARY_BASE + ECOMMERCE_BASE[:2])

#: Product reports (SKU, name, category) of orders.
ITEM_METRICS = (
    "nb_visits",
    "nb_uniq_visitors",
    "sum_daily_nb_uniq_visitors",
    "nb_actions",
    "revenue",
    "quantity",
    "orders",
    "avg_price",
    "avg_quantity",
    "conversion_rate",
)
#: Product reports of abandoned carts: carts instead of orders.
CART_ITEM_METRICS = tuple("abandoned_carts" if m == "orders" else m for m in ITEM_METRICS)

#: Custom dimensions: visit-scope rows carry visit metrics, action-scope rows (recording 0576)
#: page metrics with page-speed sums, ``avg_time_on_dimension`` and exits; declared together.
CUSTOM_DIMENSION_METRICS = (
    *VISIT_METRICS,
    "bounce_rate",
    "nb_actions_per_visit",
    "avg_time_on_site",
    "nb_hits",
    "sum_time_spent",
    "avg_time_on_dimension",
    "exit_nb_visits",
    "exit_rate",
    *_timing_metrics("sum_time_", "nb_hits_with_time_", "min_time_", "max_time_"),
)
