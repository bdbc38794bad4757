"""The bookmarks of a state, checked before the first request and the first record.

A bookmark is read deep inside a stream's sync: a bad one ("notadate", 12345) used to end a run
with a traceback after thousands of records, blamed on another stream, and one after the site's
today silently skipped its stream until the calendar caught up. Here every bookmark of the
streams to sync is parsed by the format of its stream's replication key (a date for the
reports, a date-time with its offset for `visits`) before anything is read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from tap_matomo import dates
from tap_matomo.dates import MATOMO_FIRST_DAY, site_today
from tap_matomo.inputs import STATE_REMEDY, InputError, check_state_shape

if TYPE_CHECKING:
    from singer_sdk import Stream

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
#: How a replication key's values are written, by the JSON schema `format` of the key.
_EXPECTED = {
    "date": "a date (YYYY-MM-DD)",
    "date-time": "a date-time with its UTC offset (e.g. 2026-11-20T12:00:00+00:00)",
}


@dataclass(frozen=True)
class Bookmark:
    """One stored bookmark of a stream to sync, parsed."""

    stream: str
    #: The partition's context (e.g. ``{"site_id": 1}``); None for a stream-level bookmark.
    context: dict[str, Any] | None
    value: date | datetime

    @property
    def site_id(self) -> int | None:
        """The partition's site, when it has one."""
        site = (self.context or {}).get("site_id")
        return site if isinstance(site, int) and not isinstance(site, bool) else None

    @property
    def day(self) -> date:
        """The bookmark's day (in UTC for a date-time)."""
        if isinstance(self.value, datetime):
            return self.value.astimezone(timezone.utc).date()
        return self.value


def check_bookmarks(
    state: dict[str, Any], streams: Iterable[Stream], source: str = "The state"
) -> list[Bookmark]:
    """Every bookmark of the given streams, parsed; the first bad one raises InputError."""
    check_state_shape(state, source)
    found: list[Bookmark] = []
    for stream in streams:
        stream_state = state.get("bookmarks", {}).get(stream.tap_stream_id)
        key = stream.replication_key
        if not stream_state or not key:
            continue
        fmt = stream.effective_schema.get("properties", {}).get(key, {}).get("format")
        if fmt not in _EXPECTED:
            continue
        partitions = stream_state.get("partitions", [])
        for context, place in [(None, stream_state), *((p["context"], p) for p in partitions)]:
            raw = place.get("replication_key_value")
            if raw is None:
                continue
            value = _parse(raw, fmt)
            if value is None:
                problem = f"is not {_EXPECTED[fmt]}"
            elif Bookmark(stream.name, context, value).day < MATOMO_FIRST_DAY:
                problem = f"is before {MATOMO_FIRST_DAY}, the first day Matomo has data for"
            else:
                found.append(Bookmark(stream.name, context, value))
                continue
            where = "" if context is None else f", partition {json.dumps(context)}"
            shown = repr(raw) if len(repr(raw)) <= 60 else repr(raw)[:57] + "..."
            msg = (
                f"{source}: stream {stream.name!r}{where}: the bookmark "
                f"(`replication_key_value`) {shown} {problem}. "
            )
            raise InputError(msg + STATE_REMEDY)
    return found


def future_bookmarks(
    bookmarks: Iterable[Bookmark],
    site_timezone_of: Callable[[int], str | None],
    reread: timedelta = timedelta(0),
) -> list[tuple[Bookmark, str]]:
    """The bookmarks in their site's future, each with the "now" they are after.

    A date (reports) is in the future after the site's today. A date-time (`visits`) is after
    now plus ``reread``, the span a run reads again before its bookmark (a visit log bookmark
    a little ahead, e.g. by the Matomo server's clock, is then still read from before now).
    ``site_timezone_of`` gives a configured site's timezone (None for a site not configured):
    it is only asked for bookmarks after the earliest today on Earth (UTC-12), so a state of
    past bookmarks costs no request.
    """
    now = dates.utc_now()  # through the module: the tests pin the clock there
    earliest_today = now.date() - timedelta(days=1)
    ahead: list[tuple[Bookmark, str]] = []
    for bookmark in bookmarks:
        if bookmark.site_id is None or bookmark.day < earliest_today:
            continue
        if isinstance(bookmark.value, datetime):
            if bookmark.value > now + reread:
                ahead.append((bookmark, f"now ({now.isoformat()})"))
            continue
        zone = site_timezone_of(bookmark.site_id)
        if zone is None:
            continue
        today = site_today(zone)
        if bookmark.value > today:
            ahead.append((bookmark, f"the site's today ({today.isoformat()})"))
    return ahead


def _parse(raw: Any, fmt: str) -> date | datetime | None:
    """The bookmark as a date or an aware date-time, or None when it is not one.

    Read as the streams read it: a report bookmark by its first ten characters (so a
    date-time is fine), a `visits` bookmark whole, and only with an offset (a naive one would
    be taken in the machine's timezone).
    """
    if not isinstance(raw, str) or not _DATE.fullmatch(raw[:10]):
        return None
    try:
        if fmt == "date":
            return date.fromisoformat(raw) if len(raw) == 10 else datetime.fromisoformat(raw).date()
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return value if value.tzinfo is not None and len(raw) > 10 else None
