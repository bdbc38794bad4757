"""Transitions: where visitors came from and went to around one page, per period.

``Transitions.getTransitionsForAction`` answers one object per period (lists of previous and
following pages, site searches, outlinks, downloads, referrers per type, and the page's own
metrics), computed from the raw logs on every request. The generic report stream plans,
partitions (site x page URL or title, from the item settings) and fetches it one period per
call; this class only turns that object into flat, keyed rows for a warehouse.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from typing_extensions import override

from tap_matomo.schemas import to_number
from tap_matomo.streams.reports import PlannedCall, ReportStream

#: Lists of the answer whose rows are ``{"label", "referrals"}``, and their `direction`.
DIRECTIONS = (
    ("previousPages", "previous_pages"),
    ("previousSiteSearches", "previous_site_searches"),
    ("followingPages", "following_pages"),
    ("followingSiteSearches", "following_site_searches"),
    ("outlinks", "outlinks"),
    ("downloads", "downloads"),
)
#: Counts that add up when Matomo lists the same label twice in one list.
_COUNTS = ("referrals", "visits")


def _dicts(value: Any) -> Iterator[Mapping[str, Any]]:
    """The objects of a list (Matomo's lists; anything else counts as empty)."""
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, dict))


def _referrer_rows(groups: Any) -> Iterator[dict[str, Any]]:
    """One row per referrer type (its visits) and one per referrer of the type (referrals)."""
    for group in _dicts(groups):
        kind = group.get("shortName")
        head = {key: value for key, value in group.items() if key != "details"}
        yield {**head, "direction": "referrer_types", "referrer_type": kind}
        for detail in _dicts(group.get("details")):
            yield {**detail, "direction": "referrers", "referrer_type": kind}


def transition_rows(answer: Any) -> list[dict[str, Any]]:
    """Flatten one period's Transitions object into rows, one per direction, type and label.

    Rows that Matomo repeats under the same key (same label in one list) are merged by adding
    their counts, so that the primary key stays unique.
    """
    if not isinstance(answer, dict) or not answer:
        return []
    rows: list[dict[str, Any]] = []
    metrics = answer.get("pageMetrics")
    if isinstance(metrics, dict):
        rows.append({**metrics, "direction": "page"})
    for key, direction in DIRECTIONS:
        rows += [{**item, "direction": direction} for item in _dicts(answer.get(key))]
    rows += _referrer_rows(answer.get("referrers"))
    return _merge_repeated(rows)


def _merge_repeated(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with one key each: a repeated (direction, type, label) adds its counts."""
    merged: dict[tuple[str, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(str(row.get(k) or "") for k in ("direction", "referrer_type", "label"))
        first = merged.setdefault(key, row)
        if first is not row:
            for count in _COUNTS:
                if count in row:
                    total = (to_number(first.get(count), "integer") or 0) + (
                        to_number(row[count], "integer") or 0
                    )
                    first[count] = total
    return list(merged.values())


class TransitionsStream(ReportStream):
    """Transitions around each configured page URL or title: one row per transition."""

    #: Its "Others" rows come from `transitions_limit_before_grouping`, not from archiving.
    warns_of_archive_cuts = False

    @override
    def request_params(self) -> dict[str, str]:
        """The report's parameters, with the `transitions_limit_before_grouping` setting."""
        params = super().request_params()
        limit = self.run.settings.transitions_limit_before_grouping
        if limit:
            params["limitBeforeGrouping"] = str(limit)
        return params

    @override
    def _rows(self, plan: PlannedCall, value: Any) -> list[Mapping[str, Any]]:
        if not isinstance(value, dict):
            raise self._malformed(plan, "the Transitions object of a page", value)
        return list(transition_rows(value))
