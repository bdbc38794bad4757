"""The raw visit log (``Live.getLastVisitsDetails``): every visit once, with its actions.

How no visit is lost or doubled:

- One site and one site-local day per call (``period=day&date=D``), so Matomo never splits the
  window into several SQL queries, the source of its paging bugs (issues #16394, #23342); the
  next pages of many days share one bulk request (:mod:`tap_matomo.streams.visit_paging`).
- Pages in ascending time order (``filter_sort_order=asc``), moved forward with a time cursor
  instead of an offset: ``minTimestamp`` (strictly greater, seconds) is the last second seen minus
  one, and the limit grows by the visits already seen at that second, so visits sharing the
  boundary second are read again rather than skipped. Visits already emitted in this run are
  recognised by ``(site, idVisit)``: a visit ending exactly at midnight belongs to two days, and a
  request for the site's today also returns yesterday.
- The bookmark is the last action time of the last visit emitted (records are in ascending order,
  ``is_sorted``). A run starts ``visits_finality_minutes`` before it: visits still in progress,
  and actions tracked late, are read again and replace the earlier record through the key. A run
  that stops midway resumes from its last STATE without a gap, since every visit at or after the
  bookmark second is read again.

Records are typed in :mod:`tap_matomo.streams.visit_records`. ``visit_actions`` is a child stream
fed from the same responses: the parent hands over the actions
of one batch of pages at a time (one child sync per batch, not per visit), before the batch's
first visit is emitted, so a STATE never covers a visit whose actions were not emitted yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from singer_sdk import typing as th
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.helpers.types import Context
from singer_sdk.singerlib import Catalog, Schema
from typing_extensions import override

from tap_matomo.dates import DateWindow, resolve_window, site_today
from tap_matomo.settings import VisitLogSettings, visit_log_settings
from tap_matomo.streams.base import SITE_ID_PROPERTY, MatomoStream
from tap_matomo.streams.visit_paging import VisitLogReader, day_start, local_date
from tap_matomo.streams.visit_records import (
    ACTION_FIELDS,
    ACTION_TYPES,
    IDENTITY_COLUMNS,
    VISIT_FIELDS,
    Field,
    SiteDays,
    shape_action,
    shape_visit,
)

if TYPE_CHECKING:
    from singer_sdk import Tap

    from tap_matomo.runtime import MatomoRun, Site


# -- schemas ---------------------------------------------------------------------------------------

_TYPES: dict[str, type[th.JSONTypeHelper]] = {
    "integer": th.IntegerType,
    "number": th.NumberType,
    "boolean": th.BooleanType,
    "date-time": th.DateTimeType,
    "string": th.StringType,
}

CUSTOM_DIMENSIONS_PROPERTY = th.Property(
    "custom_dimensions",
    th.ObjectType(additional_properties=th.CustomType({"type": ["string", "null"]})),
    description="Custom dimensions by Matomo key (`dimension1`...), as configured per site; "
    "null when not set.",
)
CUSTOM_VARIABLES_PROPERTY = th.Property(
    "custom_variables",
    th.ObjectType(additional_properties=th.AnyType()),
    description="Matomo's `customVariables` (CustomVariables plugin), as sent.",
)
OTHER_FIELDS_PROPERTY = th.Property(
    "other_fields",
    th.ObjectType(additional_properties=th.AnyType()),
    description="Keys Matomo sent that this stream does not declare (plugins, newer versions), "
    "kept rather than dropped; icons and display strings are left out.",
)


def _property(field: Field) -> th.Property:
    return th.Property(field.column, _TYPES[field.json_type], description=field.description)


def drop_identity_from_catalog(catalog: Catalog | None) -> None:
    """Take the identity columns out of a catalog's ``visits`` entry (schema and metadata).

    A catalog discovered with `visits_exclude_identity` off lists them, and the SDK builds the
    SCHEMA message and conforms records from the catalog, not from the stream: without this the
    columns stay in the target's table (empty) although the setting is on.
    """
    entry = catalog.get_stream("visits") if catalog is not None else None
    if entry is None:
        return
    schema = entry.schema.to_dict()
    properties = schema.get("properties")
    if isinstance(properties, dict):
        schema["properties"] = {
            name: prop for name, prop in properties.items() if name not in IDENTITY_COLUMNS
        }
    if isinstance(schema.get("required"), list):
        schema["required"] = [name for name in schema["required"] if name not in IDENTITY_COLUMNS]
    entry.schema = Schema.from_dict(schema)
    for column in IDENTITY_COLUMNS:
        entry.metadata.pop(("properties", column), None)


def visits_schema(*, exclude_identity: bool = False) -> dict[str, Any]:
    """The ``visits`` schema (without the identity columns when they are left out)."""
    fields = [f for f in VISIT_FIELDS if not (exclude_identity and f.column in IDENTITY_COLUMNS)]
    return th.PropertiesList(
        SITE_ID_PROPERTY,
        th.Property("visit_id", th.IntegerType, required=True, description="Matomo's idVisit."),
        th.Property(
            "last_action_time",
            th.DateTimeType,
            required=True,
            description="Time of the visit's last action (UTC); the replication key. It moves "
            "while the visit is in progress.",
        ),
        th.Property(
            "date",
            th.DateType,
            description="Site-local day of the last action: the day Matomo's reports count "
            "the visit in.",
        ),
        *(_property(f) for f in fields),
        CUSTOM_DIMENSIONS_PROPERTY,
        CUSTOM_VARIABLES_PROPERTY,
        th.Property(
            "action_details_count",
            th.IntegerType,
            description="Entries of `visit_actions` for this visit (page views, events, "
            "goals, ecommerce...).",
        ),
        th.Property(
            "truncated_actions_count",
            th.IntegerType,
            description="Actions Matomo did not return (beyond its per-visit limit, "
            "`visitor_log_maximum_actions_per_visit`, default 500).",
        ),
        th.Property(
            "actions_truncated",
            th.BooleanType,
            description="True when Matomo cut this visit's actions.",
        ),
        OTHER_FIELDS_PROPERTY,
    ).to_dict()


ITEM_TYPE = th.ObjectType(
    th.Property("sku", th.StringType),
    th.Property("name", th.StringType),
    th.Property("category", th.StringType),
    th.Property("categories", th.ArrayType(th.StringType)),
    th.Property("price", th.NumberType),
    th.Property("quantity", th.NumberType),
)


def visit_actions_schema() -> dict[str, Any]:
    """The ``visit_actions`` schema."""
    return th.PropertiesList(
        SITE_ID_PROPERTY,
        th.Property("visit_id", th.IntegerType, required=True, description="Matomo's idVisit."),
        th.Property(
            "position",
            th.IntegerType,
            required=True,
            description="1-based position of the action in the visit (Matomo's order).",
        ),
        th.Property("type", th.StringType, description=f"One of: {ACTION_TYPES}."),
        th.Property("server_time", th.DateTimeType, description="Time of the action (UTC)."),
        *(_property(f) for f in ACTION_FIELDS),
        th.Property(
            "item_details",
            th.ArrayType(ITEM_TYPE),
            description="Ecommerce items of an order or abandoned cart.",
        ),
        th.Property("product_view_categories", th.ArrayType(th.StringType)),
        CUSTOM_DIMENSIONS_PROPERTY,
        CUSTOM_VARIABLES_PROPERTY,
        OTHER_FIELDS_PROPERTY,
    ).to_dict()


class VisitsStream(MatomoStream):
    """Every visit of the visit log, once per run, updated while in progress."""

    name = "visits"
    primary_keys = ("site_id", "visit_id")
    replication_key = "last_action_time"
    #: Ascending order: the bookmark follows the records, so a stopped run resumes.
    is_sorted = True
    #: :func:`shape_visit` types every value from the same fields as the schema (the tests
    #: check records against it): the SDK's generic second pass is skipped, as for reports.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, tap: Tap, run: MatomoRun) -> None:
        self.visit_settings: VisitLogSettings = visit_log_settings(dict(tap.config))
        schema = visits_schema(exclude_identity=self.visit_settings.exclude_identity)
        super().__init__(tap, run, schema=schema)
        self._pending_actions: list[dict[str, Any]] = []
        self._flush_at: tuple[int, int] | None = None

    @property
    @override
    def check_sorted(self) -> bool:
        """False: a run starts ``visits_finality_minutes`` before the stored bookmark."""
        return False

    @property
    @override
    def partitions(self) -> list[dict[str, Any]] | None:
        return self.site_partitions

    @override
    def get_replication_key_signpost(self, context: Context | None = None) -> None:
        """No signpost: records are sorted, the bookmark is the last visit emitted."""
        return

    # -- window and pages ---------------------------------------------------------------------

    def _bookmark_second(self, context: Context | None) -> int | None:
        # Read raw: the SDK would mix in `start_date` as a UTC time, ours is site-local.
        if not self.uses_bookmarks:
            return None
        value = self.get_context_state(context).get("replication_key_value")
        if not value:
            return None
        return int(datetime.fromisoformat(str(value)).timestamp())

    def window(self, site: Site, bookmark: int | None) -> tuple[DateWindow, int] | None:
        """The site-local days to read and the first second wanted, or None.

        A report date (one day asked for) is read whole, whatever the bookmark, as reports do.
        """
        dates = replace(self.run.settings.dates, lookback_days=0)
        start_second = None
        bookmark_day = None
        if bookmark is not None and not dates.is_single_report_date:
            start_second = bookmark - 60 * self.visit_settings.finality_minutes
            bookmark_day = local_date(start_second, site.timezone)
        window = resolve_window(dates, "day", site_today(site.timezone), bookmark_day)
        if window is None:
            return None
        first = day_start(window.start, site.timezone)
        return window, max(first, start_second) if start_second is not None else first

    def pages(self, site: Site, window: DateWindow, first_second: int) -> Iterator[list[dict]]:
        """Pages of visits not seen before in this run, in ascending last-action order."""
        reader = VisitLogReader(
            self.run.fetch,
            site_id=site.site_id,
            timezone=site.timezone,
            window=window,
            first_second=first_second,
            page_size=self.visit_settings.page_size,
            segment=self.run.settings.segment,
            max_calls=self.run.settings.bulk_request_size,
        )
        return reader.pages()

    # -- records and the child stream ---------------------------------------------------------

    @property
    def actions_wanted(self) -> bool:
        """True when `visit_actions` is synced (only then are actions kept for it)."""
        return any(c.selected or c.has_selected_descendents for c in self.child_streams)

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        assert context is not None
        site = self.run.site(int(context["site_id"]))
        planned = self.window(site, self._bookmark_second(context))
        if planned is None:
            return  # the progress line says "nothing new to read"
        window, first_second = planned
        self.reading = window
        exclude = self.visit_settings.exclude_identity
        days = SiteDays(site.timezone)
        for page in self.pages(site, window, first_second):
            records = [shape_visit(raw, site, exclude_identity=exclude, days=days) for raw in page]
            if self.actions_wanted:
                self._queue_actions(site.site_id, page, records)
            yield from records

    def _queue_actions(
        self, site_id: int, page: Sequence[Mapping[str, Any]], records: Sequence[dict[str, Any]]
    ) -> None:
        """Keep the page's actions for the child, handed over with the first visit emitted.

        Visits that a stream map filters out keep no actions, as with a per-visit child.
        """
        mapper = self.stream_maps[0]
        pending: list[dict[str, Any]] = []
        flush_at = None
        for raw, record in zip(page, records, strict=True):
            if not mapper.get_filter_result(record):
                continue
            visit_id = record["visit_id"]
            flush_at = flush_at or (site_id, visit_id)
            pending += [
                shape_action(action, site_id, visit_id, position)
                for position, action in enumerate(raw.get("actionDetails") or [], start=1)
                if isinstance(action, dict)
            ]
        self._pending_actions, self._flush_at = pending, flush_at

    @override
    def generate_child_contexts(
        self, record: dict[str, Any], context: Context | None
    ) -> Iterable[Context | None]:
        if self._flush_at != (record["site_id"], record["visit_id"]):
            return
        for child in self.child_streams:
            if isinstance(child, VisitActionsStream):
                child.hand_over(self._pending_actions)
        self._pending_actions, self._flush_at = [], None
        yield {"site_id": record["site_id"]}


class VisitActionsStream(MatomoStream):
    """One row per action of a visit, from the same responses as ``visits``."""

    name = "visit_actions"
    parent_stream_type = VisitsStream
    #: Typed by :func:`shape_action`, like the visits.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    primary_keys = ("site_id", "visit_id", "position")

    def __init__(self, tap: Tap, run: MatomoRun) -> None:
        super().__init__(tap, run, schema=visit_actions_schema())
        self._batch: list[dict[str, Any]] = []

    def hand_over(self, actions: list[dict[str, Any]]) -> None:
        """Receive the actions of one page of visits (synced right after)."""
        self._batch = actions

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        batch, self._batch = self._batch, []
        yield from batch


def visit_streams(tap: Tap, run: MatomoRun) -> list[MatomoStream]:
    """The visit log streams, for ``discover_streams``."""
    return [VisitsStream(tap, run), VisitActionsStream(tap, run)]
