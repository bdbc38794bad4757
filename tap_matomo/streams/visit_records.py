"""A Live visit and its actions as typed records: the fields kept, and how each is typed.

Matomo sends numbers as numbers or as strings, icons and localised display strings next to the
data, custom dimensions as ``dimensionN`` keys, and keys that plugins or newer versions add. A
record is made in one pass over the keys an answer holds (:class:`KeyPlan`); what a key becomes
is decided once per key name, not once per record.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from tap_matomo.schemas import coerce, iso_timestamp, to_number
from tap_matomo.streams.visit_paging import day_start, local_date

if TYPE_CHECKING:
    from tap_matomo.runtime import Site


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
