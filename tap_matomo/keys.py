"""The primary key of report rows: one short hash column instead of free-text dimensions.

A report row is unique by site, period, date and its dimensions (label, levels, the stream's
item). Dimensions are free text: a page URL with its query string runs to kilobytes, and
warehouses cannot index that (PostgreSQL's B-tree keys stop at 2,704 bytes, MySQL's at 3,072;
some loaders refuse empty key values). So every report stream with dimensions is keyed by
``site_id, period, date, row_key``, where ``row_key`` is the MD5 hex of the dimension values, in
key order, joined by U+001F. The dimension columns stay in the record as they are; ``row_key``
is the same for the same dimensions on every date, and can be recomputed in SQL, e.g.
``md5(concat_ws(chr(31), label))`` (PostgreSQL, DuckDB).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from singer_sdk import typing as th

from tap_matomo.catalog import ReportSpec

#: The key column.
ROW_KEY = "row_key"
#: Between two values in the hashed text (the ASCII unit separator, absent from labels).
SEPARATOR = "\x1f"
#: The columns every report stream is keyed by, before the row's dimensions.
PERIOD_KEY = ("site_id", "period", "date")


def hashed_columns(spec: ReportSpec) -> tuple[str, ...]:
    """The columns ``row_key`` stands for: the stream's item, then its key columns."""
    item = (spec.item_column,) if spec.item_column else ()
    return (*item, *spec.key_columns)


def primary_keys(spec: ReportSpec) -> tuple[str, ...]:
    """``site_id, period, date`` and, for a stream with dimensions, ``row_key``."""
    return (*PERIOD_KEY, ROW_KEY) if hashed_columns(spec) else PERIOD_KEY


def row_key(values: Iterable[Any]) -> str:
    """MD5 hex of the values as text (None as empty), joined by :data:`SEPARATOR`."""
    text = SEPARATOR.join("" if value is None else str(value) for value in values)
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


class RowKeys:
    """:func:`row_key` of the values of each record, remembered.

    A report repeats its rows' labels on every date of a window, and hashing them again was a
    twentieth of a reports sync's CPU time. Only for values of text and integer columns (see
    :func:`row_keys_for`): typed by the schema, equal tuples of them have equal text (a number
    column may hold both ``1`` and ``1.0``, equal values of another text). At most ``most``
    are kept: the oldest half is forgotten when full, which bounds memory whatever the number
    of distinct rows.
    """

    def __init__(self, most: int = 50_000) -> None:
        self._most = most
        self._known: dict[tuple[Any, ...], str] = {}

    def __call__(self, values: tuple[Any, ...]) -> str:
        """The row key of ``values`` (:func:`row_key`)."""
        key = self._known.get(values)
        if key is None:
            if len(self._known) >= self._most:
                for old in list(self._known)[: self._most // 2]:
                    del self._known[old]
            key = self._known[values] = row_key(values)
        return key


def row_keys_for(spec: ReportSpec) -> Callable[[tuple[Any, ...]], str]:
    """:class:`RowKeys` where the hashed columns are text or integers, else :func:`row_key`."""
    types = {dim.column: dim.json_type for dim in spec.dimensions}
    if spec.item_column:
        types[spec.item_column] = spec.item_json_type
    if any(types.get(column, "string") == "number" for column in hashed_columns(spec)):
        return row_key
    return RowKeys()


def row_key_property(spec: ReportSpec) -> list[th.Property]:
    """The ``row_key`` column of a stream with dimensions (none otherwise)."""
    columns = hashed_columns(spec)
    if not columns:
        return []
    shown = ", ".join(f"`{column}`" for column in columns)
    return [
        th.Property(
            ROW_KEY,
            th.StringType,
            required=True,
            description=f"Key of the row with `site_id`, `period` and `date`: MD5 hex of {shown} "
            "joined by U+001F (SQL: `md5(concat_ws(chr(31), ...))`); the same on every date.",
        )
    ]
