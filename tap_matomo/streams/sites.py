"""Configuration streams: the sites, and the goals defined on each site."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from singer_sdk import typing as th
from singer_sdk.helpers.types import Context
from typing_extensions import override

from tap_matomo.errors import MatomoRequestError
from tap_matomo.schemas import to_number
from tap_matomo.streams.base import SITE_ID_PROPERTY, MatomoStream


def _flag(value: Any) -> bool | None:
    if value in (None, ""):
        return None
    return str(value) not in ("0", "false", "False")


def _utc_timestamp(value: Any, site_id: int) -> str | None:
    """Matomo's ``Y-m-d H:i:s`` (UTC) as an ISO 8601 timestamp."""
    if not value:
        return None
    try:
        parsed = datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise MatomoRequestError(
            f"site {site_id}: unexpected `ts_created` {value!r} (expected YYYY-MM-DD HH:MM:SS)",
            method="SitesManager.getSitesWithAtLeastViewAccess",
        ) from None
    return parsed.replace(tzinfo=timezone.utc).isoformat()


class SitesStream(MatomoStream):
    """The configured sites (or all viewable ones); other streams take their timezones here."""

    name = "sites"
    primary_keys = ("site_id",)
    schema = th.PropertiesList(
        SITE_ID_PROPERTY,
        th.Property("name", th.StringType),
        th.Property("main_url", th.StringType),
        th.Property("ts_created", th.DateTimeType, description="Creation time (UTC)."),
        th.Property("timezone", th.StringType, description="Olson name or `UTC+5.5` offset."),
        th.Property("currency", th.StringType),
        th.Property("ecommerce", th.BooleanType),
        th.Property("sitesearch", th.BooleanType),
        th.Property("sitesearch_keyword_parameters", th.StringType),
        th.Property("sitesearch_category_parameters", th.StringType),
        th.Property("exclude_unknown_urls", th.BooleanType),
        th.Property("excluded_ips", th.StringType),
        th.Property("excluded_parameters", th.StringType),
        th.Property("excluded_user_agents", th.StringType),
        th.Property("excluded_referrers", th.StringType),
        th.Property("keep_url_fragment", th.IntegerType),
        th.Property("group", th.StringType),
        th.Property("type", th.StringType),
        th.Property("creator_login", th.StringType),
        th.Property("timezone_name", th.StringType),
        th.Property("currency_name", th.StringType),
    ).to_dict()

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        for site in self.run.sites:
            raw = site.raw
            yield {
                **{key: raw.get(key) for key in self.schema["properties"] if key in raw},
                "site_id": site.site_id,
                "ts_created": _utc_timestamp(raw.get("ts_created"), site.site_id),
                "ecommerce": _flag(raw.get("ecommerce")),
                "sitesearch": _flag(raw.get("sitesearch")),
                "exclude_unknown_urls": _flag(raw.get("exclude_unknown_urls")),
                "keep_url_fragment": to_number(raw.get("keep_url_fragment"), "integer"),
            }


class GoalsStream(MatomoStream):
    """Goal definitions of each site (``Goals.getGoals``), all sites in one bulk request."""

    name = "goals"
    primary_keys = ("site_id", "goal_id")
    schema = th.PropertiesList(
        SITE_ID_PROPERTY,
        th.Property("goal_id", th.IntegerType, required=True),
        th.Property("name", th.StringType),
        th.Property("description", th.StringType),
        th.Property("match_attribute", th.StringType),
        th.Property("pattern", th.StringType),
        th.Property("pattern_type", th.StringType),
        th.Property("case_sensitive", th.BooleanType),
        th.Property("allow_multiple", th.BooleanType),
        th.Property("revenue", th.NumberType),
        th.Property("deleted", th.BooleanType),
        th.Property("event_value_as_revenue", th.BooleanType),
    ).to_dict()

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        for site in self.run.sites:
            # Read once per run for every site; the per-goal reports reuse the answers.
            for goal in self.run.goals(site.site_id):
                yield {
                    "site_id": site.site_id,
                    "goal_id": int(goal["idgoal"]),
                    "name": goal.get("name"),
                    "description": goal.get("description"),
                    "match_attribute": goal.get("match_attribute"),
                    "pattern": goal.get("pattern"),
                    "pattern_type": goal.get("pattern_type"),
                    "case_sensitive": _flag(goal.get("case_sensitive")),
                    "allow_multiple": _flag(goal.get("allow_multiple")),
                    "revenue": to_number(goal.get("revenue")),  # "" when not set
                    "deleted": _flag(goal.get("deleted")),
                    "event_value_as_revenue": _flag(goal.get("event_value_as_revenue")),
                }
