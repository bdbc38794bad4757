"""Catalog entries read per configured item, or from plugins outside Matomo's core.

Single pages and Transitions (per page of the `page_urls` / `page_titles` settings), Advanced
Campaign Reporting (MarketingCampaignsReporting) and Click Path (the premium Users Flow).
"""

from __future__ import annotations

from tap_matomo.catalog_metrics import PAGE_METRICS
from tap_matomo.specs import Dimension, ReportSpec

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
