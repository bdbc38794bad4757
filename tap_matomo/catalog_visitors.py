"""Catalog entries: the visitors' settings, their engagement and their User IDs.

Settings: browser language, screen resolution, configuration, browser plugins. Engagement:
visit length, pages per visit, visit number, days since the last visit.

Core plugins UserLanguage, Resolution, DevicePlugins, VisitorInterest and UserId: flat tables,
one row per label, checked on recordings 0408-0437 and 0513 (the others' shapes on Matomo's
source, see tests/hand_built_catalog.py).
"""

from __future__ import annotations

from tap_matomo.specs import VISIT_METRICS_NO_GOALS, Dimension, ReportSpec


def _setting(name: str, method: str, description: str) -> ReportSpec:
    """A visitor setting: visit metrics per value (``label``), no goal metrics."""
    return ReportSpec(
        name=name,
        method=method,
        family="Visitor Settings",
        description=description,
        metrics=VISIT_METRICS_NO_GOALS,
    )


def _engagement(name: str, method: str, description: str, *, share: bool = False) -> ReportSpec:
    """A VisitorInterest report: visits per fixed bucket (``label``), every bucket listed.

    ``share``: Matomo's metadata also lists ``nb_visits_percentage`` for the report.
    """
    return ReportSpec(
        name=name,
        method=f"VisitorInterest.{method}",
        family="Engagement",
        description=description + " Matomo lists every bucket, with 0 visits when none.",
        metrics=("nb_visits", "nb_visits_percentage") if share else ("nb_visits",),
    )


VISITOR_REPORTS: tuple[ReportSpec, ...] = (
    # -- Visitor Settings ---------------------------------------------------------------------
    _setting(
        "visitor_languages",
        "UserLanguage.getLanguage",
        "Visits per browser language (`label`, e.g. `French`; the row's `segment` lists the "
        "language codes it covers).",
    ),
    _setting(
        "visitor_language_codes",
        "UserLanguage.getLanguageCode",
        "Visits per browser language code (`label`, e.g. `German - Austria (de-at)`).",
    ),
    _setting(
        "visitor_resolutions",
        "Resolution.getResolution",
        "Visits per screen resolution (`label`, e.g. `1920x1080`).",
    ),
    _setting(
        "visitor_configurations",
        "Resolution.getConfiguration",
        "Visits per configuration: operating system, browser and screen resolution together "
        "(`label`, e.g. `Windows / Chrome / 1920x1080`).",
    ),
    ReportSpec(
        name="visitor_browser_plugins",
        method="DevicePlugins.getPlugin",
        family="Visitor Settings",
        description="Visits per browser plugin or capability (`label`: Cookie, PDF, Java...); "
        "`nb_visits_percentage` is the share of visits that had it.",
        metrics=("nb_visits", "nb_visits_percentage"),
    ),
    # -- Engagement ---------------------------------------------------------------------------
    _engagement(
        "engagement_visit_durations",
        "getNumberOfVisitsPerVisitDuration",
        "Visits per visit length (`label`, e.g. `1-2 min`, `30+ min`; the first three "
        "buckets, in seconds, have an en dash: `0\u201310s`).",
    ),
    _engagement(
        "engagement_pages_per_visit",
        "getNumberOfVisitsPerPage",
        "Visits per number of pages viewed (`label`, e.g. `1 page`, `6-7 pages`).",
    ),
    _engagement(
        "engagement_visit_numbers",
        "getNumberOfVisitsByVisitCount",
        "Visits per visit number of the visitor (`label`, e.g. `1 visit`, `9-14 visits`).",
        share=True,
    ),
    _engagement(
        "engagement_days_since_last_visit",
        "getNumberOfVisitsByDaysSinceLast",
        "Visits of returning visitors per days since their last visit (`label`, e.g. "
        "`0 days`, `8-14 days`).",
    ),
    # -- User IDs -----------------------------------------------------------------------------
    ReportSpec(
        name="user_ids",
        method="UserId.getUsers",
        family="User IDs",
        description="Visit metrics per User ID (`label`) and the visitor id Matomo derived "
        "from it (`visitor_id`). One row per user and period (up to 50,000 per archive), and "
        "User IDs are personal data: not selected by default.",
        metrics=VISIT_METRICS_NO_GOALS,
        dimensions=(
            Dimension(
                "visitor_id",
                "idvisitor",
                description="Matomo's visitor id of the user (`idvisitor`, 16 hex digits).",
            ),
        ),
        selected_by_default=False,
    ),
)
