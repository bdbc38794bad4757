"""The one stream class behind every report of the catalog.

For each partition (a site, or a site and an item of an item setting) it works out the date
window (settings, bookmark, lookback, the site's own today), plans the calls that cover it in as
few calls as the method allows (``date=start,end`` in chunks; one series per goal, custom
dimension or subtable id), fetches them in ``API.getBulkRequest`` batches together with the
calls of the partitions and streams that come next (:meth:`ReportStream._read_ahead`), and turns
every row into a typed record keyed by site, period, period start and the row's dimensions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.helpers.types import Context
from typing_extensions import override

from tap_matomo.catalog import ReportSpec
from tap_matomo.client import ApiCall
from tap_matomo.dates import (
    DateWindow,
    Period,
    chunk_window,
    parse_period_key,
    period_start,
    periods_in,
    resolve_window,
    site_today,
)
from tap_matomo.discovery import refusal
from tap_matomo.errors import (
    MatomoError,
    MatomoNoDataError,
    MatomoPluginNotActivatedError,
    MatomoRequestError,
)
from tap_matomo.keys import ROW_KEY, hashed_columns, primary_keys, row_keys_for
from tap_matomo.single_period import single_period_rows
from tap_matomo.streams.base import MatomoStream
from tap_matomo.streams.read_ahead import read_ahead, read_lists_ahead
from tap_matomo.streams.report_rows import report_schema, shape_row
from tap_matomo.streams.sizing import period_rows, periods_per_call, probe_periods

if TYPE_CHECKING:
    from singer_sdk import Tap

    from tap_matomo.runtime import MatomoRun, Site

#: Request parameters that only make sense when flattening (the sub-dimension choice).
_FLAT_PARAMS = ("secondaryDimension",)


@dataclass(frozen=True)
class PlannedCall:
    """One API call and the periods its answer covers."""

    call: ApiCall
    period: Period
    window: DateWindow
    keyed_by_period: bool
    #: Asked with ``flat=1``: rows carry one key per level.
    flattened: bool = False
    #: Periods the answer covers (its expected rows: ``ReportStream.expected_rows``).
    periods: int = 1

    def unflattened(self) -> PlannedCall:
        """The same call without ``flat=1`` (and its sub-dimension): top-level rows."""
        params = {k: v for k, v in self.call.params.items() if k not in ("flat", *_FLAT_PARAMS)}
        return replace(self, call=ApiCall(self.call.method, params), flattened=False)


class ReportStream(MatomoStream):
    """A Matomo report, one record per site, period and row."""

    replication_key = "date"
    #: Records come in date order, so the bookmark can follow them and a stopped run resumes.
    is_sorted = True
    #: :func:`shape_row` types every value from the same catalog entry as the schema (and
    #: tests/test_sync.py checks records against it); the SDK's second, generic pass over every
    #: property of every record took 40% of a sync's CPU time (bench/throughput.py).
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    #: An "Others" row means Matomo cut the report when archiving it (see :meth:`_warn_cut`).
    warns_of_archive_cuts = True

    @property
    @override
    def check_sorted(self) -> bool:
        """False: a run starts ``lookback_days`` before the bookmark, below the stored value."""
        return False

    def __init__(self, tap: Tap, run: MatomoRun, spec: ReportSpec) -> None:
        self.spec = spec
        #: Matomo refused ``flat=1`` for this report (see :meth:`_read_unflattened`).
        self._flat_refused = False
        #: Matomo refused several dates in one call (see :meth:`_read_per_period`).
        self._dates_refused = False
        #: A warning about an "Others" row was logged for this stream in this run.
        self._cut_reported = False
        #: Set by :meth:`_records`: every call of the partition was answered.
        self._partition_read = False
        #: The plan of each partition, by context and flattening (see :meth:`_partition_plan`).
        self._plans: dict[tuple[Any, ...], list[PlannedCall] | None] = {}
        #: What the run had learnt (``MatomoRun.learned``) when each plan was last cut.
        self._planned_with: dict[tuple[Any, ...], int] = {}
        #: Partitions (by index) whose calls to read ahead were all sent, with their number
        #: (read_ahead.py); cleared when the plans change (flattening refused)
        self.sent_ahead: dict[int, int] = {}
        #: The `row_key` of the rows seen (a report repeats its labels on every date).
        self._row_keys = row_keys_for(spec)
        super().__init__(tap, run, name=spec.name, schema=report_schema(spec))
        self.primary_keys = primary_keys(spec)
        self.selected_by_default = spec.selected_by_default

    @property
    @override
    def partitions(self) -> list[dict[str, Any]] | None:
        partitions = self.item_partitions() if self.spec.item_setting else self.site_partitions
        if self.spec.site_ids is not None:  # a discovered report: only the sites that list it
            return [p for p in partitions if p["site_id"] in self.spec.site_ids]
        return partitions

    # -- items: one partition per site and item of the item setting ---------------------------

    def items(self) -> tuple[str, ...]:
        """The values of the stream's item setting (e.g. the `page_urls`)."""
        assert self.spec.item_setting is not None
        return self.run.settings.items.get(self.spec.item_setting, ())

    def item_partitions(self) -> list[dict[str, Any]]:
        """One partition (one bookmark) per site and item; none, and no request, without items."""
        items = self.items()
        if not items:
            return []
        column = self.spec.item_column
        assert column is not None
        typed: list[Any] = [
            int(item) if self.spec.item_json_type == "integer" else item for item in items
        ]
        return [{**site, column: item} for site in self.site_partitions for item in typed]

    def _for_item(self, planned: list[PlannedCall], context: Context) -> list[PlannedCall]:
        """The calls with the partition's item as request parameter (unchanged without)."""
        if not (self.spec.item_param and self.spec.item_column):
            return planned
        item = {self.spec.item_param: str(context[self.spec.item_column])}
        return [replace(p, call=ApiCall(p.call.method, {**p.call.params, **item})) for p in planned]

    # -- planning -----------------------------------------------------------------------------

    @property
    def plugin_missing(self) -> bool:
        """True once Matomo said the report's plugin is not activated.

        That is its declared plugin, or the module of its method: a core plugin such as Events
        can be deactivated too.
        """
        module = self.spec.method.partition(".")[0]
        return bool({self.spec.plugin, module} & self.run.missing_plugins)

    @property
    def flattening(self) -> str:
        """The `report_flattening` value of the stream: ``flat`` (default), ``none``, a choice."""
        return self.run.settings.report_flattening.get(self.name, "flat")

    @property
    def flattened(self) -> bool:
        """True when calls ask ``flat=1`` (hierarchical, not turned off, not refused)."""
        return self.spec.flat and not self._flat_refused and self.flattening != "none"

    def request_params(self) -> dict[str, str]:
        """Parameters every call of this report carries (besides site and dates)."""
        params = {"filter_limit": "-1", "format_metrics": "0", "language": "en"}
        if self.flattened:
            params["flat"] = "1"
            params.update(self.spec.flatten_choices.get(self.flattening, {}))
        params.update(self.spec.params)
        if self.run.settings.segment:  # every catalog method takes one
            fixed = self.spec.params.get("segment")  # a declared report's own: both apply
            segment = self.run.settings.segment
            params["segment"] = f"{segment};{fixed}" if fixed else segment
        return params

    def variants(self, site: Site) -> list[dict[str, str]]:
        """Extra parameters, one series of calls each: per goal, custom dimension, subtable id.

        Goals and custom dimensions come from the spec's :class:`~tap_matomo.catalog.VariantSource`.
        """
        source = self.spec.variants_of
        if source:
            return [{source.param: str(entry[source.id_key])} for entry in self._entries(site)]
        if self.spec.subtable_of:
            ids = {
                str(entry.subtable_id): None
                for entry in self.run.settings.subtables
                if entry.stream == self.spec.subtable_of and entry.site_id in (None, site.site_id)
            }
            return [{"idSubtable": subtable_id} for subtable_id in ids]
        return [{}]

    def _entries(self, site: Site) -> list[dict[str, Any]]:
        """The site's entries of the spec's variant source (read once per run, all streams)."""
        assert self.spec.variants_of is not None
        return self.run.variant_entries(self.spec.variants_of.entries, site.site_id, self.name)

    def _variant_of(self, site: Site, params: Mapping[str, str]) -> dict[str, Any] | None:
        """The entry (goal, custom dimension) a call was made for, None without variants."""
        source = self.spec.variants_of
        if source is None:
            return None
        wanted = params.get(source.param)
        return next((e for e in self._entries(site) if str(e[source.id_key]) == wanted), None)

    def plan(self, site: Site, window: DateWindow, period: Period) -> list[PlannedCall]:
        """The calls that cover the window: few multi-period calls, or one per period.

        Reports with variants (per goal, custom dimension, subtable id) get one series per
        variant, chunk by chunk.
        """
        common = {"idSite": str(site.site_id), "period": period, **self.request_params()}
        flattened = self.flattened
        variants = self.variants(site)
        per_period = period_rows(self.spec, self.run, flattened=flattened)
        planned: list[PlannedCall] = []

        def add(span: DateWindow, date_param: str, *, keyed: bool, periods: int = 1) -> None:
            for variant in variants:
                call = ApiCall(self.spec.method, {**common, **variant, "date": date_param})
                planned.append(PlannedCall(call, period, span, keyed, flattened, periods))

        if period == "range":
            add(window, window.as_param(), keyed=False)
            return planned
        if not self.spec.multi_date or self._dates_refused:
            for one in periods_in(window, period):
                add(one, one.start.isoformat(), keyed=False)
            return planned
        size = periods_per_call(per_period, self.run.settings.max_periods_per_request)
        first = probe_periods(per_period)
        if self.unseen and self._resizable and size > first:
            # a table report not seen yet: its first call asks few periods, so what is read
            # ahead on a guess stays small; the rest is sized from its answer (`_replan`)
            probe, *_ = chunk_window(window, period, first)
            add(probe, probe.as_param(), keyed=True, periods=len(periods_in(probe, period)))
            if probe.end >= window.end:
                return planned
            window = DateWindow(probe.end + timedelta(days=1), window.end)
        for chunk in chunk_window(window, period, size):
            add(chunk, chunk.as_param(), keyed=True, periods=len(periods_in(chunk, period)))
        return planned

    # -- syncing ------------------------------------------------------------------------------

    def _bookmark(self, context: Context | None) -> date | None:
        """The partition's bookmark, read without writing to the state.

        ``get_context_state`` would add an empty partition to the state of a stream that is
        only being read ahead.
        """
        if not self.uses_bookmarks:
            return None
        bookmarks = self.tap_state.get("bookmarks", {}).get(self.tap_stream_id, {})
        for partition in bookmarks.get("partitions", []):
            if partition.get("context") == context:
                value = partition.get("replication_key_value")
                if value:
                    return date.fromisoformat(str(value)[:10])
        return None

    @override
    def bookmark_basis(self) -> dict[str, Any]:
        """The segment, and the period the bookmark is the start date of."""
        return {**super().bookmark_basis(), "period": self.run.settings.period_for(self.name)}

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        if self.plugin_missing:
            return
        if context is None:
            return  # an item stream whose setting is empty: no partition, no request
        site = self.run.site(int(context["site_id"]))
        period = self.run.settings.period_for(self.name)
        read_lists_ahead(self)
        planned = self._partition_plan(context)
        if planned is None:
            return  # the progress line says "nothing new to read"
        self.reading = (
            DateWindow(min(p.window.start for p in planned), max(p.window.end for p in planned))
            if planned
            else None
        )
        self._read_ahead(context, planned)
        # The SDK adds the partition's keys (site, item) to each record.
        records = self._records(site, period, planned, context)
        if self.spec.variants_of or self.spec.subtable_of:
            # Several series per chunk: date order keeps the bookmark behind unread rows.
            records = iter(sorted(records, key=lambda record: record["date"]))
        hashed = hashed_columns(self.spec)
        for record in records:
            if hashed:
                # The item is the partition's, not yet in the record.
                values = tuple([record.get(c, context.get(c)) for c in hashed])
                record[ROW_KEY] = self._row_keys(values)
            yield record
        if self._partition_read and planned and period != "range" and self.uses_bookmarks:
            self._advance_bookmark(context, planned, period)

    def _advance_bookmark(
        self, context: Context, planned: list[PlannedCall], period: Period
    ) -> None:
        """Move the bookmark to the window's last period once every call was answered.

        The bookmark follows the records; without this, a partition whose last periods have no
        rows (a site without traffic, a report without data) would be read again from its last
        row on every run, over an ever longer window.
        """
        last = period_start(max(p.window.end for p in planned), period).isoformat()
        state = self.get_context_state(context)
        if str(state.get("replication_key_value") or "") < last:
            state["replication_key"] = self.replication_key
            state["replication_key_value"] = last
            self._bookmark_written(state)

    def _partition_plan(self, context: Context) -> list[PlannedCall] | None:
        """The calls of one partition (site, item), or None when its window is empty.

        The window comes from the settings and the partition's bookmark. A partition is planned
        once per run (and again only if flattening is refused): its calls may be sent ahead
        before its turn, and chunk sizes follow what the run has learnt meanwhile.
        """
        key = (tuple(sorted(context.items())), self.flattened)
        learned = self.run.learned
        if key not in self._plans:
            self._plans[key] = self._new_plan(context)
        elif (planned := self._plans[key]) and self._planned_with.get(key) != learned:
            # cut again only once the run learnt a report's size since (the read-ahead asks
            # for the plans of the partitions ahead at every partition)
            self._plans[key] = self._replan(planned, context)
        self._planned_with[key] = learned
        return self._plans[key]

    def _new_plan(self, context: Context) -> list[PlannedCall] | None:
        site = self.run.site(int(context["site_id"]))
        period = self.run.settings.period_for(self.name)
        window = resolve_window(
            self.run.settings.dates, period, site_today(site.timezone), self._bookmark(context)
        )
        if window is None:
            return None
        return self._for_item(self.plan(site, window, period), context)

    def expected_rows(self, plan: PlannedCall) -> int:
        """Rows the call will likely answer, from what the run knows now.

        The mean rows of a period seen so far: the read-ahead budget adds up many calls. (Chunks
        are cut by the most rows a period had: one answer must not be too big.)
        """
        mean = self.run.mean_rows_per_period(self.spec.method)
        if mean is None:
            return period_rows(self.spec, self.run, flattened=plan.flattened) * plan.periods
        return max(1, round(mean * plan.periods))

    @property
    def _resizable(self) -> bool:
        """True for a single-series report read in multi-period calls: it can be sized again.

        Its calls cover one window, date after date (no goal, dimension or subtable variants).
        """
        return not (self.spec.variants_of or self.spec.subtable_of) and self.spec.multi_date

    @property
    def unseen(self) -> bool:
        """True for a table report that has not answered yet in this run: its size is a guess."""
        return self.spec.kind == "table" and self.run.rows_per_period(self.spec.method) is None

    def _read_ahead(self, context: Context, planned: list[PlannedCall]) -> None:
        """Send this partition's calls with the calls that come next (see read_ahead.py)."""
        read_ahead(self, context, planned)

    def _records(
        self, site: Site, period: Period, planned: list[PlannedCall], context: Context
    ) -> Iterator[dict[str, Any]]:
        """Fetch the planned calls and shape their rows, in plan order.

        ``_partition_read`` tells whether every call was answered (not skipped for a missing
        plugin). When an answer shows far more rows per period than the plan assumed, the
        calls not sent yet are planned again in smaller chunks (see :meth:`_replan`).
        """
        self._partition_read = False
        remaining = list(planned)
        while remaining:
            by_call = {id(p.call): p for p in remaining}
            replanned = None
            calls = [p.call for p in remaining]
            for call, answer in self.run.fetch(calls, [self.expected_rows(p) for p in remaining]):
                plan = by_call[id(call)]
                remaining.remove(plan)
                declared = self.spec.declared_in is not None  # asked for by name: never skipped
                if isinstance(answer, MatomoPluginNotActivatedError) and not declared:
                    self.run.plugin_missing(answer, self.name)
                    return
                if isinstance(answer, MatomoError) and plan.flattened and _cannot_flatten(answer):
                    plan, answer = self._read_unflattened(plan, answer)
                if (
                    isinstance(answer, MatomoError)
                    and plan.keyed_by_period
                    and _refuses_dates(answer)
                ):
                    answer = self._read_per_period(plan, answer)
                if isinstance(answer, MatomoNoDataError):
                    continue  # Transitions' NoDataForAction: the page had no view that period
                if isinstance(answer, MatomoError):
                    raise refusal(self.spec, answer)
                if remaining and (resized := self._replan(remaining, context)) != remaining:
                    replanned = resized
                if remaining and not all(self.run.is_fetched(p.call) for p in remaining):
                    # e.g. the rest of a report's first partition, sized from this answer: sent
                    # now, with the partitions after it, while this answer's rows are written
                    self._read_ahead(context, replanned or remaining)
                yield from self._shape(site, period, plan, answer)
                answer = None  # let the answer go before the next one is fetched
                if replanned:
                    break
            remaining = replanned or []
        self._partition_read = True

    def _shape(
        self, site: Site, period: Period, plan: PlannedCall, answer: Any
    ) -> Iterator[dict[str, Any]]:
        """The records of one answer."""
        variant = self._variant_of(site, plan.call.params)
        site_id, flattened, params = site.site_id, plan.flattened, plan.call.params
        for start, end, rows in self.periods_of(plan, answer):
            first, last = start.isoformat(), end.isoformat()
            for row in rows:
                record = shape_row(
                    self.spec,
                    row,
                    flattened=flattened,
                    params=params,
                    variant=variant,
                    into={"site_id": site_id, "period": period, "date": first, "end_date": last},
                )
                if record.get("is_summary") and not self._cut_reported:
                    self._warn_cut(record)
                yield record

    def _replan(self, planned: list[PlannedCall], context: Context) -> list[PlannedCall]:
        """The calls, with those not sent yet sized again from what the run learnt meanwhile.

        A partition is planned before its report's first answer, from a guess; the report can
        have ten times the rows assumed (its next chunks would be as much too big) or a tenth
        (as many calls too many). Calls already sent ahead are kept. Only single-series
        reports (no goal, dimension or subtable variants) are planned again: their calls cover
        one window, date after date.
        """
        if not self._resizable:
            return planned
        sent = 0
        while sent < len(planned) and self.run.is_fetched(planned[sent].call):
            sent += 1
        rest = planned[sent:]
        if not rest or rest[0].period == "range" or not rest[0].keyed_by_period:
            return planned
        now = period_rows(self.spec, self.run, flattened=rest[0].flattened)
        size = periods_per_call(now, self.run.settings.max_periods_per_request)
        planned_size = max(p.periods for p in rest)
        if planned_size <= size and (size < 2 * planned_size or len(rest) == 1):
            return planned  # not too big, and not worth fewer calls (or one call already)
        if any(self.run.is_fetched(p.call) for p in rest):
            return planned
        site = self.run.site(int(context["site_id"]))
        window = DateWindow(rest[0].window.start, rest[-1].window.end)
        return planned[:sent] + self._for_item(self.plan(site, window, rest[0].period), context)

    def _warn_cut(self, record: Mapping[str, Any]) -> None:
        """Say once per run that Matomo summed rows into "Others": the tap cannot get them back.

        Matomo keeps a fixed number of rows per report when it archives (500 by default; 1,000
        for referrers; `datatable_archiving_maximum_rows_*` in its config.ini.php) and sums the
        rest into one "Others" row, which the tap emits with `is_summary` true.
        """
        if not self.warns_of_archive_cuts:
            return
        self._cut_reported = True
        self.logger.warning(
            "'%s' (site %s, %s %s): Matomo archived this report with an 'Others' row: rows beyond "
            "its archiving limit are summed there (`is_summary` true). To get every row, raise "
            "`datatable_archiving_maximum_rows_*` in Matomo's config.ini.php and invalidate the "
            "archives of those dates.",
            self.name,
            record["site_id"],
            record["period"],
            record["date"],
        )

    def _read_unflattened(self, plan: PlannedCall, error: MatomoError) -> tuple[PlannedCall, Any]:
        """Ask again without ``flat=1``; later calls of this run do not try flattening."""
        if not self._flat_refused:
            self.logger.warning(
                "Matomo cannot flatten '%s' (%s): reading its top level only.",
                self.name,
                error.detail,
            )
        self._flat_refused = True
        self.sent_ahead.clear()  # the calls sent were flattened: the next ones are not
        plain = plan.unflattened()
        try:
            return plain, self.run.client.call(plain.call)
        except MatomoError as exc:
            return plain, exc

    def _read_per_period(self, plan: PlannedCall, error: MatomoError) -> Any:
        """Ask each period of a refused multi-period call alone; later plans do the same.

        For reports not known to refuse several dates (discovered and declared ones). The
        answers are keyed like Matomo's multi-period answer, ``start,end`` per period.
        """
        if not self._dates_refused:
            self.logger.info(
                "'%s': Matomo refuses several dates in one call (%s): one call per period.",
                self.name,
                error.detail,
            )
        self._dates_refused = True
        periods = periods_in(plan.window, plan.period)
        params = plan.call.params
        calls = [
            ApiCall(plan.call.method, {**params, "date": p.start.isoformat()}) for p in periods
        ]
        answers = {}
        for one, (_, answer) in zip(periods, self.run.fetch(calls), strict=True):
            if isinstance(answer, MatomoError):
                return answer
            answers[one.as_param()] = answer
        return answers

    def periods_of(
        self, plan: PlannedCall, answer: Any
    ) -> Iterator[tuple[date, date, list[Mapping[str, Any]]]]:
        """Split an answer into (period start, period end, rows), in date order.

        An answer of another shape than asked is an error, never rows filed under wrong dates.
        """
        if plan.keyed_by_period:
            if not isinstance(answer, dict):
                raise self._malformed(plan, "one entry per period", answer)
            spans = []
            for key, value in answer.items():
                try:
                    spans.append((parse_period_key(str(key), plan.period), value))
                except ValueError:
                    raise self._malformed(plan, "period keys", key) from None
            for (start, end), value in sorted(spans, key=lambda item: item[0][0]):
                # Matomo's multi-period answers leave out zero rows and metrics.
                yield (
                    start,
                    end,
                    single_period_rows(self.spec, plan.period, self._rows(plan, value)),
                )
        else:
            yield plan.window.start, plan.window.end, self._rows(plan, answer)

    def _rows(self, plan: PlannedCall, value: Any) -> list[Mapping[str, Any]]:
        """Rows of one period: a list for tables, one object for metric reports."""
        if isinstance(value, dict):
            return [value] if value else []
        if isinstance(value, list) and all(isinstance(row, dict) for row in value):
            return value
        raise self._malformed(plan, "a list of rows or an object of metrics", value)

    def _malformed(self, plan: PlannedCall, expected: str, got: Any) -> MatomoRequestError:
        shown = json.dumps(got, default=str)[:120]
        return MatomoRequestError(
            f"unexpected answer for stream '{self.name}': expected {expected}, got {shown}. "
            "A proxy or plugin may be rewriting Matomo's answers; check the URL.",
            method=plan.call.describe(),
        )


def _refuses_dates(error: MatomoError) -> bool:
    """Matomo's answer when a method takes one date per call.

    ``VisitTime.getByDayOfWeek``, ``Referrers.getAll`` (recordings 0199, 0200).
    """
    text = str(error.detail)
    return "does not support multiple dates" in text or "multiple sites or dates" in text


def _cannot_flatten(error: MatomoError) -> bool:
    """Matomo's answer when it lacks the metadata to flatten a report.

    Matomo 5.0.2 gives it for ``Referrers.getCampaigns`` with ``flat=1`` once
    MarketingCampaignsReporting replaces that report's metadata.
    """
    text = str(error.detail)
    return "Metadata for report" in text and "could not be found" in text
