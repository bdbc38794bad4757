"""The tap's settings: the checks their schema cannot do, and the types the tap works with.

The SDK validates types and bounds against the schema (:mod:`tap_matomo.settings_schema`);
:func:`check_settings` adds the cross-field rules (exactly one of ``site_ids``/``all_sites``, no
relative and specific value for the same date bound, no window that ends before it starts...)
and returns one message per problem, each naming the setting, so that a bad config fails before
any request is sent.
"""

from __future__ import annotations

import contextlib
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

from tap_matomo.catalog import reports_by_name
from tap_matomo.dates import MATOMO_FIRST_DAY, DateSettings, Period
from tap_matomo.discovery import EXTRA_REPORTS, declared_specs
from tap_matomo.settings_schema import (
    DEFAULT_START_DAYS_BACK,
    VISITS_FINALITY_MINUTES,
    VISITS_PAGE_SIZE,
    setting,
)


@dataclass(frozen=True)
class RequestSettings:
    """How the client talks to Matomo."""

    timeout: float
    verify_ssl: bool
    user_agent: str | None
    max_tries: int
    retry_wait_seconds: float

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RequestSettings:
        """The request settings of a config, defaults filled in."""
        return cls(
            timeout=float(setting(config, "request_timeout")),
            verify_ssl=bool(setting(config, "verify_ssl")),
            user_agent=setting(config, "user_agent"),
            max_tries=int(setting(config, "max_tries")),
            retry_wait_seconds=float(setting(config, "retry_wait_seconds")),
        )


@dataclass(frozen=True)
class SubtableRequest:
    """One entry of the `subtables` setting."""

    stream: str
    subtable_id: int
    site_id: int | None = None


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count`: the sites whose id modulo `count` is `index`."""

    index: int
    count: int

    def keeps(self, site_id: int) -> bool:
        """True for a site of this shard; by id only, so adding sites moves no other site."""
        return site_id % self.count == self.index


@dataclass(frozen=True)
class TapSettings:
    """The settings after the checks, in the types the tap works with."""

    url: str
    token_auth: str = field(repr=False)
    site_ids: tuple[int, ...] | None
    dates: DateSettings
    #: `shard_count`/`shard_index`, None when the run keeps every site.
    shard: Shard | None = None
    period: Period = "day"
    period_overrides: dict[str, Period] = field(default_factory=dict)
    max_periods_per_request: int = 100
    bulk_request_size: int = 50
    max_concurrent_requests: int = 3
    fail_on_missing_plugin: bool = False
    #: Stream name -> `report_flattening` value (`flat`, `none` or a sub-dimension).
    report_flattening: dict[str, str] = field(default_factory=dict)
    subtables: tuple[SubtableRequest, ...] = ()
    #: Item setting name (`page_urls`, ...) -> its values as request parameters (strings).
    items: dict[str, tuple[str, ...]] = field(default_factory=dict)
    transitions_limit_before_grouping: int | None = None
    #: The `segment` setting (Matomo segment definition), None when not set.
    segment: str | None = None
    http: RequestSettings = field(default_factory=lambda: RequestSettings.from_config({}))
    #: Harmless problems fixed while parsing (e.g. duplicate site ids), for one warning each.
    notes: tuple[str, ...] = ()

    def period_for(self, stream_name: str) -> Period:
        """The period a stream uses: its override or the default."""
        return self.period_overrides.get(stream_name, self.period)


#: The streams that are not reports (their names are taken).
OTHER_STREAMS = ("sites", "goals", "visits", "visit_actions")

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _parse_date(config: dict[str, Any], key: str, errors: list[str]) -> date | None:
    """A whole YYYY-MM-DD date, or a whole ISO date-time read as its day.

    Meltano writes `start_date` as a date-time; ``2026-11-20garbage`` is refused, not read as
    its first ten characters.
    """
    value = config.get(key)
    if value in (None, ""):
        return None
    text = str(value).strip()
    day = None
    if _DATE.fullmatch(text[:10]) and (len(text) == 10 or text[10] in "T "):
        with contextlib.suppress(ValueError):
            day = datetime.fromisoformat(text).date()
    if day is None:
        errors.append(f"`{key}`: {value!r} is not a date; write it as YYYY-MM-DD.")
    elif day < MATOMO_FIRST_DAY:
        errors.append(
            f"`{key}`: {text} is before {MATOMO_FIRST_DAY}, the first day Matomo accepts."
        )
        day = None
    return day


def _check_url(url: str, errors: list[str]) -> None:
    """`url`: an http(s) address with a host, a valid port, and no token in it."""
    problem = None
    parsed = None
    with contextlib.suppress(ValueError):  # "Invalid IPv6 URL"
        parsed = urlparse(url)
    try:
        port_ok = parsed is not None and (parsed.port is None or parsed.port > 0)
    except ValueError:  # not a number, or over 65535
        port_ok = False
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.hostname:
        problem = "is not an http(s) URL"
    elif not port_ok:
        problem = "has an invalid port"
    elif any(char.isspace() for char in url):
        problem = "contains a blank"
    elif "token_auth" in parse_qs(parsed.query):
        errors.append(
            "`url`: holds a `token_auth`; give the token in `token_auth` (it is sent by POST, "
            "never in a URL) and the Matomo address alone in `url`."
        )
        return
    if problem:
        errors.append(
            f"`url`: {url!r} {problem}; give the Matomo address, e.g. https://analytics.example.com"
        )


def _check_user_agent(value: Any, errors: list[str]) -> None:
    """`user_agent` goes out as a header: one line of Latin-1 text not starting with a blank.

    requests refuses line breaks and a leading blank when the request is sent (which read as a
    lost connection, retried), and http.client cannot encode text outside Latin-1.
    """
    if not isinstance(value, str) or not value:
        return
    if "\r" in value or "\n" in value:
        problem = "holds a line break"
    elif any((ord(char) < 32 and char != "\t") or ord(char) == 127 for char in value):
        problem = "holds a control character"
    elif value[0].isspace():
        problem = "starts with a space or tab"
    elif not value.isascii() and not _is_latin_1(value):
        problem = "holds characters outside Latin-1"
    else:
        return
    errors.append(
        f"`user_agent`: {value!r} {problem}, which an HTTP header cannot carry; give one line "
        "of plain text, e.g. `tap-matomo (data team)`, or leave it out for the default."
    )


def _is_latin_1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _check_numbers(config: dict[str, Any], errors: list[str]) -> None:
    """No setting is NaN: a JSON file may hold it (Python reads it), and no bound refuses it."""
    errors += [
        f"`{key}`: NaN is not a number; give one within the bounds `tap-matomo --about` lists."
        for key, value in config.items()
        if isinstance(value, float) and math.isnan(value)
    ]


def _check_token(value: Any, errors: list[str]) -> str:
    """`token_auth`: a non-blank string (surrounding blanks, e.g. a pasted newline, dropped).

    Checked before any request: Matomo counts a refused token as a failed login, and locks the
    IP out after a few.
    """
    token = value.strip() if isinstance(value, str) else ""
    if not token:
        errors.append(
            "`token_auth` is empty: give a Matomo token (Administration > Personal > Security > "
            "Auth tokens), or `anonymous` for a public Matomo."
        )
    return token


def _check_site_ids(value: Any, notes: list[str]) -> tuple[int, ...] | None:
    """`site_ids` without duplicates, in the given order.

    ``[1, 1]`` can only mean site 1, so the duplicate is dropped with a warning rather than
    failing a scheduled run (without this every record of the site was emitted twice).
    """
    if not value:
        return None
    ids = tuple(int(i) for i in value)
    unique = tuple(dict.fromkeys(ids))
    if len(unique) < len(ids):
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        notes.append(
            f"`site_ids` lists site(s) {', '.join(map(str, repeated))} more than once; each "
            "site is extracted once. Remove the duplicates from the setting."
        )
    return unique


#: Settings that list items (pages, Users Flow steps): one stream partition per site and item.
ITEM_SETTINGS = ("page_urls", "page_titles", "users_flow_interaction_positions")


def _check_items(config: dict[str, Any], errors: list[str]) -> dict[str, tuple[str, ...]]:
    """Item settings: lists of non-empty values, kept in order without duplicates."""
    items: dict[str, tuple[str, ...]] = {}
    for name in ITEM_SETTINGS:
        value = config.get(name)
        if value in (None, ""):
            items[name] = ()
            continue
        if not isinstance(value, list):
            errors.append(f"`{name}`: give a list of values.")
            continue
        empty = [str(i + 1) for i, item in enumerate(value) if str(item).strip() == ""]
        if empty:
            errors.append(f"`{name}`: item(s) {', '.join(empty)} are empty.")
            continue
        items[name] = tuple(dict.fromkeys(str(item) for item in value))
    return items


def check_settings(config: dict[str, Any]) -> tuple[TapSettings | None, list[str]]:
    """Parse the config into :class:`TapSettings`, or return the problems found."""
    errors: list[str] = []
    notes: list[str] = []

    url = str(config.get("url") or "").strip()
    _check_url(url, errors)

    token_auth = _check_token(config.get("token_auth"), errors)
    _check_user_agent(config.get("user_agent"), errors)
    _check_numbers(config, errors)
    site_ids = config.get("site_ids")
    all_sites = bool(config.get("all_sites"))
    if site_ids and all_sites:
        errors.append("`site_ids` and `all_sites`: set one of them, not both.")
    elif not site_ids and not all_sites:
        errors.append("`site_ids` or `all_sites`: set one (a list of site IDs, or true).")
    elif site_ids and any(int(i) <= 0 for i in site_ids):
        errors.append("`site_ids`: site IDs are positive integers.")

    shard = _check_shard(config.get("shard_count"), config.get("shard_index"), errors)

    dates = {
        key: _parse_date(config, key, errors) for key in ("start_date", "end_date", "report_date")
    }
    back = {
        key: config.get(key) for key in ("start_days_back", "end_days_back", "report_days_back")
    }
    for bound in ("start", "end", "report"):
        if dates[f"{bound}_date"] and back[f"{bound}_days_back"] is not None:
            errors.append(f"`{bound}_date` and `{bound}_days_back`: set one of them, not both.")
    report_set = dates["report_date"] is not None or back["report_days_back"] is not None
    window_keys = [k for k in ("start_date", "end_date") if dates[k]] + [
        k for k in ("start_days_back", "end_days_back") if back[k] is not None
    ]
    if report_set and window_keys:
        listed = ", ".join(f"`{k}`" for k in window_keys)
        errors.append(f"`report_date`/`report_days_back` ask for one period; remove {listed}.")
    if dates["start_date"] and dates["end_date"] and dates["end_date"] < dates["start_date"]:
        errors.append(
            f"`end_date` ({dates['end_date']}) is before `start_date` ({dates['start_date']})."
        )
    if (
        back["start_days_back"] is not None
        and back["end_days_back"] is not None
        and back["end_days_back"] > back["start_days_back"]
    ):
        errors.append(
            f"`end_days_back` ({back['end_days_back']}) is further back than `start_days_back` "
            f"({back['start_days_back']}): the window would end before it starts."
        )

    period = setting(config, "period")
    overrides = dict(config.get("period_overrides") or {})
    known = reports_by_name()
    extra = declared_specs(config.get(EXTRA_REPORTS), set(known) | set(OTHER_STREAMS), errors)
    known.update((spec.name, spec) for spec in extra)
    errors += [
        f"`period_overrides`: no report stream is named {name!r}."
        for name in overrides
        if name not in known
    ]
    uses_range = period == "range" or "range" in overrides.values()
    if (
        uses_range
        and not report_set
        and not (dates["start_date"] or back["start_days_back"] is not None)
    ):
        errors.append(
            "`period` range is one aggregate over a window: set `start_date` or "
            "`start_days_back` (and optionally the end)."
        )

    flattening = _check_flattening(config.get("report_flattening"), errors)
    subtables = _check_subtables(config.get("subtables"), site_ids, errors)

    items = _check_items(config, errors)
    segment = _check_segment(config.get("segment"), errors)

    if errors:
        return None, errors

    start_days_back = back["start_days_back"]
    if not report_set and dates["start_date"] is None and start_days_back is None:
        start_days_back = DEFAULT_START_DAYS_BACK
    date_settings = DateSettings(
        start_date=dates["start_date"],
        start_days_back=start_days_back,
        end_date=dates["end_date"],
        end_days_back=back["end_days_back"],
        report_date=dates["report_date"],
        report_days_back=back["report_days_back"],
        lookback_days=int(setting(config, "lookback_days")),
    )
    return (
        TapSettings(
            url=url,
            token_auth=token_auth,
            site_ids=_check_site_ids(site_ids, notes),
            dates=date_settings,
            shard=shard,
            period=period,
            period_overrides=overrides,
            max_periods_per_request=int(setting(config, "max_periods_per_request")),
            bulk_request_size=int(setting(config, "bulk_request_size")),
            max_concurrent_requests=int(setting(config, "max_concurrent_requests")),
            fail_on_missing_plugin=bool(setting(config, "fail_on_missing_plugin")),
            report_flattening=flattening,
            subtables=subtables,
            items=items,
            transitions_limit_before_grouping=config.get("transitions_limit_before_grouping"),
            segment=segment,
            http=RequestSettings.from_config(config),
            notes=tuple(notes),
        ),
        [],
    )


def _check_shard(count: Any, index: Any, errors: list[str]) -> Shard | None:
    """`shard_count`/`shard_index`: both or neither, the index one of the count's shards."""
    if count is None and index is None:
        return None
    if count is None or index is None:
        errors.append(
            "`shard_count` and `shard_index`: set both (this run is shard `shard_index` of "
            "`shard_count`), or neither."
        )
        return None
    if count < 1:
        errors.append(f"`shard_count`: {count} shards; give 1 or more.")
        return None
    if not 0 <= index < count:
        errors.append(f"`shard_index`: {index} is not a shard of {count}; give 0 to {count - 1}.")
        return None
    return Shard(index=index, count=count)


def _check_segment(value: Any, errors: list[str]) -> str | None:
    """`segment`: unset, or a non-blank definition sent as written (Matomo parses it)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        errors.append(
            "`segment`: give a Matomo segment definition, e.g. `deviceType==smartphone`, "
            "or leave the setting out."
        )
        return None
    return value


def _check_flattening(value: Any, errors: list[str]) -> dict[str, str]:
    """`report_flattening`: known hierarchical streams, each with a value it accepts."""
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        errors.append("`report_flattening`: give an object of stream name -> choice.")
        return {}
    specs = reports_by_name()
    checked: dict[str, str] = {}
    for stream, choice in value.items():
        spec = specs.get(stream)
        allowed = spec.flattening_values() if spec else ()
        if not allowed:
            flat = sorted(name for name, s in specs.items() if s.flattening_values())
            errors.append(
                f"`report_flattening`: {stream!r} is not a hierarchical report stream; "
                f"these are: {', '.join(flat)}."
            )
        elif choice not in allowed:
            errors.append(
                f"`report_flattening`: {stream!r} accepts {', '.join(map(repr, allowed))}, "
                f"not {choice!r}."
            )
        else:
            checked[stream] = str(choice)
    return checked


def _check_subtables(value: Any, site_ids: Any, errors: list[str]) -> tuple[SubtableRequest, ...]:
    """`subtables`: streams that have subtables, positive ids, configured sites."""
    if not value:
        return ()
    specs = reports_by_name()
    with_subtables = sorted(name for name, spec in specs.items() if spec.subtable_method)
    requests: list[SubtableRequest] = []
    for entry in value:
        stream = entry.get("stream") if isinstance(entry, dict) else None
        spec = specs.get(str(stream))
        if spec is None or not spec.subtable_method:
            errors.append(
                f"`subtables`: {stream!r} has no subtables; use one of: "
                f"{', '.join(with_subtables)}."
            )
            continue
        subtable_id, site_id = entry.get("subtable_id"), entry.get("site_id")
        if not isinstance(subtable_id, int) or subtable_id <= 0:
            errors.append(f"`subtables`: {stream!r} needs a positive `subtable_id`.")
            continue
        if site_id is not None and site_ids and int(site_id) not in map(int, site_ids):
            errors.append(f"`subtables`: site {site_id} is not in `site_ids`.")
            continue
        requests.append(SubtableRequest(str(stream), subtable_id, site_id))
    return tuple(requests)


# -- visit log ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class VisitLogSettings:
    """Settings of the visit log streams (``visits``, ``visit_actions``)."""

    page_size: int = VISITS_PAGE_SIZE
    finality_minutes: int = VISITS_FINALITY_MINUTES
    exclude_identity: bool = False


def visit_log_settings(config: dict[str, Any]) -> VisitLogSettings:
    """The visit log settings of a config (the schema has checked their types and bounds)."""
    return VisitLogSettings(
        page_size=int(setting(config, "visits_page_size")),
        finality_minutes=int(setting(config, "visits_finality_minutes")),
        exclude_identity=bool(setting(config, "visits_exclude_identity")),
    )
