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

``visit_actions`` is a child stream fed from the same responses: the parent hands over the actions
of one batch of pages at a time (one child sync per batch, not per visit), before the batch's
first visit is emitted, so a STATE never covers a visit whose actions were not emitted yet.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from singer_sdk import typing as th
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.helpers.types import Context
from singer_sdk.singerlib import Catalog, Schema
from typing_extensions import override

from tap_matomo.dates import DateWindow, resolve_window, site_today
from tap_matomo.schemas import coerce, iso_timestamp, to_number
from tap_matomo.settings import VisitLogSettings, visit_log_settings
from tap_matomo.streams.base import SITE_ID_PROPERTY, MatomoStream
from tap_matomo.streams.visit_paging import VisitLogReader, day_start, local_date

if TYPE_CHECKING:
    from singer_sdk import Tap

    from tap_matomo.runtime import MatomoRun, Site


#: Matomo's action type for content impressions and interactions is the raw code, not a word.
CONTENT_ACTION_TYPE = "13"


@dataclass(frozen=True)
class Field:
    """One Matomo key and the typed column it becomes."""

    source: str
    column: str
    json_type: str  # integer, number, boolean, string, date-time
    description: str | None = None


def snake_case(name: str) -> str:
    """``operatingSystemCode`` -> ``operating_system_code``."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _fields(json_type: str, *sources: str) -> tuple[Field, ...]:
    return tuple(Field(source, snake_case(source), json_type) for source in sources)


IDENTITY_FIELDS = (
    Field("visitIp", "visit_ip", "string", "IP address (as anonymised by Matomo's settings)."),
    Field("visitorId", "visitor_id", "string", "Visitor id (16 hex characters)."),
    Field("fingerprint", "fingerprint", "string", "Config id of the visitor's device."),
    Field("userId", "user_id", "string", "User ID set by the site, if any."),
)
IDENTITY_COLUMNS = frozenset(f.column for f in IDENTITY_FIELDS)

VISIT_FIELDS: tuple[Field, ...] = (
    *IDENTITY_FIELDS,
    # -- time
    Field(
        "firstActionTimestamp", "first_action_time", "date-time", "Time of the first action (UTC)."
    ),
    Field("visitDuration", "visit_duration", "integer", "Seconds between first and last action."),
    Field("visitServerHour", "visit_server_hour", "integer", "Hour of the visit, server time."),
    Field("visitLocalTime", "visit_local_time", "string", "Visitor's local time, HH:MM:SS."),
    Field("visitLocalHour", "visit_local_hour", "integer", "Visitor's local hour."),
    # -- visitor
    *_fields("string", "visitorType"),
    *_fields(
        "integer",
        "visitCount",
        "daysSinceFirstVisit",
        "secondsSinceFirstVisit",
        "daysSinceLastVisit",
        "secondsSinceLastVisit",
        "daysSinceLastEcommerceOrder",
        "secondsSinceLastEcommerceOrder",
    ),
    # -- engagement, goals, ecommerce
    *_fields("integer", "actions", "interactions", "searches", "events", "goalConversions"),
    Field("visitConverted", "visit_converted", "boolean", "True when a goal was converted."),
    Field(
        "visitEcommerceStatus",
        "visit_ecommerce_status",
        "string",
        "none, ordered, abandonedCart or orderedThenAbandonedCart.",
    ),
    *_fields("number", "totalEcommerceRevenue", "totalAbandonedCartsRevenue"),
    *_fields(
        "integer",
        "totalEcommerceConversions",
        "totalEcommerceItems",
        "totalAbandonedCarts",
        "totalAbandonedCartsItems",
    ),
    # -- referrer and campaign (campaign* need MarketingCampaignsReporting)
    *_fields("string", "referrerType", "referrerTypeName", "referrerName", "referrerKeyword"),
    *_fields("integer", "referrerKeywordPosition"),
    *_fields("string", "referrerUrl", "referrerSearchEngineUrl", "referrerSocialNetworkUrl"),
    *_fields(
        "string",
        "campaignId",
        "campaignName",
        "campaignSource",
        "campaignMedium",
        "campaignKeyword",
        "campaignContent",
        "campaignGroup",
        "campaignPlacement",
    ),
    # -- device
    *_fields(
        "string",
        "deviceType",
        "deviceBrand",
        "deviceModel",
        "operatingSystem",
        "operatingSystemName",
        "operatingSystemCode",
        "operatingSystemVersion",
        "browser",
        "browserName",
        "browserCode",
        "browserVersion",
        "browserFamily",
        "browserFamilyDescription",
        "resolution",
        "plugins",
    ),
    # -- location and language
    *_fields(
        "string",
        "continent",
        "continentCode",
        "country",
        "countryCode",
        "region",
        "regionCode",
        "city",
        "location",
    ),
    *_fields("number", "latitude", "longitude"),
    *_fields("string", "language", "languageCode"),
    # -- site
    *_fields("string", "siteName", "siteCurrency", "siteCurrencySymbol"),
)

ACTION_FIELDS: tuple[Field, ...] = (
    Field("url", "url", "string"),
    Field("pageTitle", "page_title", "string"),
    Field("title", "title", "string", "Matomo's one-line summary of the action."),
    Field("subtitle", "subtitle", "string"),
    Field("pageIdAction", "page_id_action", "integer", "Id of the URL/name in log_action."),
    Field("pageId", "page_id", "integer", "Id of this action in log_link_visit_action."),
    Field("idpageview", "pageview_id", "string", "Page view id (6 characters)."),
    Field("pageviewPosition", "pageview_position", "integer"),
    Field("timeSpent", "time_spent", "integer", "Seconds until the next action."),
    Field("pageLoadTimeMilliseconds", "page_load_time_ms", "integer"),
    Field("bandwidth", "bandwidth", "integer", "Bytes (downloads, media)."),
    *_fields("string", "eventCategory", "eventAction", "eventName"),
    *_fields("number", "eventValue"),
    *_fields("string", "siteSearchKeyword", "siteSearchCategory"),
    *_fields("integer", "siteSearchCount"),
    *_fields("string", "contentName", "contentPiece", "contentTarget", "contentInteraction"),
    *_fields("integer", "goalId", "goalPageId"),
    *_fields("string", "goalName", "referrerType", "referrerName", "referrerKeyword"),
    Field("orderId", "order_id", "string"),
    *_fields(
        "number",
        "revenue",
        "revenueSubTotal",
        "revenueTax",
        "revenueShipping",
        "revenueDiscount",
    ),
    *_fields("integer", "items"),
    *_fields("string", "productViewSku", "productViewName"),
    *_fields("number", "productViewPrice"),
)

ACTION_TYPES = (
    "action (page view), download, outlink, event, search (site search), content (Matomo's "
    "type 13: content impression or interaction), goal, ecommerceOrder, ecommerceAbandonedCart"
)

#: Keys of a visit read on their own by :func:`shape_visit` (or duplicates of those, in other
#: formats).
_VISIT_SPECIAL = frozenset(
    {
        "idSite",
        "idVisit",
        "actionDetails",
        "lastActionTimestamp",
        "customVariables",
        "truncatedActionsCount",
        "serverTimestamp",
        "lastActionDateTime",
        "serverDate",
    }
)
#: Keys of an action read on their own by :func:`shape_action`.
_ACTION_SPECIAL = frozenset(
    {"type", "timestamp", "itemDetails", "productViewCategories", "customVariables"}
)
_DIMENSION = re.compile(r"^dimension\d+$")


def is_presentation(key: str) -> bool:
    """Icons, flags and localised display strings: nothing a warehouse needs."""
    lower = key.lower()
    return (
        lower.endswith(("icon", "icons", "iconsvg", "flag"))
        or "pretty" in lower
        or key == "pageLoadTime"  # "2.36s"; the milliseconds are kept
    )


def _converter(json_type: str) -> Callable[[Any], Any]:
    return lambda value: coerce(value, json_type)


#: The Python type whose values a column of a JSON type takes as they are (ints for integers:
#: not bools, whose type is bool).
_SHORTCUTS: dict[str, type] = {"string": str, "integer": int}
#: What a key of a raw visit or action becomes (see :class:`KeyPlan`).
_SKIP, _DIMENSION_KEY, _OTHER = "skip", "dimension", "other"


class KeyPlan:
    """What each key of Matomo's visits (or actions) becomes, decided once per key name.

    A record is made in one pass over the keys the answer holds: a typed column, a custom
    dimension, a key read on its own, an icon or display string left out, or an undeclared
    key kept in ``other_fields``. Columns the answer lacks are null.
    """

    def __init__(
        self, fields: Sequence[Field], special: frozenset[str], left_out: frozenset[str]
    ) -> None:
        self._columns = {
            f.source: (f.column, _SHORTCUTS.get(f.json_type), _converter(f.json_type))
            for f in fields
        }
        self._special = special | left_out
        self._plans: dict[str, tuple[str, type | None, Callable[[Any], Any]] | str] = {}
        #: Every column, null (a record starts as a copy of this).
        self.empty = {f.column: None for f in fields if f.source not in left_out}

    def plan(self, key: str) -> tuple[str, type | None, Callable[[Any], Any]] | str:
        """What a key becomes.

        A column with the Python type its values need no typing in and its typing, or one
        of ``_SKIP``, ``_DIMENSION_KEY``, ``_OTHER``.
        """
        found = self._plans.get(key)
        if found is None:
            if key in self._special:
                found = _SKIP
            elif key in self._columns:
                found = self._columns[key]
            elif _DIMENSION.match(key):
                found = _DIMENSION_KEY
            elif is_presentation(key):
                found = _SKIP
            else:
                found = _OTHER
            self._plans[key] = found
        return found

    def fill(self, record: dict[str, Any], raw: Mapping[str, Any]) -> None:
        """Set the columns, ``custom_dimensions`` and ``other_fields`` of a record from raw."""
        dimensions: dict[str, str | None] | None = None
        other: dict[str, Any] | None = None
        plans = self._plans
        for key, value in raw.items():
            plan = plans.get(key) or self.plan(key)
            if plan.__class__ is tuple:
                column, typed, convert = plan  # type: ignore[misc]
                # Most values arrive in the column's type already: no call for them.
                record[column] = value if value.__class__ is typed else convert(value)
            elif plan is _DIMENSION_KEY:
                if dimensions is None:
                    dimensions = {}
                dimensions[key] = None if value is None else str(value)
            elif plan is _OTHER:
                if other is None:
                    other = {}
                other[key] = value
        record["custom_dimensions"] = dimensions
        record["other_fields"] = other


_VISIT_KEYS = KeyPlan(VISIT_FIELDS, _VISIT_SPECIAL, frozenset())
_VISIT_KEYS_WITHOUT_IDENTITY = KeyPlan(
    VISIT_FIELDS, _VISIT_SPECIAL, frozenset(f.source for f in IDENTITY_FIELDS)
)
_ACTION_KEYS = KeyPlan(ACTION_FIELDS, _ACTION_SPECIAL, frozenset())


def _object_or_none(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) and value else None


class SiteDays:
    """The site-local day of Unix times, with the last day's bounds kept (visits come in order)."""

    def __init__(self, timezone: str) -> None:
        self.timezone = timezone
        self._start = self._end = 0
        self._day = ""

    def day_of(self, second: int) -> str:
        """``YYYY-MM-DD`` of the site-local day holding ``second``."""
        if not self._start <= second < self._end:
            day = local_date(second, self.timezone)
            self._start = day_start(day, self.timezone)
            self._end = day_start(day + timedelta(days=1), self.timezone)
            self._day = day.isoformat()
        return self._day


def shape_visit(
    raw: Mapping[str, Any],
    site: Site,
    *,
    exclude_identity: bool = False,
    days: SiteDays | None = None,
) -> dict[str, Any]:
    """One Live visit as a typed ``visits`` record."""
    last = int(raw["lastActionTimestamp"])
    actions = raw.get("actionDetails") or []
    truncated = to_number(raw.get("truncatedActionsCount"), "integer") or 0
    keys = _VISIT_KEYS_WITHOUT_IDENTITY if exclude_identity else _VISIT_KEYS
    record: dict[str, Any] = {
        "site_id": site.site_id,
        "visit_id": int(raw["idVisit"]),
        "last_action_time": iso_timestamp(last),
        "date": (days or SiteDays(site.timezone)).day_of(last),
        **keys.empty,
    }
    keys.fill(record, raw)
    record["custom_variables"] = _object_or_none(raw.get("customVariables"))
    record["action_details_count"] = len(actions)
    record["truncated_actions_count"] = truncated
    record["actions_truncated"] = truncated > 0
    record["other_fields"] = record.pop("other_fields")  # last, as in the schema
    return record


def _action_type(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return "content" if text == CONTENT_ACTION_TYPE else text


def _item(raw: Mapping[str, Any]) -> dict[str, Any]:
    categories = raw.get("categories")
    return {
        "sku": coerce(raw.get("itemSKU"), "string"),
        "name": coerce(raw.get("itemName"), "string"),
        "category": coerce(raw.get("itemCategory"), "string"),
        "categories": [str(c) for c in categories] if isinstance(categories, list) else None,
        "price": to_number(raw.get("price")),
        "quantity": to_number(raw.get("quantity")),
    }


def shape_action(
    raw: Mapping[str, Any], site_id: int, visit_id: int, position: int
) -> dict[str, Any]:
    """One entry of a visit's ``actionDetails`` as a typed ``visit_actions`` record."""
    record: dict[str, Any] = {
        "site_id": site_id,
        "visit_id": visit_id,
        "position": position,
        "type": _action_type(raw.get("type")),
        "server_time": iso_timestamp(raw.get("timestamp")),
        **_ACTION_KEYS.empty,
    }
    _ACTION_KEYS.fill(record, raw)
    items = raw.get("itemDetails")
    categories = raw.get("productViewCategories")
    record["item_details"] = (
        [_item(i) for i in items if isinstance(i, dict)] if isinstance(items, list) else None
    )
    record["product_view_categories"] = (
        [str(c) for c in categories] if isinstance(categories, list) else None
    )
    record["custom_dimensions"] = record.pop("custom_dimensions")  # in schema order
    record["custom_variables"] = _object_or_none(raw.get("customVariables"))
    record["other_fields"] = record.pop("other_fields")
    return record


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
