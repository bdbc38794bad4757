"""How big a report's answers are likely to be: the size of its chunks and of its read-ahead.

A call's answer grows with the periods it covers times the rows of one period. The run learns
the rows per period of each method from its answers (``MatomoRun.rows_per_period``); before
the first answer, the catalog says what to assume: one object per period for metric reports, a
few dozen rows for plain tables, more for flattened hierarchies (page URLs, referrers...).
Chunks then hold about :data:`CALL_ROWS` rows, so a small report covers a whole window in one
call and a big one is cut into calls that each stay a reasonable size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tap_matomo.catalog import ReportSpec
    from tap_matomo.runtime import MatomoRun

#: Rows one call should answer at most (when a period is not bigger than that on its own).
CALL_ROWS = 5_000
#: Rows per period assumed before a method's first answer: metric reports answer one object
#: per period; Matomo cuts plain tables at 500 rows when archiving, most have far fewer;
#: flattened hierarchies (page URLs...) can have thousands. Only the first call of a report
#: is sized from this guess: the others follow its answer (``ReportStream._replan``).
UNSEEN_METRICS_ROWS = 1
UNSEEN_TABLE_ROWS = 50
UNSEEN_FLAT_ROWS = 500
#: Rows the first call of a table report not seen yet may be expected to answer. Small, so that
#: the first calls of many reports fit the read-ahead (``READ_AHEAD_ROWS``) on a guess: ten
#: periods of a plain table, one of a flattened hierarchy. A window no bigger is one call.
PROBE_ROWS = 500


def period_rows(spec: ReportSpec, run: MatomoRun, *, flattened: bool) -> int:
    """Rows one period of the report likely answers: the most seen in this run, or a guess."""
    seen = run.rows_per_period(spec.method)
    if seen is not None:
        return max(1, seen)
    if spec.kind != "table":
        return UNSEEN_METRICS_ROWS
    return UNSEEN_FLAT_ROWS if flattened else UNSEEN_TABLE_ROWS


def periods_per_call(rows_per_period: int, max_periods: int) -> int:
    """Periods in one call: about :data:`CALL_ROWS` rows, at most ``max_periods``, at least 1."""
    return max(1, min(max_periods, CALL_ROWS // max(1, rows_per_period)))


def probe_periods(rows_per_period: int) -> int:
    """Periods in the first call of a report not seen yet: about :data:`PROBE_ROWS` rows."""
    return max(1, PROBE_ROWS // max(1, rows_per_period))
