"""`shape_row`'s fast paths type every value exactly as the generic typing did.

`shape_row` takes values already of their column's type as they are and works out each
report's dimensions and metrics once. :func:`_generic_shape_row` below is the row shaping as
it was before (every value through `coerce` / `to_number`, every dimension through
`_dimension_value`): both must give the same record, compared by ``repr`` (which tells 1 from
1.0 and True, -0.0 from 0.0, and shows the column order), for odd values on every catalog
report and for every row of the recorded Matomo answers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tap_matomo.catalog import REPORTS, ReportSpec
from tap_matomo.schemas import coerce, is_numeric_value, metric_json_type, to_number
from tap_matomo.streams.report_rows import _ROW_METADATA, _dimension_value, _fill_levels, shape_row
from tests.fake_matomo import RECORDINGS


def _generic_to_number(value: Any, json_type: str = "number") -> int | float | None:
    """`to_number` before its fast paths and its cache of texts (the reference)."""
    if value is None or value is False or value == "":
        return None
    if value is True:
        return 1
    if isinstance(value, str):
        text = value.strip().replace("\u00a0", "").replace(",", "")
        try:
            number: float = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            return None
    elif isinstance(value, int | float):
        number = value
    else:
        return None
    if not math.isfinite(number):
        return None
    if json_type == "integer":
        return int(number) if float(number).is_integer() else number
    if isinstance(number, float) and number.is_integer() and isinstance(value, int):
        return int(number)
    return number


def _generic_shape_goals(goals: Any) -> list[dict[str, Any]] | None:
    if not isinstance(goals, dict) or not goals:
        return None
    shaped = []
    for key, metrics in goals.items():
        goal: dict[str, Any] = {"goal_id": str(key).removeprefix("idgoal=")}
        if isinstance(metrics, dict):
            for name, value in metrics.items():
                goal[name] = _generic_to_number(value, metric_json_type(name))
        shaped.append(goal)
    return shaped


def _generic_shape_row(
    spec: ReportSpec,
    row: Mapping[str, Any],
    *,
    flattened: bool | None = None,
    params: Mapping[str, str] | None = None,
    variant: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The row shaping before its fast paths (the reference)."""
    record: dict[str, Any] = {}
    if spec.kind == "table":
        record["label"] = None if row.get("label") is None else str(row["label"])
    for dim in spec.dimensions:
        value = _dimension_value(dim, row, record, params or {}, variant or {})
        if dim.json_type in ("integer", "number"):
            record[dim.column] = _generic_to_number(value, dim.json_type)
        else:
            record[dim.column] = coerce(value, dim.json_type)
    if spec.levels:
        _fill_levels(spec, record, spec.flat if flattened is None else flattened)
    types = spec.metric_types
    for name in spec.metrics:
        json_type = types.get(name) or metric_json_type(name)
        record[name] = _generic_to_number(row.get(name), json_type)
    for column in spec.key_columns:
        if record.get(column) is None:
            record[column] = ""
    if spec.kind == "table":
        record["segment"] = row.get("segment") if isinstance(row.get("segment"), str) else None
        record["url"] = row.get("url") if isinstance(row.get("url"), str) else None
        record["is_summary"] = bool(row.get("is_summary")) or row.get("label") == "Others"
    record["goals"] = _generic_shape_goals(row.get("goals"))
    declared = (
        _ROW_METADATA
        | set(spec.metrics)
        | {dim.source for dim in spec.dimensions if dim.origin == "row"}
    )
    other = [
        {"name": key, "value": _generic_to_number(value)}
        for key, value in row.items()
        if key not in declared and is_numeric_value(value)
    ]
    record["other_metrics"] = other or None
    return record


#: Values Matomo sends (numbers, numeric text, percentages, false) and odd ones.
ODD_VALUES: list[Any] = [
    20,
    "20",
    "28%",
    " 1,234 ",
    "1\u00a0000",
    "0.0270",
    "12345678901234567890",
    "1e3",
    "abc",
    "",
    3.0,
    2.5,
    -0.0,
    0.0,
    1e300,
    math.nan,
    math.inf,
    -math.inf,
    10**30,
    -7,
    None,
    False,
    True,
    [],
    {},
]

PARAMS = {"idSubtable": "7", "idGoal": "2", "idDimension": "3", "pageUrl": "/x"}
VARIANT = {"name": "Size", "idcustomdimension": 3, "idgoal": "2"}


def _odd_rows(spec: ReportSpec) -> Iterator[dict[str, Any]]:
    """Rows whose every metric, dimension and extra key takes each odd value in turn."""
    sources = [dim.source for dim in spec.dimensions] + ["label", *spec.metrics]
    for shift in range(len(ODD_VALUES)):
        row = {
            key: ODD_VALUES[(index + shift) % len(ODD_VALUES)] for index, key in enumerate(sources)
        }
        row["plugin_metric"] = ODD_VALUES[shift]
        row["plugin_text"] = "n/a"
        row["goals"] = {
            "idgoal=1": {
                name: ODD_VALUES[(shift + i) % len(ODD_VALUES)]
                for i, name in enumerate(("nb_conversions", "revenue", "conversion_rate", "items"))
            },
            "idgoal=ecommerceOrder": "not an object",
        }
        row["segment"] = ODD_VALUES[shift] if shift % 2 else "browserCode==FF;country==fr"
        row["url"] = ODD_VALUES[shift] if shift % 3 else "https://example.com/"
        row["is_summary"] = ODD_VALUES[shift]
        yield row
    yield {}
    yield {"label": "Others", "goals": {}}
    yield {"label": "Shop - Shoes - Running", "nb_visits": "3", "goals": None}


def _same(spec: ReportSpec, row: Mapping[str, Any], **kwargs: Any) -> None:
    expected = _generic_shape_row(spec, row, **kwargs)
    assert repr(shape_row(spec, row, **kwargs)) == repr(expected), (spec.name, row)


@pytest.mark.parametrize("spec", REPORTS, ids=lambda spec: spec.name)
def test_odd_values_are_typed_as_before(spec: ReportSpec) -> None:
    for row in _odd_rows(spec):
        for flattened in (None, True, False):
            _same(spec, row, flattened=flattened, params=PARAMS, variant=VARIANT)
        _same(spec, row)


def test_discovered_metric_types_are_kept() -> None:
    """A report typed from Matomo's metadata: its types win over the metric names."""
    typed = ReportSpec(
        name="discovered",
        method="Plugin.get",
        family="Plugin",
        description="",
        kind="table",
        metrics=("nb_visits", "avg_time", "custom"),
        metric_types={"nb_visits": "number", "avg_time": "integer", "custom": "string"},
    )
    for row in _odd_rows(typed):
        _same(typed, row)


def _recorded_rows(body: Any) -> Iterator[dict[str, Any]]:
    """Every row (an object in a list) of a recorded answer, however the answer nests them."""
    if isinstance(body, list):
        for item in body:
            if isinstance(item, dict):
                yield item
            yield from _recorded_rows(item)
    elif isinstance(body, dict):
        for value in body.values():
            yield from _recorded_rows(value)
    if isinstance(body, dict) and "label" not in body:
        yield body  # single-row answers (kind "metrics"): the object is the row


def test_recorded_rows_are_typed_as_before() -> None:
    by_method: dict[str, list[ReportSpec]] = {}
    for spec in REPORTS:
        by_method.setdefault(spec.method, []).append(spec)
    shaped = 0
    for path in sorted(Path(RECORDINGS).glob("[0-9]*__*.json")):
        recording = json.loads(path.read_text())
        specs = by_method.get(recording["request"]["query"].get("method", ""), [])
        for row in _recorded_rows(recording["body"]) if specs else ():
            for spec in specs:
                _same(spec, row, params=PARAMS, variant=VARIANT)
                shaped += 1
    assert shaped > 10_000


#: Texts Matomo sends for numbers, and odd ones.
ODD_TEXTS = [
    *(str(n) for n in range(-3, 30)),
    *("0", "-0", "-0.0", "0.0270", "28%", "28.5%", "100%", "%", "5%%", " 1,234 ", "1\u00a0000"),
    *("1e3", "1E400", "-1e400", "nan", "NaN", "inf", "-Infinity", "12345678901234567890"),
    *("9007199254740993", "1_000", "0x10", "\u0663", "", " ", "abc", "1.5.2", "+7", "4.0"),
]


def test_texts_are_numbers_as_before() -> None:
    """Twice each (the second answer comes from the cache), in both JSON types."""
    for text in ODD_TEXTS * 2:
        for json_type in ("integer", "number", "string"):
            assert repr(to_number(text, json_type)) == repr(_generic_to_number(text, json_type))
    for value in ODD_VALUES:
        for json_type in ("integer", "number"):
            assert repr(to_number(value, json_type)) == repr(_generic_to_number(value, json_type))
