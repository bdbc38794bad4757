"""The report catalog: every Matomo report the tap extracts, declared as data.

One :class:`ReportSpec` (:mod:`tap_matomo.specs`) per stream. Adding a report is adding an
entry here or in a family module gathered here (:mod:`tap_matomo.catalog_visitors`,
:mod:`tap_matomo.catalog_overviews`); the generic
:class:`~tap_matomo.streams.reports.ReportStream` turns each entry into a typed, keyed,
incremental stream. Only reports whose rows have a different shape (sites, goal definitions,
Transitions, Users Flow, the visit log) have classes of their own.
"""

from __future__ import annotations

from tap_matomo.catalog_overviews import OVERVIEW_REPORTS
from tap_matomo.catalog_visitors import VISITOR_REPORTS
from tap_matomo.specs import (
    PER_CUSTOM_DIMENSION,
    PER_GOAL,
    VISIT_METRICS,
    VISIT_METRICS_NO_GOALS,
    Dimension,
    FixedRows,
    ReportKind,
    ReportSpec,
    VariantSource,
    subtable_spec,
)
from tap_matomo.specs import dim as _d

__all__ = [
    "PER_CUSTOM_DIMENSION",
    "PER_GOAL",
    "REPORTS",
    "VISIT_METRICS",
    "VISIT_METRICS_NO_GOALS",
    "Dimension",
    "FixedRows",
    "ReportKind",
    "ReportSpec",
    "VariantSource",
    "covered_methods",
    "reports_by_name",
    "subtable_spec",
]

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

#: Device types of ``DevicesDetection.getType`` (Matomo 5.0.2, recording 0108).
DEVICE_TYPES = (
    "Camera",
    "Car browser",
    "Console",
    "Desktop",
    "Feature phone",
    "Peripheral",
    "Phablet",
    "Portable media player",
    "Smart display",
    "Smart speaker",
    "Smartphone",
    "Tablet",
    "Tv",
    "Wearable",
)

_COUNTRY_CODE = Dimension("country", "country", description="ISO 3166-1 country code.")
_REGION_CODE = Dimension("region", "region", description="Region code within the country.")


def _item_reports() -> tuple[ReportSpec, ...]:
    """Ecommerce products per SKU, name and category: ordered, then left in abandoned carts."""
    by = (
        ("sku", "Sku", "SKU"),
        ("name", "Name", "product name"),
        ("category", "Category", "product category"),
    )
    ordered = tuple(
        ReportSpec(
            name=f"goals_items_{key}",
            method=f"Goals.getItems{method}",
            family="Goals",
            description=f"Ordered products per {what}.",
            metrics=ITEM_METRICS,
        )
        for key, method, what in by
    )
    abandoned = tuple(
        ReportSpec(
            name=f"goals_abandoned_cart_items_{key}",
            method=f"Goals.getItems{method}",
            family="Goals",
            description=f"Products left in abandoned carts, per {what}.",
            metrics=CART_ITEM_METRICS,
            params={"abandonedCarts": "1"},
        )
        for key, method, what in by
    )
    return ordered + abandoned


def _flat_levels(*levels: Dimension) -> dict[str, object]:
    """ReportSpec arguments of a hierarchical report flattened into one column per level."""
    columns = tuple(level.column for level in levels)
    return {"dimensions": levels, "levels": columns, "key_columns": columns, "flat": True}


#: Events dimensions: column, Matomo's flat key, method suffix, plural, `secondaryDimension`.
_EVENT_DIMENSIONS = {
    "category": ("Events_EventCategory", "Category", "categories", "eventCategory"),
    "action": ("Events_EventAction", "Action", "actions", "eventAction"),
    "name": ("Events_EventName", "Name", "names", "eventName"),
}


def _event_report(first: str, second: str, third: str, subtable_method: str) -> ReportSpec:
    """Events per ``first``, by ``second`` (Matomo's default) or ``third`` (`report_flattening`).

    The three Events reports differ only in this order.
    """
    levels = [_d(column, _EVENT_DIMENSIONS[column][0]) for column in (first, second, third)]
    _, suffix, plural, _ = _EVENT_DIMENSIONS[first]
    default, other = _EVENT_DIMENSIONS[second][3], _EVENT_DIMENSIONS[third][3]
    return ReportSpec(
        name=f"events_{plural}",
        method=f"Events.get{suffix}",
        family="Events",
        description=f"Events per {first} and {second} (or {third}, with `report_flattening`).",
        metrics=EVENT_METRICS,
        **_flat_levels(*levels),
        flatten_choices={default: {}, other: {"secondaryDimension": other}},
        subtable_method=subtable_method,
    )


REPORTS: tuple[ReportSpec, ...] = (
    # -- Visit Summary ------------------------------------------------------------------------
    ReportSpec(
        name="visits_summary",
        method="VisitsSummary.get",
        family="Visit Summary",
        description="Visits, unique visitors, actions, bounces and time on site per period. "
        "A period without visits is a row of zeros, as in Matomo's answer for that period "
        "alone (its multi-period answers leave it out).",
        kind="metrics",
        metrics=VISIT_SUMMARY_METRICS,
        key_columns=(),
    ),
    # -- Visit Frequency ----------------------------------------------------------------------
    ReportSpec(
        name="visit_frequency",
        method="VisitFrequency.get",
        family="Visit Frequency",
        description="The visit summary split into new and returning visitors.",
        kind="metrics",
        metrics=tuple(
            f"{metric}_{segment}"
            for segment in ("new", "returning")
            for metric in VISIT_SUMMARY_METRICS
        ),
        key_columns=(),
    ),
    # -- Visit Time ---------------------------------------------------------------------------
    ReportSpec(
        name="visit_time_local",
        method="VisitTime.getVisitInformationPerLocalTime",
        family="Visit Time",
        description="Visits per hour of the visitor's local time (`hour` 0-23).",
        metrics=VISIT_METRICS_NO_GOALS,
        dimensions=(_d("hour", "label", "integer"),),
        key_columns=("hour",),
    ),
    ReportSpec(
        name="visit_time_server",
        method="VisitTime.getVisitInformationPerServerTime",
        family="Visit Time",
        description="Visits per hour of the site's time (`hour` 0-23).",
        dimensions=(_d("hour", "label", "integer"),),
        key_columns=("hour",),
    ),
    ReportSpec(
        name="visit_time_day_of_week",
        method="VisitTime.getByDayOfWeek",
        family="Visit Time",
        description="Visits per day of the week (`day_of_week` 1 = Monday). Matomo refuses "
        "several dates here: one request per period.",
        metrics=(
            "nb_visits",
            "nb_uniq_visitors",
            "nb_users",
            "nb_actions",
            "sum_visit_length",
            "bounce_count",
            "nb_visits_converted",
        ),
        dimensions=(_d("day_of_week", json_type="integer"),),
        key_columns=("day_of_week",),
        multi_date=False,
    ),
    # -- User Country -------------------------------------------------------------------------
    ReportSpec(
        name="user_country_continents",
        method="UserCountry.getContinent",
        family="User Country",
        description="Visits per continent (code in `code`, e.g. `eur`).",
        dimensions=(_d("code"),),
        key_columns=("code",),
    ),
    ReportSpec(
        name="user_country_countries",
        method="UserCountry.getCountry",
        family="User Country",
        description="Visits per country (ISO code in `code`).",
        dimensions=(_d("code"),),
        key_columns=("code",),
    ),
    ReportSpec(
        name="user_country_regions",
        method="UserCountry.getRegion",
        family="User Country",
        description="Visits per region (codes in `country` and `region`).",
        dimensions=(
            _COUNTRY_CODE,
            _REGION_CODE,
            _d("country_name"),
            _d("region_name"),
        ),
        key_columns=("country", "region"),
    ),
    ReportSpec(
        name="user_country_cities",
        method="UserCountry.getCity",
        family="User Country",
        description="Visits per city, with its region and country codes and coordinates. "
        "Archives keep at most 500 cities per period (the rest in an `Others` row).",
        dimensions=(
            _COUNTRY_CODE,
            _REGION_CODE,
            _d("city_name"),
            _d("country_name"),
            _d("region_name"),
            _d("lat", json_type="number"),
            _d("long", json_type="number"),
        ),
        key_columns=("country", "region", "city_name"),
    ),
    # -- Devices Detection --------------------------------------------------------------------
    ReportSpec(
        name="devices_types",
        method="DevicesDetection.getType",
        family="Devices Detection",
        description="Visits per device type (Desktop, Smartphone...). Like Matomo's answer "
        "for a period alone, a period with visits lists every device type, with 0 visits when "
        "none (Matomo 5.0 leaves those out of multi-period answers; the tap adds them).",
        fixed_rows=FixedRows(DEVICE_TYPES, "deviceType"),
    ),
    ReportSpec(
        name="devices_brands",
        method="DevicesDetection.getBrand",
        family="Devices Detection",
        description="Visits per device brand.",
    ),
    ReportSpec(
        name="devices_models",
        method="DevicesDetection.getModel",
        family="Devices Detection",
        description="Visits per device model.",
    ),
    ReportSpec(
        name="devices_os_families",
        method="DevicesDetection.getOsFamilies",
        family="Devices Detection",
        description="Visits per operating system family.",
        metrics=VISIT_METRICS_NO_GOALS,
    ),
    ReportSpec(
        name="devices_os_versions",
        method="DevicesDetection.getOsVersions",
        family="Devices Detection",
        description="Visits per operating system version.",
        metrics=VISIT_METRICS_NO_GOALS,
    ),
    ReportSpec(
        name="devices_browsers",
        method="DevicesDetection.getBrowsers",
        family="Devices Detection",
        description="Visits per browser.",
    ),
    ReportSpec(
        name="devices_browser_versions",
        method="DevicesDetection.getBrowserVersions",
        family="Devices Detection",
        description="Visits per browser version.",
        metrics=VISIT_METRICS_NO_GOALS,
    ),
    ReportSpec(
        name="devices_browser_engines",
        method="DevicesDetection.getBrowserEngines",
        family="Devices Detection",
        description="Visits per browser engine.",
        metrics=VISIT_METRICS_NO_GOALS,
    ),
    # -- Referrers ----------------------------------------------------------------------------
    ReportSpec(
        name="referrers_referrer_types",
        method="Referrers.getReferrerType",
        family="Referrers",
        description="Visits per channel type (`referrer_type`: 1 direct, 2 search, 3 website, "
        "6 campaign, 7 social). Matomo does not flatten it; `referrers_all` has the referrers.",
        dimensions=(_d("referrer_type", json_type="integer"),),
        key_columns=("referrer_type",),
        subtable_method="Referrers.getReferrerType",
    ),
    ReportSpec(
        name="referrers_all",
        method="Referrers.getAll",
        family="Referrers",
        description="Visits per referrer of every type (`referrer_type` and the referrer in "
        "`label`; keywords for search engines). Matomo refuses several dates here: one request "
        "per period.",
        dimensions=(_d("referrer_type", "referer_type", "integer"),),
        key_columns=("referrer_type", "label"),
        multi_date=False,
    ),
    ReportSpec(
        name="referrers_keywords",
        method="Referrers.getKeywords",
        family="Referrers",
        description="Visits per search keyword and search engine.",
        **_flat_levels(
            _d("keyword", "Referrers_Keyword"),
            _d("search_engine", "Referrers_SearchEngine"),
        ),
        subtable_method="Referrers.getSearchEnginesFromKeywordId",
    ),
    ReportSpec(
        name="referrers_search_engines",
        method="Referrers.getSearchEngines",
        family="Referrers",
        description="Visits per search engine and keyword.",
        **_flat_levels(
            _d("search_engine", "Referrers_SearchEngine"),
            _d("keyword", "Referrers_Keyword"),
        ),
        subtable_method="Referrers.getKeywordsFromSearchEngineId",
    ),
    ReportSpec(
        name="referrers_websites",
        method="Referrers.getWebsites",
        family="Referrers",
        description="Visits per referring website and page.",
        **_flat_levels(
            _d("website", "Referrers_Website"),
            _d("website_page", "Referrers_WebsitePage"),
        ),
        subtable_method="Referrers.getUrlsFromWebsiteId",
    ),
    ReportSpec(
        name="referrers_socials",
        method="Referrers.getSocials",
        family="Referrers",
        description="Visits per social network and page.",
        **_flat_levels(
            _d("social_network", "Referrers_SocialNetwork"),
            _d("website_page", "Referrers_WebsitePage"),
        ),
        subtable_method="Referrers.getUrlsForSocial",
    ),
    ReportSpec(
        name="referrers_campaigns",
        method="Referrers.getCampaigns",
        family="Referrers",
        description="Visits per campaign and campaign keyword. With MarketingCampaignsReporting "
        "active Matomo cannot flatten it: the tap then reads the campaigns only.",
        **_flat_levels(
            _d("campaign", "Referrers_Campaign"),
            _d("keyword", "Referrers_Keyword"),
        ),
        subtable_method="Referrers.getKeywordsFromCampaignId",
    ),
    # -- Actions ------------------------------------------------------------------------------
    ReportSpec(
        name="actions_summary",
        method="Actions.get",
        family="Actions",
        description="Page views, downloads, outlinks and site searches per period.",
        kind="metrics",
        metrics=(
            "nb_pageviews",
            "nb_uniq_pageviews",
            "nb_downloads",
            "nb_uniq_downloads",
            "nb_outlinks",
            "nb_uniq_outlinks",
            "nb_searches",
            "nb_keywords",
        ),
        key_columns=(),
    ),
    ReportSpec(
        name="actions_page_urls",
        method="Actions.getPageUrls",
        family="Actions",
        description="Page views per page URL (flattened: one row per page, its path in "
        "`label`, the full URL in `url`).",
        metrics=PAGE_METRICS,
        flat=True,
        subtable_method="Actions.getPageUrls",
    ),
    ReportSpec(
        name="actions_page_titles",
        method="Actions.getPageTitles",
        family="Actions",
        description="Page views per page title (flattened; titles keep Matomo's leading space).",
        metrics=PAGE_METRICS,
        flat=True,
        subtable_method="Actions.getPageTitles",
    ),
    ReportSpec(
        name="actions_entry_page_urls",
        method="Actions.getEntryPageUrls",
        family="Actions",
        description="Entries (and their bounces) per landing page URL (flattened).",
        metrics=PAGE_METRICS,
        flat=True,
        subtable_method="Actions.getEntryPageUrls",
    ),
    ReportSpec(
        name="actions_exit_page_urls",
        method="Actions.getExitPageUrls",
        family="Actions",
        description="Exits per exit page URL (flattened).",
        metrics=PAGE_METRICS,
        flat=True,
        subtable_method="Actions.getExitPageUrls",
    ),
    ReportSpec(
        name="actions_entry_page_titles",
        method="Actions.getEntryPageTitles",
        family="Actions",
        description="Entries (and their bounces) per landing page title (flattened; the page "
        "titles report restricted to titles that started a visit).",
        metrics=PAGE_METRICS,
        flat=True,
        subtable_method="Actions.getEntryPageTitles",
    ),
    ReportSpec(
        name="actions_exit_page_titles",
        method="Actions.getExitPageTitles",
        family="Actions",
        description="Exits per exit page title (flattened; the page titles report restricted "
        "to titles that ended a visit).",
        metrics=PAGE_METRICS,
        flat=True,
        subtable_method="Actions.getExitPageTitles",
    ),
    ReportSpec(
        name="actions_downloads",
        method="Actions.getDownloads",
        family="Actions",
        description="Downloads per file (flattened: domain and path in `label`, URL in `url`).",
        metrics=LINK_METRICS,
        flat=True,
        subtable_method="Actions.getDownloads",
    ),
    ReportSpec(
        name="actions_outlinks",
        method="Actions.getOutlinks",
        family="Actions",
        description="Clicks per outgoing link (flattened: domain and path in `label`).",
        metrics=LINK_METRICS,
        flat=True,
        subtable_method="Actions.getOutlinks",
    ),
    ReportSpec(
        name="actions_site_search_keywords",
        method="Actions.getSiteSearchKeywords",
        family="Actions",
        description="Site searches per keyword.",
        metrics=SITE_SEARCH_METRICS,
    ),
    ReportSpec(
        name="actions_site_search_no_result_keywords",
        method="Actions.getSiteSearchNoResultKeywords",
        family="Actions",
        description="Site search keywords that found nothing.",
        metrics=SITE_SEARCH_METRICS,
    ),
    ReportSpec(
        name="actions_site_search_categories",
        method="Actions.getSiteSearchCategories",
        family="Actions",
        description="Site searches per search category.",
        metrics=(
            "nb_visits",
            "nb_uniq_visitors",
            "sum_daily_nb_uniq_visitors",
            "nb_actions",
            "nb_pages_per_search",
        ),
    ),
    *(
        ReportSpec(
            name=f"actions_site_search_page_{plural}",
            method=f"Actions.getPage{method}FollowingSiteSearch",
            family="Actions",
            description=f"Pages viewed right after a site search, per page {what} (flattened; "
            "`nb_hits_following_search` counts the views from search results). Matomo keeps "
            "the top-level rows clicked from a search and, flattened, every page below them: "
            "pages without `nb_hits_following_search` were not.",
            metrics=PAGE_METRICS,
            flat=True,
            subtable_method=f"Actions.getPage{method}FollowingSiteSearch",
        )
        for plural, method, what in (("urls", "Urls", "URL"), ("titles", "Titles", "title"))
    ),
    # -- Events -------------------------------------------------------------------------------
    _event_report("category", "action", "name", "Events.getActionFromCategoryId"),
    _event_report("action", "name", "category", "Events.getNameFromActionId"),
    _event_report("name", "action", "category", "Events.getActionFromNameId"),
    # -- Contents -----------------------------------------------------------------------------
    ReportSpec(
        name="contents_names",
        method="Contents.getContentNames",
        family="Contents",
        description="Impressions and interactions per content name and piece. Matomo keys "
        "only the joined label; the name comes from the row's segment.",
        metrics=CONTENT_METRICS,
        **_flat_levels(
            _d("content_name", "segment:contentName"),
            Dimension("content_piece", "label", after="content_name"),
        ),
        subtable_method="Contents.getContentNames",
    ),
    ReportSpec(
        name="contents_pieces",
        method="Contents.getContentPieces",
        family="Contents",
        description="Impressions and interactions per content piece and name.",
        metrics=CONTENT_METRICS,
        **_flat_levels(
            _d("content_piece", "segment:contentPiece"),
            Dimension("content_name", "label", after="content_piece"),
        ),
        subtable_method="Contents.getContentPieces",
    ),
    # -- Goals --------------------------------------------------------------------------------
    ReportSpec(
        name="goals_summary",
        method="Goals.get",
        family="Goals",
        description="Conversions, converted visits, revenue and conversion rate of all goals "
        "(ecommerce included), overall and per new/returning visit.",
        kind="metrics",
        metrics=GOAL_SUMMARY_METRICS,
        key_columns=(),
    ),
    ReportSpec(
        name="goals_per_goal",
        method="Goals.get",
        family="Goals",
        description="Conversions, converted visits, revenue and conversion rate of each goal "
        "the site defines (`goal_id`, from `Goals.getGoals`), overall and per new/returning "
        "visit. One request series per goal; a site without goals is not asked. A goal added "
        "later is read from the site's bookmark on (Matomo only converts a goal once it exists).",
        kind="metrics",
        metrics=GOAL_SUMMARY_METRICS,
        dimensions=(
            Dimension(
                "goal_id",
                "idGoal",
                "integer",
                description="The goal's id (`idGoal` of the request; `goal_id` of `goals`).",
                origin="request",
            ),
        ),
        key_columns=("goal_id",),
        variants_of=PER_GOAL,
    ),
    ReportSpec(
        name="goals_ecommerce_orders",
        method="Goals.get",
        family="Goals",
        description="Ecommerce orders: conversions, revenue (subtotal, tax, shipping, "
        "discount), items, average order value.",
        kind="metrics",
        metrics=ECOMMERCE_ORDER_METRICS,
        key_columns=(),
        params={"idGoal": "ecommerceOrder"},
    ),
    ReportSpec(
        name="goals_abandoned_carts",
        method="Goals.get",
        family="Goals",
        description="Abandoned carts: count, value, items.",
        kind="metrics",
        metrics=ABANDONED_CART_METRICS,
        key_columns=(),
        params={"idGoal": "ecommerceAbandonedCart"},
    ),
    *_item_reports(),
    ReportSpec(
        name="goals_days_to_conversion",
        method="Goals.getDaysToConversion",
        family="Goals",
        description="Conversions per number of days from the first visit (`label`, e.g. "
        "`8-14 days`).",
        metrics=("nb_conversions",),
    ),
    ReportSpec(
        name="goals_visits_until_conversion",
        method="Goals.getVisitsUntilConversion",
        family="Goals",
        description="Conversions per number of visits before converting (`label`).",
        metrics=("nb_conversions",),
    ),
    # -- Custom Dimensions --------------------------------------------------------------------
    ReportSpec(
        name="custom_dimensions",
        method="CustomDimensions.getCustomDimension",
        family="Custom Dimensions",
        description="Metrics per value (`label`) of each active custom dimension of the site "
        "(`dimension_id`, from `CustomDimensions.getConfiguredCustomDimensions`): one request "
        "series per dimension; a site without active dimensions is not asked. Visit-scope "
        "dimensions have visit and goal metrics, action-scope ones page metrics. Rows are the "
        "values only, without `flat=1`: it adds nothing to a visit-scope dimension, and would "
        "replace each value of an action-scope dimension by its page URLs (its subtable, "
        "not read).",
        metrics=CUSTOM_DIMENSION_METRICS,
        dimensions=(
            Dimension(
                "dimension_id",
                "idDimension",
                "integer",
                description="The dimension's id (`idDimension` of the request).",
                origin="request",
            ),
            Dimension(
                "dimension_name",
                "name",
                description="The dimension's name as configured at the time of the run.",
                origin="variant",
            ),
            Dimension(
                "dimension_scope",
                "scope",
                description="`visit` or `action`: what the dimension describes.",
                origin="variant",
            ),
        ),
        key_columns=("dimension_id", "label"),
        variants_of=PER_CUSTOM_DIMENSION,
        plugin="CustomDimensions",
    ),
)


def reports_by_name() -> dict[str, ReportSpec]:
    """The catalog indexed by stream name."""
    return {spec.name: spec for spec in REPORTS}


def covered_methods() -> frozenset[str]:
    """Every API method a catalog stream reads or covers (``covers``), whatever its params."""
    return frozenset(
        method
        for spec in REPORTS
        for method in (spec.method, spec.subtable_method, *spec.covers)
        if method
    )


#: Every report with a subtable method also gets its subtable stream.
REPORTS += tuple(subtable_spec(spec) for spec in REPORTS if spec.subtable_method)
REPORTS += VISITOR_REPORTS + OVERVIEW_REPORTS


# == Items, Transitions, Advanced Campaign Reporting, Click Path ===============================

ITEM_REPORTS: tuple[ReportSpec, ...] = (
    ReportSpec(
        name="actions_page_url",
        method="Actions.getPageUrl",
        family="Actions",
        description="Page metrics of each URL of the `page_urls` setting (`page_url`), one "
        "partition per site and URL. A period without a view of the page has no row.",
        metrics=PAGE_METRICS,
        item_setting="page_urls",
        item_param="pageUrl",
        item_column="page_url",
    ),
    ReportSpec(
        name="actions_page_title",
        method="Actions.getPageTitle",
        family="Actions",
        description="Page metrics of each title of the `page_titles` setting (`page_title`, "
        "as configured; `label` is Matomo's, with its leading space).",
        metrics=PAGE_METRICS,
        item_setting="page_titles",
        item_param="pageName",
        item_column="page_title",
    ),
)


#: Transitions counts: `referrals` (page and referrer rows), `visits` (referrer type rows),
#: the page's own `loops`, `pageviews`, `entries` and `exits` (the `page` row).
TRANSITIONS_METRICS = ("referrals", "visits", "loops", "pageviews", "entries", "exits")
TRANSITIONS_DIMENSIONS = (
    Dimension(
        "direction",
        "direction",
        description="previous_pages, previous_site_searches, following_pages, "
        "following_site_searches, outlinks, downloads, referrer_types (one row per referrer "
        "type, with its `visits`), referrers (one row per referrer of a type), or page (the "
        "page's own metrics).",
    ),
    Dimension(
        "referrer_type",
        "referrer_type",
        description="Matomo's `shortName` of the referrer type (direct, search, website, "
        "campaign, social); empty on other directions.",
    ),
)


def _transitions(item_setting: str, item_column: str, action_type: str) -> ReportSpec:
    """Transitions around each page of an item setting (`actionType` url or title)."""
    return ReportSpec(
        name=f"transitions_{item_column}",
        method="Transitions.getTransitionsForAction",
        family="Transitions",
        description=f"Where visitors came from and went to around each page of `{item_setting}`"
        ": one row per `direction`, `referrer_type` and `label` (a page, a search keyword, a "
        "link, a referrer) with its `referrals`, one per referrer type with its `visits`, and "
        "one `page` row with the page's own loops, pageviews, entries and exits. Matomo "
        "computes it from raw logs on every request (not archived; one request per period): "
        "not selected by default.",
        metrics=TRANSITIONS_METRICS,
        dimensions=TRANSITIONS_DIMENSIONS,
        key_columns=("direction", "referrer_type", "label"),
        params={"actionType": action_type},
        multi_date=False,
        item_setting=item_setting,
        item_param="actionName",
        item_column=item_column,
        stream_class="transitions",
        selected_by_default=False,
    )


TRANSITIONS_REPORTS: tuple[ReportSpec, ...] = (
    _transitions("page_urls", "page_url", "url"),
    _transitions("page_titles", "page_title", "title"),
)


def _campaign(
    report: str,
    name: str,
    description: str,
    levels: tuple[Dimension, ...] = (),
    subtable_method: str | None = None,
) -> ReportSpec:
    """An Advanced Campaign Reporting report; with levels, flattened one column per level."""
    columns = tuple(level.column for level in levels)
    return ReportSpec(
        name=f"campaigns_{name}",
        method=f"MarketingCampaignsReporting.{report}",
        family="Advanced Campaign Reporting",
        description=description + " Values are lower-cased by the plugin.",
        dimensions=levels,
        levels=columns,
        key_columns=columns or ("label",),
        flat=bool(levels),
        subtable_method=subtable_method,
        plugin="MarketingCampaignsReporting",
    )


_CAMPAIGN_NAME = Dimension(
    "campaign_name", "MarketingCampaignsReporting_CampaignName", description="Campaign name."
)

CAMPAIGN_REPORTS: tuple[ReportSpec, ...] = (
    _campaign("getId", "ids", "Visits per campaign id (`mtm_cid`, `utm_id`)."),
    _campaign(
        "getName",
        "names",
        "Visits per campaign name, keyword and content (flattened: `campaign_name`, "
        "`campaign_keyword_content` = `keyword - content`, empty when the campaign has none).",
        levels=(
            _CAMPAIGN_NAME,
            Dimension(
                "campaign_keyword_content",
                "MarketingCampaignsReporting_CombinedKeywordContent",
                description="Campaign keyword and content, joined by ` - `.",
            ),
        ),
        subtable_method="MarketingCampaignsReporting.getKeywordContentFromNameId",
    ),
    _campaign("getKeyword", "keywords", "Visits per campaign keyword (`mtm_kwd`, `utm_term`)."),
    _campaign("getSource", "sources", "Visits per campaign source."),
    _campaign("getMedium", "mediums", "Visits per campaign medium."),
    _campaign("getContent", "contents", "Visits per campaign content."),
    _campaign("getGroup", "groups", "Visits per campaign group (`mtm_group`)."),
    _campaign("getPlacement", "placements", "Visits per campaign placement (`mtm_placement`)."),
    _campaign(
        "getSourceMedium",
        "source_mediums",
        "Visits per campaign source and medium, and campaign name (flattened: "
        "`campaign_source_medium` = `source - medium`, `campaign_name`).",
        levels=(
            Dimension(
                "campaign_source_medium",
                "MarketingCampaignsReporting_CampaignSourceMedium",
                description="Campaign source and medium, joined by ` - `.",
            ),
            _CAMPAIGN_NAME,
        ),
        subtable_method="MarketingCampaignsReporting.getNameFromSourceMediumId",
    ),
)

#: Users Flow (InnoCraft premium plugin): visits at a step, and how many left or went on.
USERS_FLOW_METRICS = ("nb_visits", "nb_exits", "nb_proceeded", "proceeded_rate", "exit_rate")
_INTERACTION_POSITION = Dimension(
    "interaction_position",
    "interaction_position",
    "integer",
    description="Interaction step of the visit (1 = the entry page).",
)
_ACTION = Dimension("action", "action", description="Page (URL) viewed at that step.")


def _users_flow(
    name: str,
    method: str,
    description: str,
    metrics: tuple[str, ...],
    dimensions: tuple[Dimension, ...],
    *,
    flat: bool = False,
    per_step: bool = False,
) -> ReportSpec:
    """A Users Flow report; ``per_step``: one partition per step of the positions setting."""
    return ReportSpec(
        name=name,
        method=f"UsersFlow.{method}",
        family="Click Path (Users Flow)",
        description=description + " Needs the premium UsersFlow plugin.",
        metrics=metrics,
        dimensions=dimensions,
        params={"dataSource": "page_url"},
        flat=flat,
        multi_date=not per_step,
        plugin="UsersFlow",
        item_setting="users_flow_interaction_positions" if per_step else None,
        item_param="interactionPosition" if per_step else None,
        item_column="interaction_position" if per_step else None,
        item_json_type="integer",
        stream_class="users_flow",
        selected_by_default=False,
    )


USERS_FLOW_REPORTS: tuple[ReportSpec, ...] = (
    _users_flow(
        "users_flow",
        "getUsersFlowPretty",
        "Visitor paths: one row per interaction step, page and next page "
        "(`interaction_position`, `action`, `proceeded_to`, empty for the visits that left; "
        "`label` joins them with ` → `).",
        USERS_FLOW_METRICS,
        (
            _INTERACTION_POSITION,
            _ACTION,
            Dimension("proceeded_to", "proceeded_to", description="Page viewed next."),
        ),
        flat=True,
    ),
    _users_flow(
        "users_flow_steps",
        "getUsersFlow",
        "Visits, exits and visits that went on, per interaction step.",
        USERS_FLOW_METRICS[:3],
        (_INTERACTION_POSITION,),
    ),
    _users_flow(
        "users_flow_interaction_actions",
        "getInteractionActions",
        "Every page viewed at the steps of `users_flow_interaction_positions` "
        "(`interaction_position`), with its visits, exits and visits that went on; one "
        "request per period (Matomo refuses several dates).",
        USERS_FLOW_METRICS[:3],
        (_ACTION,),
        per_step=True,
    ),
)

REPORTS += ITEM_REPORTS + TRANSITIONS_REPORTS + CAMPAIGN_REPORTS + USERS_FLOW_REPORTS
REPORTS += tuple(subtable_spec(spec) for spec in CAMPAIGN_REPORTS if spec.subtable_method)
