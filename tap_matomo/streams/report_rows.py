"""Report rows: the JSON schema of a report stream and the typed record of each Matomo row.

Both are built from the same catalog entry (:class:`~tap_matomo.specs.ReportSpec`), so a record
holds exactly the columns, types and key that its stream's schema declares.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from singer_sdk import typing as th

from tap_matomo.catalog import Dimension, ReportSpec
from tap_matomo.keys import row_key_property
from tap_matomo.schemas import (
    GOALS_PROPERTY,
    OTHER_METRICS_PROPERTY,
    coerce,
    is_numeric_value,
    metric_json_type,
    metric_property,
    shape_goals,
    to_number,
)
from tap_matomo.streams.base import SITE_ID_PROPERTY

#: Row keys that are presentation only (icons) or already mapped to a column.
_ROW_METADATA = frozenset(
    {
        "label",
        "goals",
        "segment",
        "url",
        "logo",
        "logoHeight",
        "idsubdatatable",
        "is_summary",
        "is_aggregate",
        "subtable",
    }
)

PERIOD_PROPERTIES = (
    th.Property(
        "period",
        th.StringType,
        required=True,
        description="Matomo period of the row: day, week, month, year or range.",
    ),
    th.Property(
        "date",
        th.DateType,
        required=True,
        description="First day of the period (site timezone); the replication key.",
    ),
    th.Property("end_date", th.DateType, description="Last day of the period."),
)


#: Matomo's separator between the levels of a flattened label.
LEVEL_SEPARATOR = " - "

_DIMENSION_TYPES: dict[str, type[th.JSONTypeHelper]] = {
    "integer": th.IntegerType,
    "number": th.NumberType,
}


def _dimension_description(spec: ReportSpec, dim: Dimension) -> str:
    """Where a dimension column comes from, for the catalog."""
    if dim.origin == "request":
        text = f"The request's `{dim.source}`."
    elif dim.origin == "variant":
        text = f"`{dim.source}` of the entry the request was made for."
    elif dim.source.startswith("segment:"):
        text = f"`{dim.source.removeprefix('segment:')}` of the row's segment."
    elif dim.after:
        text = f"The label after `{dim.after}` and `{LEVEL_SEPARATOR.strip()}`."
    else:
        text = f"Matomo's `{dim.source}`."
    if dim.column in spec.levels:
        text = f"Level {spec.levels.index(dim.column) + 1} of the hierarchy: {text}"
    return text


def report_schema(spec: ReportSpec) -> dict[str, Any]:
    """The JSON schema of a report stream, built from its catalog entry."""
    properties: list[th.Property] = [
        SITE_ID_PROPERTY,
        *item_properties(spec),
        *PERIOD_PROPERTIES,
        *row_key_property(spec),
    ]
    if spec.kind == "table":
        properties.append(
            th.Property(
                "label",
                th.StringType,
                required="label" in spec.key_columns,
                description="Matomo's row label (levels joined when flattened).",
            )
        )
    properties += [
        th.Property(
            dim.column,
            _DIMENSION_TYPES.get(dim.json_type, th.StringType),
            required=dim.column in spec.key_columns,
            description=dim.description or _dimension_description(spec, dim),
        )
        for dim in spec.dimensions
    ]
    properties += [
        metric_property(name, json_type=spec.metric_types.get(name)) for name in spec.metrics
    ]
    if spec.kind == "table":
        properties += [
            th.Property("segment", th.StringType, description="Segment selecting this row."),
            th.Property("url", th.StringType),
            th.Property(
                "is_summary",
                th.BooleanType,
                description="True for Matomo's 'Others' row (rows cut at archiving time).",
            ),
        ]
    properties += [GOALS_PROPERTY, OTHER_METRICS_PROPERTY]
    return th.PropertiesList(*properties).to_dict()


def item_properties(spec: ReportSpec) -> list[th.Property]:
    """The item column of a stream with one partition per site and item (none otherwise)."""
    if not spec.item_column:
        return []
    return [
        th.Property(
            spec.item_column,
            _DIMENSION_TYPES.get(spec.item_json_type, th.StringType),
            required=True,
            description=f"The item of the `{spec.item_setting}` setting that this row is "
            f"about (Matomo's `{spec.item_param}`).",
        )
    ]


def _segment_value(segment: Any, name: str) -> str | None:
    """The value of condition ``name==value`` in a row's segment (URL-decoded)."""
    if not isinstance(segment, str):
        return None
    for condition in segment.split(";"):
        key, found, value = condition.partition("==")
        if found and key == name:
            return unquote_plus(value)
    return None


def _dimension_value(
    dim: Dimension,
    row: Mapping[str, Any],
    record: Mapping[str, Any],
    params: Mapping[str, str],
    variant: Mapping[str, Any],
) -> Any:
    """The raw value of one dimension column (see :class:`~tap_matomo.catalog.Dimension`)."""
    if dim.origin == "request":
        return params.get(dim.source)
    if dim.origin == "variant":
        return variant.get(dim.source)
    if dim.source.startswith("segment:"):
        return _segment_value(row.get("segment"), dim.source.removeprefix("segment:"))
    value = row.get(dim.source)
    if dim.after is None:
        return value
    prefix = f"{record.get(dim.after)}{LEVEL_SEPARATOR}"
    text = "" if value is None else str(value)
    return text[len(prefix) :] if record.get(dim.after) and text.startswith(prefix) else None


def _fill_levels(spec: ReportSpec, record: dict[str, Any], flattened: bool) -> None:
    """Unflattened rows are top-level rows: the label is the first level, the rest empty.

    Flattened rows that Matomo leaves without the top level's key (the ``Others`` row of a
    truncated report) keep their label there too.
    """
    top, *lower = spec.levels
    if not flattened:
        record[top] = record.get("label")
        for column in lower:
            record[column] = None
    elif record.get(top) is None:
        record[top] = record.get("label")


#: NaN compares false with it: ``-_INF < x < _INF`` is ``math.isfinite(x)`` without a call.
_INF = math.inf

#: How a dimension's raw value is found, when it is not simply ``row[source]``.
_Getter = Callable[
    [Mapping[str, Any], Mapping[str, Any], Mapping[str, str], Mapping[str, Any]], Any
]


@dataclass(frozen=True)
class _RowShape:
    """What :func:`shape_row` needs of a report, worked out once per report, not per row.

    Rows are shaped a hundred thousand times per run: every test on the spec (its kind, each
    dimension's origin and type) is answered here once.
    """

    spec: ReportSpec
    table: bool
    #: (column, row key, getter or None when the value is ``row[key]``, JSON type), in order.
    dimensions: tuple[tuple[str, str, _Getter | None, str], ...]
    #: Metric -> its JSON type.
    metric_types: dict[str, str]
    #: Every metric as None, in the spec's order (the columns a row without them has).
    no_metrics: dict[str, None]
    #: Row keys that have a column of their own (the rest go to `other_metrics`).
    declared: frozenset[str]


_SHAPES: dict[int, _RowShape] = {}


def _row_shape(spec: ReportSpec) -> _RowShape:
    shape = _SHAPES.get(id(spec))
    if shape is None or shape.spec is not spec:
        declared = (
            _ROW_METADATA
            | set(spec.metrics)
            | {dim.source for dim in spec.dimensions if dim.origin == "row"}
        )
        types = spec.metric_types  # discovered reports: typed from Matomo's metadata
        metrics = tuple((name, types.get(name) or metric_json_type(name)) for name in spec.metrics)
        dimensions = tuple(
            (dim.column, dim.source, _getter(dim), dim.json_type) for dim in spec.dimensions
        )
        shape = _SHAPES[id(spec)] = _RowShape(
            spec,
            spec.kind == "table",
            dimensions,
            dict(metrics),
            dict.fromkeys(spec.metrics),
            frozenset(declared),
        )
    return shape


def _getter(dim: Dimension) -> _Getter | None:
    """None for a plain row key (most dimensions), else :func:`_dimension_value` for ``dim``."""
    if dim.origin == "row" and dim.after is None and not dim.source.startswith("segment:"):
        return None
    return functools.partial(_dimension_value, dim)


def shape_row(
    spec: ReportSpec,
    row: Mapping[str, Any],
    *,
    flattened: bool | None = None,
    params: Mapping[str, str] | None = None,
    variant: Mapping[str, Any] | None = None,
    into: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One Matomo row as a typed record (without its site and period columns).

    ``flattened`` says whether the row came from a ``flat=1`` answer (default: the spec's
    ``flat``); ``params`` are the request's parameters, for request-origin columns;
    ``variant`` the entry (goal, custom dimension) it was made for, for variant-origin ones.
    Values already of their column's type (text, integers, finite numbers, none) are taken as
    they are; the others are typed by :func:`coerce` and :func:`to_number`. ``into``: the
    record to add the columns to (its site and period columns), instead of a new one.
    """
    shape = _row_shape(spec)
    get = row.get
    record: dict[str, Any] = {} if into is None else into
    if shape.table:
        label = get("label")
        record["label"] = None if label is None else str(label)
    for column, source, getter, json_type in shape.dimensions:
        value = get(source) if getter is None else getter(row, record, params or {}, variant or {})
        if type(value) is not str or json_type != "string":
            value = coerce(value, json_type)
        record[column] = value
    if spec.levels:
        _fill_levels(spec, record, spec.flat if flattened is None else flattened)
    # Metrics in the spec's order, None until the row has them; then one pass over the row's
    # keys (fewer than the spec's metrics, mostly) types its metrics and finds the others.
    record.update(shape.no_metrics)
    metric_types, declared = shape.metric_types, shape.declared
    other = []
    for key, value in row.items():
        json_type = metric_types.get(key)
        if json_type is not None:
            kind = type(value)
            # Integers, none and finite numbers (most values) are typed as they are.
            if not (
                kind is int
                or value is None
                or (kind is float and json_type != "integer" and -_INF < value < _INF)
            ):
                value = to_number(value, json_type)
            record[key] = value
        elif key not in declared and is_numeric_value(value):
            other.append({"name": key, "value": to_number(value)})
    for column in spec.key_columns:
        if record.get(column) is None:
            record[column] = ""  # a level Matomo left empty still keys the row
    if shape.table:
        segment, url = get("segment"), get("url")
        record["segment"] = segment if isinstance(segment, str) else None
        record["url"] = url if isinstance(url, str) else None
        record["is_summary"] = bool(get("is_summary")) or get("label") == "Others"
    goals = get("goals")
    record["goals"] = None if goals is None else shape_goals(goals)
    record["other_metrics"] = other or None
    return record
