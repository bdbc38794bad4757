"""Users Flow (Click Path): the generic report stream, plus the path levels as columns.

``UsersFlow.getUsersFlowPretty`` with ``flat=1`` labels each row with the visitors' path,
``Interaction 2 → shop.example.com/cart → shop.example.com/checkout``; its flattened per-level
keys all share one dimension, so they do not tell the levels apart. The levels are therefore
cut from the label, in the order of the catalog entry's dimensions (step, page, next page).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from typing_extensions import override

from tap_matomo.streams.reports import PlannedCall, ReportStream

#: The separator of the Users Flow report's path labels.
PATH_SEPARATOR = " → "
#: ``Interaction 3`` (pretty report) or ``3`` (raw report): the step number.
_STEP = re.compile(r"(\d+)\s*$")


def interaction_position(text: str) -> int | None:
    """The step number of a level-one label, None when the label names no step."""
    match = _STEP.search(text)
    return int(match.group(1)) if match else None


def with_levels(row: Mapping[str, Any], sources: list[str]) -> dict[str, Any]:
    """The row with its path levels under the given keys (an empty key: no such level)."""
    label = "" if row.get("label") is None else str(row["label"])
    parts = label.split(PATH_SEPARATOR, max(len(sources) - 1, 0)) if sources else []
    levels: dict[str, Any] = {
        source: parts[index] if index < len(parts) else "" for index, source in enumerate(sources)
    }
    if "interaction_position" in levels:
        levels["interaction_position"] = interaction_position(levels["interaction_position"])
    return {**row, **levels}


class UsersFlowStream(ReportStream):
    """A Users Flow report whose rows get the levels of their path label as columns."""

    @override
    def _rows(self, plan: PlannedCall, value: Any) -> list[Mapping[str, Any]]:
        sources = [dim.source for dim in self.spec.dimensions if dim.origin == "row"]
        return [with_levels(row, sources) for row in super()._rows(plan, value)]
