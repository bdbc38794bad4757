"""Report rows: the JSON schema of a report stream and the typed record of each Matomo row.

Both are built from the same catalog entry (:class:`~tap_matomo.specs.ReportSpec`), so a record
holds exactly the columns, types and key that its stream's schema declares.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
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

if TYPE_CHECKING:
    pass


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


@dataclass(frozen=True)
class _RowShape:
    """What :func:`shape_row` needs of a report, worked out once per report, not per row."""

    spec: ReportSpec
    #: (metric, its JSON type), in the spec's order.
    metrics: tuple[tuple[str, str], ...]
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
        shape = _SHAPES[id(spec)] = _RowShape(spec, metrics, frozenset(declared))
    return shape


def shape_row(
    spec: ReportSpec,
    row: Mapping[str, Any],
    *,
    flattened: bool | None = None,
    params: Mapping[str, str] | None = None,
    variant: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One Matomo row as a typed record (without its site and period columns).

    ``flattened`` says whether the row came from a ``flat=1`` answer (default: the spec's
    ``flat``); ``params`` are the request's parameters, for request-origin columns;
    ``variant`` the entry (goal, custom dimension) it was made for, for variant-origin ones.
    """
    record: dict[str, Any] = {}
    if spec.kind == "table":
        record["label"] = None if row.get("label") is None else str(row["label"])
    for dim in spec.dimensions:
        value = _dimension_value(dim, row, record, params or {}, variant or {})
        record[dim.column] = coerce(value, dim.json_type)
    if spec.levels:
        _fill_levels(spec, record, spec.flat if flattened is None else flattened)
    shape = _row_shape(spec)
    for name, json_type in shape.metrics:
        record[name] = to_number(row.get(name), json_type)
    for column in spec.key_columns:
        if record.get(column) is None:
            record[column] = ""  # a level Matomo left empty still keys the row
    if spec.kind == "table":
        record["segment"] = row.get("segment") if isinstance(row.get("segment"), str) else None
        record["url"] = row.get("url") if isinstance(row.get("url"), str) else None
        record["is_summary"] = bool(row.get("is_summary")) or row.get("label") == "Others"
    record["goals"] = shape_goals(row.get("goals"))
    declared = shape.declared
    other = [
        {"name": key, "value": to_number(value)}
        for key, value in row.items()
        if key not in declared and is_numeric_value(value)
    ]
    record["other_metrics"] = other or None
    return record
