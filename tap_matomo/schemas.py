"""JSON schemas for report streams and the typing of Matomo's values.

Matomo sends metrics as numbers, as strings (``"20"`` on day rows), as percentages (``"28%"``
without ``format_metrics=0``), or as ``false`` for "no value". Everything numeric leaves the tap as
an integer or a number; a metric is an integer when Matomo counts it, a number otherwise.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import datetime, timezone
from typing import Any

from singer_sdk import typing as th

# Counting metrics whose names the patterns below would get wrong.
_INTEGER_NAMES = frozenset(
    {"sum_time_spent", "sum_visit_length", "entry_sum_visit_length", "nb_events_with_value"}
)
#: Page-speed hit counts (``nb_hits_with_time_network``...), not times; the All Websites
#: dashboard's page views of the previous period.
_INTEGER_PREFIXES = ("nb_hits_with_time_", "previous_Actions_nb_")
#: Counts whatever else their names hold: evolution trends (-1, 0, 1), page-speed hits
#: (``PagePerformance_network_hits``), channel visits and distinct referrers of
#: ``Referrers.get`` (their ``*_percent`` shares end otherwise).
_INTEGER_FULL = re.compile(r"(_trend|_hits|^Referrers_(visitorsFrom|distinct)[A-Za-z]+)$")
_NUMBER_PATTERN = re.compile(
    r"(rate|avg_|_per_|percent|attrib|revenue|value|price|_time_|^lat$|^long$|ratio|evolution$)"
)
_INTEGER_PATTERN = re.compile(
    r"^(nb_|sum_daily_|entry_nb_|exit_nb_|entry_bounce_count|max_actions|bounce_count|"
    r"quantity|orders|abandoned_carts|items|day_of_week|idsubdatatable|referrer_type|"
    r"previous_nb_|hits|visits|actions|conversions|pageviews|entries|exits|loops|referrals)"
    r"|_trend$"
)
_SEGMENT_SUFFIXES = ("_new_visit", "_returning_visit", "_new", "_returning")


@functools.cache
def metric_json_type(name: str) -> str:
    """``integer`` for counting metrics, ``number`` for everything else numeric.

    Cached: it is asked for every metric of every row.
    """
    base = name
    for suffix in _SEGMENT_SUFFIXES:
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    if base in _INTEGER_NAMES or base.startswith(_INTEGER_PREFIXES) or _INTEGER_FULL.search(base):
        return "integer"
    if _NUMBER_PATTERN.search(base):
        return "number"
    if _INTEGER_PATTERN.search(base):
        return "integer"
    return "number"


def to_number(value: Any, json_type: str = "number") -> int | float | None:
    """Coerce a Matomo metric value: ``"20"`` -> 20, ``"28%"`` -> 0.28, ``false`` -> None."""
    kind = type(value)
    if kind is int:  # most values: JSON integers, already right (fast path, once per metric)
        return value
    if kind is float and math.isfinite(value):
        return int(value) if json_type == "integer" and value.is_integer() else value
    if value is None or value is False or value == "":
        return None
    if value is True:
        return 1
    number: float
    if isinstance(value, str):
        parsed = _text_number(value)
        if parsed is None:
            return None
        number = parsed
    elif isinstance(value, int | float):
        number = value
    else:
        return None
    if not math.isfinite(number):
        return None  # JSON has no NaN or infinity
    if json_type == "integer":
        return int(number) if float(number).is_integer() else number  # type: ignore[return-value]
    if isinstance(number, float) and number.is_integer() and isinstance(value, int):
        return int(number)
    return number


@functools.lru_cache(maxsize=4096)
def _text_number(value: str) -> float | None:
    """The number a metric text says, or None. Cached: Matomo's are mostly a few small counts."""
    text = value.strip().replace("\u00a0", "").replace(",", "")
    try:
        return float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        return None


def iso_timestamp(timestamp: Any) -> str | None:
    """Unix seconds as an ISO 8601 UTC timestamp (one format, so bookmarks compare as text)."""
    seconds = to_number(timestamp, "integer")
    if seconds is None:  # also an odd text: an unreadable time is no time, like other values
        return None
    try:
        moment = datetime.fromtimestamp(int(seconds), tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    return moment.isoformat()


def coerce(value: Any, json_type: str) -> Any:
    """A Matomo value in the column's JSON type (numbers often arrive as strings).

    Report dimensions and visit log fields are typed here; metrics by :func:`to_number`.
    """
    if json_type in ("integer", "number"):
        return to_number(value, json_type)
    if json_type == "boolean":
        number = to_number(value, "integer")
        return None if number is None else bool(number)
    if json_type == "date-time":
        return iso_timestamp(value)
    if value is None or value is False or isinstance(value, dict | list):
        return None
    return str(value)


_NUMERIC_TEXT = re.compile(r"-?\d+(\.\d+)?%?")


def is_numeric_value(value: Any) -> bool:
    """True for values that look like a metric (numbers, numeric strings, percentages)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    if isinstance(value, str):
        return bool(_NUMERIC_TEXT.fullmatch(value.strip()))
    return False


#: The range of every integer column: Matomo's ids and counts are 64-bit integers.
INT64_RANGE = {"minimum": -(2**63), "maximum": 2**63 - 1}


def bound_integers(schema: dict[str, Any]) -> dict[str, Any]:
    """Give every integer property (nested ones too) the 64-bit range, in place.

    Loaders size columns from it: target-duckdb makes an unbounded integer a 128-bit
    ``HUGEINT`` (which pandas reads as floats) and a bounded one a ``BIGINT``; target-postgres
    makes both ``bigint``. Bounds already set (narrower) are kept.
    """
    types = schema.get("type", [])
    if "integer" in ([types] if isinstance(types, str) else types):
        for bound, value in INT64_RANGE.items():
            schema.setdefault(bound, value)
    for child in schema.get("properties", {}).values():
        bound_integers(child)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            bound_integers(schema[key])
    return schema


def _json_type(json_type: str) -> type[th.JSONTypeHelper]:
    return {
        "integer": th.IntegerType,
        "number": th.NumberType,
        "boolean": th.BooleanType,
        "date": th.DateType,
    }.get(json_type, th.StringType)


def metric_property(
    name: str, description: str | None = None, json_type: str | None = None
) -> th.Property:
    """A nullable, typed metric column (typed by its name unless ``json_type`` is given)."""
    return th.Property(
        name, _json_type(json_type or metric_json_type(name)), description=description
    )


#: Metrics found inside a row's ``goals`` object, per goal.
GOAL_METRICS = (
    "nb_conversions",
    "nb_visits_converted",
    "revenue",
    "conversion_rate",
    "items",
    "revenue_subtotal",
    "revenue_tax",
    "revenue_shipping",
    "revenue_discount",
    "avg_order_revenue",
    "nb_conv_pages_before",
    "nb_conversions_attrib",
    "nb_conversions_entry",
    "nb_conversions_entry_rate",
    "nb_conversions_page_rate",
    "nb_conversions_page_uniq",
    "revenue_attrib",
    "revenue_entry",
    "revenue_per_entry",
    "revenue_per_visit",
)

GOALS_PROPERTY = th.Property(
    "goals",
    th.ArrayType(
        th.ObjectType(
            th.Property(
                "goal_id",
                th.StringType,
                description="Goal id, or `ecommerceOrder` / `ecommerceAbandonedCart`.",
            ),
            *(metric_property(name) for name in GOAL_METRICS),
            additional_properties=th.NumberType,
        )
    ),
    description="Per-goal metrics of the row, one object per goal (Matomo's `goals` object).",
)

#: A list, not an object keyed by metric: loaders store a missing object as JSON ``null``
#: (target-postgres: a ``jsonb`` 'null', which ``IS NULL`` does not find), a missing list as
#: SQL NULL.
OTHER_METRICS_PROPERTY = th.Property(
    "other_metrics",
    th.ArrayType(
        th.ObjectType(
            th.Property("name", th.StringType, required=True, description="Matomo's column."),
            th.Property("value", th.NumberType, description="Its value."),
        )
    ),
    description="Numeric columns Matomo returned that this stream does not declare "
    "(plugin metrics, newer Matomo versions), one `{name, value}` each: kept rather than "
    "dropped. Null when there are none.",
)


def shape_goals(goals: Any) -> list[dict[str, Any]] | None:
    """``{"idgoal=1": {...}}`` -> ``[{"goal_id": "1", ...}]`` with typed metrics."""
    if not isinstance(goals, dict) or not goals:
        return None
    shaped = []
    for key, metrics in goals.items():
        goal: dict[str, Any] = {"goal_id": str(key).removeprefix("idgoal=")}
        if isinstance(metrics, dict):
            for name, value in metrics.items():  # integers (most) are typed as they are
                goal[name] = (
                    value if type(value) is int else to_number(value, metric_json_type(name))
                )
        shaped.append(goal)
    return shaped
