"""The report catalog: every Matomo report the tap extracts, declared as data.

One :class:`ReportSpec` (:mod:`tap_matomo.specs`) per stream. Adding a report is adding an
entry here or in a family module gathered here (:mod:`tap_matomo.catalog_visitors`,
:mod:`tap_matomo.catalog_overviews`, :mod:`tap_matomo.catalog_items`); the generic
:class:`~tap_matomo.streams.reports.ReportStream` turns each entry into a typed, keyed,
incremental stream. Only reports whose rows have a different shape (sites, goal definitions,
Transitions, Users Flow, the visit log) have classes of their own.
"""

from __future__ import annotations

from tap_matomo.catalog_items import (
    CAMPAIGN_REPORTS,
    ITEM_REPORTS,
    TRANSITIONS_REPORTS,
    USERS_FLOW_REPORTS,
)
from tap_matomo.catalog_metrics import (
    ABANDONED_CART_METRICS,
    ACTIONS_SUMMARY_METRICS,
    CART_ITEM_METRICS,
    CONTENT_METRICS,
    CUSTOM_DIMENSION_METRICS,
    ECOMMERCE_ORDER_METRICS,
    EVENT_METRICS,
    GOAL_SUMMARY_METRICS,
    ITEM_METRICS,
    LINK_METRICS,
    PAGE_METRICS,
    SITE_SEARCH_METRICS,
    VISIT_SUMMARY_METRICS,
)
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

#: Names other modules take from here (the catalog's building blocks live in
#: :mod:`tap_matomo.specs`, :mod:`tap_matomo.catalog_metrics` and the family modules).
__all__ = [
    "CAMPAIGN_REPORTS",
    "ITEM_REPORTS",
    "PAGE_METRICS",
    "PER_CUSTOM_DIMENSION",
    "PER_GOAL",
    "REPORTS",
    "TRANSITIONS_REPORTS",
    "USERS_FLOW_REPORTS",
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
        metrics=ACTIONS_SUMMARY_METRICS,
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


REPORTS += ITEM_REPORTS + TRANSITIONS_REPORTS + CAMPAIGN_REPORTS + USERS_FLOW_REPORTS
REPORTS += tuple(subtable_spec(spec) for spec in CAMPAIGN_REPORTS if spec.subtable_method)
