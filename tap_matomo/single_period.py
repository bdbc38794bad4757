"""Each period of a multi-period answer as Matomo answers that period alone.

The tap asks several periods per request (``date=A,B``). Matomo's multi-period answers (seen on
4.15.1 and 5.0.2) leave out what its single-period answers hold:

- a period without visits is ``[]``, where the answer for that period alone of a one-row-per-
  period report (kind ``metrics``) is a row of zeros (recordings 0452, 0453, 0551:
  ``VisitsSummary.get`` of days without visits; ``getDataTableFromNumeric`` fills every asked
  metric with 0);
- metrics that count nothing are left out of a row (``Goals.get``'s ``*_returning_visit`` on
  days without returning visits), where the single-period answer says 0;
- ``DevicesDetection.getType`` lists every device type, with 0 visits when none, in
  single-period answers only (recordings 0108 and 0109 for 2026-11-20).

:func:`single_period_rows` puts them back, so records do not depend on how the tap batched
its requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote_plus

from tap_matomo.dates import Period
from tap_matomo.specs import FixedRows, ReportSpec

#: Unique visitor and user counts: Matomo leaves them out of year (and range) answers unless
#: ``enable_processing_unique_visitors_year`` is set (``SettingsPiwik::isUniqueVisitorsEnabled``).
_UNIQUE = frozenset(
    f"{name}{suffix}"
    for name in ("nb_uniq_visitors", "nb_users")
    for suffix in ("", "_new", "_returning")
)


def zero_metrics(spec: ReportSpec, period: Period) -> dict[str, Any]:
    """The metrics Matomo's single-period answer of ``spec`` holds as 0, for ``period``."""
    names = spec.metrics if spec.zero_metrics is None else spec.zero_metrics
    if period in ("year", "range"):
        names = tuple(name for name in names if name not in _UNIQUE)
    return dict.fromkeys(names, 0)


def fixed_row(fixed: FixedRows, label: str) -> dict[str, Any]:
    """A row Matomo adds with 0 visits (label, ``nb_visits`` and segment only, as it does)."""
    return {
        "label": label,
        "nb_visits": 0,
        "segment": f"{fixed.segment}=={quote_plus(label.lower())}",
    }


def single_period_rows(
    spec: ReportSpec, period: Period, rows: list[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """One period's rows of a multi-period answer, as Matomo answers that period alone."""
    if spec.kind == "metrics":
        zeros = zero_metrics(spec, period)
        return [{**zeros, **row} for row in rows] if rows else [zeros]
    if spec.fixed_rows is not None and rows:
        present = {str(row.get("label")) for row in rows}
        missing = sorted(label for label in spec.fixed_rows.labels if label not in present)
        return [*rows, *(fixed_row(spec.fixed_rows, label) for label in missing)]
    return rows
