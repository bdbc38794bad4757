"""The report catalog: every Matomo report the tap extracts, declared as data.

One :class:`ReportSpec` per stream. Adding a report is adding an entry here; the generic
:class:`~tap_matomo.streams.reports.ReportStream` turns each entry into a typed, keyed,
incremental stream. Only reports whose rows have a different shape (sites, goal definitions,
Transitions, Users Flow, the visit log) have classes of their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

ReportKind = Literal["metrics", "table"]

#: Visit metrics shared by most dimension reports (``nb_uniq_visitors``/``nb_users`` on days,
#: their ``sum_daily_*`` counterparts on longer periods).
VISIT_METRICS = (
    "nb_visits",
    "nb_uniq_visitors",
    "nb_users",
    "sum_daily_nb_uniq_visitors",
    "sum_daily_nb_users",
    "nb_actions",
    "max_actions",
    "sum_visit_length",
    "bounce_count",
    "nb_visits_converted",
    "nb_conversions",
    "revenue",
)


@dataclass(frozen=True)
class Dimension:
    """A record column taken from a row key (a flattened level or row metadata)."""

    column: str
    source: str
    json_type: str = "string"
    description: str | None = None


@dataclass(frozen=True)
class ReportSpec:
    """Everything that makes one report stream: what to call, how to key and type its rows."""

    name: str
    method: str
    family: str
    description: str
    kind: ReportKind = "table"
    metrics: tuple[str, ...] = VISIT_METRICS
    dimensions: tuple[Dimension, ...] = ()
    #: Columns (besides site, period and date) that make a row unique.
    key_columns: tuple[str, ...] = ("label",)
    #: Extra request parameters, e.g. ``{"idGoal": "ecommerceOrder"}``.
    params: Mapping[str, str] = field(default_factory=dict)
    #: The report is hierarchical: ask ``flat=1`` so every level has its own column.
    flat: bool = False
    #: False for methods that refuse ``date=A,B`` ("does not support multiple dates").
    multi_date: bool = True
    #: The plugin the report needs, when it is not part of Matomo core.
    plugin: str | None = None
    selected_by_default: bool = True


def _d(column: str, source: str | None = None, json_type: str = "string") -> Dimension:
    return Dimension(column=column, source=source or column, json_type=json_type)


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

REPORTS: tuple[ReportSpec, ...] = (
    # -- Visit Summary ------------------------------------------------------------------------
    ReportSpec(
        name="visits_summary",
        method="VisitsSummary.get",
        family="Visit Summary",
        description="Visits, unique visitors, actions, bounces and time on site per period.",
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
        description="Visits per hour of the visitor's local time (00-23).",
    ),
    ReportSpec(
        name="visit_time_server",
        method="VisitTime.getVisitInformationPerServerTime",
        family="Visit Time",
        description="Visits per hour of the site's time (00-23).",
    ),
    ReportSpec(
        name="visit_time_day_of_week",
        method="VisitTime.getByDayOfWeek",
        family="Visit Time",
        description="Visits per day of the week (1 = Monday).",
        dimensions=(_d("day_of_week", json_type="integer"),),
        key_columns=("day_of_week",),
        multi_date=False,
    ),
    # -- User Country -------------------------------------------------------------------------
    ReportSpec(
        name="user_country_countries",
        method="UserCountry.getCountry",
        family="User Country",
        description="Visits per country (ISO code in `code`).",
        dimensions=(_d("code"),),
        key_columns=("code",),
    ),
    # -- Referrers ----------------------------------------------------------------------------
    ReportSpec(
        name="referrers_search_engines",
        method="Referrers.getSearchEngines",
        family="Referrers",
        description="Visits per search engine and keyword.",
        dimensions=(
            _d("search_engine", "Referrers_SearchEngine"),
            _d("keyword", "Referrers_Keyword"),
        ),
        key_columns=("search_engine", "keyword"),
        flat=True,
    ),
    # -- Actions ------------------------------------------------------------------------------
    ReportSpec(
        name="actions_page_urls",
        method="Actions.getPageUrls",
        family="Actions",
        description="Page views per page URL (flattened: one row per page, full path in `label`).",
        metrics=(
            "nb_visits",
            "nb_uniq_visitors",
            "sum_daily_nb_uniq_visitors",
            "nb_hits",
            "sum_time_spent",
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
        ),
        flat=True,
    ),
)


def reports_by_name() -> dict[str, ReportSpec]:
    """The catalog indexed by stream name."""
    return {spec.name: spec for spec in REPORTS}
