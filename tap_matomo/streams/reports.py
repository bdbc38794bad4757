"""The one stream class behind every report of the catalog.

For each site partition it works out the date window (settings, bookmark, lookback, the site's
own today), asks Matomo for all periods of the window in as few requests as the method allows
(``date=start,end`` in chunks, batched with ``API.getBulkRequest``), and turns every row into a
typed record keyed by site, period, period start and the row's dimensions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from singer_sdk import typing as th
from singer_sdk.helpers.types import Context
from typing_extensions import override

from tap_matomo.catalog import ReportSpec
from tap_matomo.client import ApiCall
from tap_matomo.dates import (
    DateWindow,
    Period,
    chunk_window,
    parse_period_key,
    periods_in,
    resolve_window,
    site_today,
)
from tap_matomo.errors import MatomoError, MatomoPluginNotActivatedError
from tap_matomo.schemas import (
    GOALS_PROPERTY,
    OTHER_METRICS_PROPERTY,
    is_numeric_value,
    metric_json_type,
    metric_property,
    shape_goals,
    to_number,
)
from tap_matomo.streams.base import SITE_ID_PROPERTY, MatomoStream

if TYPE_CHECKING:
    from singer_sdk import Tap

    from tap_matomo.runtime import MatomoRun, Site

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


def report_schema(spec: ReportSpec) -> dict[str, Any]:
    """The JSON schema of a report stream, built from its catalog entry."""
    properties: list[th.Property] = [SITE_ID_PROPERTY, *PERIOD_PROPERTIES]
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
            th.IntegerType if dim.json_type == "integer" else th.StringType,
            required=dim.column in spec.key_columns,
            description=dim.description or f"Matomo's `{dim.source}`.",
        )
        for dim in spec.dimensions
    ]
    properties += [metric_property(name) for name in spec.metrics]
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


def shape_row(spec: ReportSpec, row: Mapping[str, Any]) -> dict[str, Any]:
    """One Matomo row as a typed record (without its site and period columns)."""
    record: dict[str, Any] = {}
    if spec.kind == "table":
        record["label"] = None if row.get("label") is None else str(row["label"])
    for dim in spec.dimensions:
        value = row.get(dim.source)
        if dim.json_type == "integer":
            record[dim.column] = to_number(value, "integer")
        else:
            record[dim.column] = None if value is None or value is False else str(value)
    for name in spec.metrics:
        record[name] = to_number(row.get(name), metric_json_type(name))
    for column in spec.key_columns:
        if record.get(column) is None:
            record[column] = ""  # a level Matomo left empty still keys the row
    if spec.kind == "table":
        record["segment"] = row.get("segment") if isinstance(row.get("segment"), str) else None
        record["url"] = row.get("url") if isinstance(row.get("url"), str) else None
        record["is_summary"] = bool(row.get("is_summary")) or row.get("label") == "Others"
    record["goals"] = shape_goals(row.get("goals"))
    declared = _ROW_METADATA | set(spec.metrics) | {dim.source for dim in spec.dimensions}
    other = {
        key: to_number(value)
        for key, value in row.items()
        if key not in declared and is_numeric_value(value)
    }
    record["other_metrics"] = other or None
    return record


@dataclass(frozen=True)
class PlannedCall:
    """One API call and the periods its answer covers."""

    call: ApiCall
    period: Period
    window: DateWindow
    keyed_by_period: bool


class ReportStream(MatomoStream):
    """A Matomo report, one record per site, period and row."""

    replication_key = "date"
    #: Records come in date order, so the bookmark can follow them and a stopped run resumes.
    is_sorted = True

    @property
    @override
    def check_sorted(self) -> bool:
        """False: a run starts ``lookback_days`` before the bookmark, below the stored value."""
        return False

    def __init__(self, tap: Tap, run: MatomoRun, spec: ReportSpec) -> None:
        self.spec = spec
        super().__init__(tap, run, name=spec.name, schema=report_schema(spec))
        self.primary_keys = ("site_id", "period", "date", *spec.key_columns)
        self.selected_by_default = spec.selected_by_default

    @property
    @override
    def partitions(self) -> list[dict[str, Any]] | None:
        return self.site_partitions

    # -- planning -----------------------------------------------------------------------------

    def request_params(self) -> dict[str, str]:
        """Parameters every call of this report carries (besides site and dates)."""
        params = {"filter_limit": "-1", "format_metrics": "0", "language": "en"}
        if self.spec.flat:
            params["flat"] = "1"
        params.update(self.spec.params)
        return params

    def plan(self, site: Site, window: DateWindow, period: Period) -> list[PlannedCall]:
        """The calls that cover the window: few multi-period calls, or one per period."""
        base = {"idSite": str(site.site_id), "period": period, **self.request_params()}
        planned: list[PlannedCall] = []
        if period == "range":
            call = ApiCall(self.spec.method, {**base, "date": window.as_param()})
            return [PlannedCall(call, period, window, keyed_by_period=False)]
        max_periods = self.run.settings.max_periods_per_request
        for chunk in chunk_window(window, period, max_periods):
            if self.spec.multi_date:
                call = ApiCall(self.spec.method, {**base, "date": chunk.as_param()})
                planned.append(PlannedCall(call, period, chunk, keyed_by_period=True))
            else:
                for one in periods_in(chunk, period):
                    call = ApiCall(self.spec.method, {**base, "date": one.start.isoformat()})
                    planned.append(PlannedCall(call, period, one, keyed_by_period=False))
        return planned

    # -- syncing ------------------------------------------------------------------------------

    def _bookmark(self, context: Context | None) -> date | None:
        value = self.get_context_state(context).get("replication_key_value")
        return date.fromisoformat(str(value)[:10]) if value else None

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        if self.spec.plugin and self.spec.plugin in self.run.missing_plugins:
            return
        assert context is not None
        site = self.run.site(int(context["site_id"]))
        period = self.run.settings.period_for(self.name)
        window = resolve_window(
            self.run.settings.dates, period, site_today(site.timezone), self._bookmark(context)
        )
        if window is None:
            self.logger.info("Site %s: nothing new to read for '%s'.", site.site_id, self.name)
            return
        planned = self.plan(site, window, period)
        by_call = {id(p.call): p for p in planned}
        for call, answer in self.run.fetch([p.call for p in planned]):
            if isinstance(answer, MatomoPluginNotActivatedError):
                self.run.plugin_missing(answer, self.name)
                return
            if isinstance(answer, MatomoError):
                raise answer
            plan = by_call[id(call)]
            for start, end, rows in self.periods_of(plan, answer):
                for row in rows:
                    yield {
                        "site_id": site.site_id,
                        "period": period,
                        "date": start.isoformat(),
                        "end_date": end.isoformat(),
                        **shape_row(self.spec, row),
                    }

    def periods_of(
        self, plan: PlannedCall, answer: Any
    ) -> Iterator[tuple[date, date, list[Mapping[str, Any]]]]:
        """Split an answer into (period start, period end, rows), in date order."""
        if plan.keyed_by_period and isinstance(answer, dict):
            spans = [(parse_period_key(key, plan.period), value) for key, value in answer.items()]
            for (start, end), value in sorted(spans, key=lambda item: item[0][0]):
                yield start, end, self._rows(value)
        else:
            yield plan.window.start, plan.window.end, self._rows(answer)

    def _rows(self, value: Any) -> list[Mapping[str, Any]]:
        """Rows of one period: a list for tables, one object for metric reports."""
        if isinstance(value, dict):
            return [value] if value else []
        if isinstance(value, list):
            return [row for row in value if isinstance(row, dict)]
        return []
