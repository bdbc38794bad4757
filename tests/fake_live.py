"""A Live (visit log) emulation for FakeMatomo, built from the recorded visits.

Register it with ``fake.handlers["Live.getLastVisitsDetails"] = live``. It answers like Matomo's
``Live.getLastVisitsDetails`` (plugins/Live/Model.php) over every distinct visit found in the Live
recordings, plus any synthetic visit a test adds:

- ``idSite``: one id, a comma list or ``all`` (then the window is in UTC);
- ``period``/``date``: site-local bounds on ``lastActionTimestamp``, inclusive at both ends (a visit
  ending exactly at midnight belongs to both days); a request for the site's today starts
  yesterday and has no end bound, as Matomo does;
- ``minTimestamp``: strictly greater; ``filter_sort_order``: ``desc`` (default) or ``asc``, on
  (site, last action time, idVisit); ``filter_limit`` (default 100, ``-1`` = all) and
  ``filter_offset``; ``doNotFetchActions``;
- optionally Matomo's deep-offset bug (issues #16394, #23342): with ``offset_bug`` each page after
  the first skips one more visit;
- optionally the order of Matomo before 4.2 (issue #16394): with ``split_descending`` a window of
  several days asked with a limit is read newest day first whatever ``filter_sort_order`` says;
- in an ``API.getBulkRequest`` (``FakeMatomo``) each call answers with its own parameters, as in
  Matomo, whose API proxy sets a call's parameters for it (``Context::executeWithQueryParameters``);
- "Visits log is deactivated" errors for the sites in ``deactivated``.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tests.fake_matomo import RECORDINGS

SITE_TIMEZONES = {1: "UTC", 2: "Europe/Paris", 3: "America/New_York"}
#: 2026-11-26 12:00 UTC, the pinned clock of the tests (conftest.RECORDED_NOW).
RECORDED_NOW = int(datetime(2026, 11, 26, 12, tzinfo=timezone.utc).timestamp())

DEACTIVATED_FOR_SITE = (
    "Visits log is deactivated in website settings. A user with admin access can enable this "
    "feature in the website settings. (idSite={site})."
)
DEACTIVATED_GLOBALLY = (
    "Visits log is deactivated globally. A user with super user access can enable this "
    "feature in the general settings."
)

Visit = dict[str, Any]
Key = tuple[int, int]


def recorded_visits(recordings: Path = RECORDINGS) -> dict[Key, Visit]:
    """Every distinct visit of the Live recordings, by (idSite, idVisit).

    A visit recorded several times keeps the copy with the most actions (the
    ``doNotFetchActions`` recording has none).
    """
    visits: dict[Key, Visit] = {}
    for path in sorted(recordings.glob("*__Live.getLastVisitsDetails__*.json")):
        body = json.loads(path.read_text())["body"]
        if not isinstance(body, list):
            continue
        for visit in body:
            key = (int(visit["idSite"]), int(visit["idVisit"]))
            known = visits.get(key)
            if known is None or len(visit["actionDetails"]) > len(known["actionDetails"]):
                visits[key] = visit
    return visits


def _utc_text(second: int) -> str:
    return datetime.fromtimestamp(second, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


class FakeLive:
    """``Live.getLastVisitsDetails`` over an editable set of visits."""

    def __init__(
        self,
        visits: dict[Key, Visit] | None = None,
        *,
        timezones: dict[int, str] | None = None,
        now: int = RECORDED_NOW,
        offset_bug: bool = False,
        split_descending: bool = False,
        copies: bool = True,
    ) -> None:
        self.visits = copy.deepcopy(recorded_visits() if visits is None else visits)
        self.timezones = dict(SITE_TIMEZONES if timezones is None else timezones)
        self.now = now
        self.offset_bug = offset_bug
        #: Matomo before 4.2: a window of several days read newest day first (issue #16394).
        self.split_descending = split_descending
        #: Answer copies of the visits, so that a test may change them after answering (the
        #: bench, which serializes every answer at once, leaves it off to stay fast).
        self.copies = copies
        #: Sites whose visits log is deactivated (``"all"``: deactivated globally).
        self.deactivated: set[int | str] = set()
        #: Every call received, and the (site, visit) keys answered to it.
        self.calls: list[dict[str, str]] = []
        self.served: list[list[Key]] = []

    # -- the API ------------------------------------------------------------------------------

    def __call__(self, params: dict[str, str]) -> tuple[int, Any]:
        self.calls.append(dict(params))
        self.served.append([])
        sites = self._sites(params.get("idSite", ""))
        if "all" in self.deactivated:
            return 200, {"result": "error", "message": DEACTIVATED_GLOBALLY}
        for site in sites:
            if site in self.deactivated:
                message = DEACTIVATED_FOR_SITE.format(site=site)
                return 200, {"result": "error", "message": message}
        rows = [v for v in self.visits.values() if int(v["idSite"]) in sites]
        windows: list[tuple[int | None, int | None]] = [(None, None)]
        if params.get("period") and params.get("date"):
            # Several sites: Matomo computes the window in UTC (recording 0528).
            zone_site = next(iter(sites)) if len(sites) == 1 else None
            low, high = self._bounds(params["period"], params["date"], zone_site)
            windows = [(low, high)]
            if self.split_descending and params.get("filter_limit", "100") != "-1":
                windows = self._split_newest_first(low, high)
        # minTimestamp: strictly greater, seconds
        minimum = int(params["minTimestamp"]) + 1 if params.get("minTimestamp") else None
        ascending = params.get("filter_sort_order", "desc").lower() == "asc"
        found = []
        for low, high in windows:
            selected = [
                v
                for v in rows
                if (low is None or int(v["lastActionTimestamp"]) >= low)
                and (high is None or int(v["lastActionTimestamp"]) <= high)
                and (minimum is None or int(v["lastActionTimestamp"]) >= minimum)
            ]
            # By last action time then idVisit, sites mixed (recording 0528).
            selected.sort(key=lambda v: (int(v["lastActionTimestamp"]), int(v["idVisit"])))
            found += selected if ascending else selected[::-1]
        rows = found
        rows = self._page(rows, params)
        answer = copy.deepcopy(rows) if self.copies else rows
        if params.get("doNotFetchActions") == "1":
            answer = [{**visit, "actionDetails": []} for visit in answer]
        self.served[-1] = [(int(v["idSite"]), int(v["idVisit"])) for v in rows]
        return 200, answer

    def _split_newest_first(
        self, low: int, high: int | None
    ) -> list[tuple[int | None, int | None]]:
        """The SQL queries of a window longer than a day asked with a limit, before Matomo 4.2:
        the last day, the 7 days before, 30 days, a year, the rest; newest first whatever
        ``filter_sort_order`` says (Model::queryLogVisits of 4.1; fixed by PR #17060 for
        issue #16394). Their answers are joined in that order until the limit.
        """
        day = 86_400
        end = high if high is not None else self.now + day
        if not low + day < end:
            return [(low, high)]
        end -= day
        windows: list[tuple[int | None, int | None]] = [(end, high)]
        for days in (7, 30, 365):  # Matomo's "a year" is a calendar year: near enough here
            if low + days * day < end:
                windows.append((end - days * day, end - 1))
                end -= days * day
        if low < end:
            windows.append((low, end - 1))
        return windows

    def _sites(self, text: str) -> set[int]:
        if text == "all":
            return set(self.timezones)
        return {int(part) for part in text.split(",") if part.strip().isdigit()}

    def _page(self, rows: list[Visit], params: dict[str, str]) -> list[Visit]:
        try:
            limit = int(params.get("filter_limit", "100"))
        except ValueError:
            limit = 10  # what Matomo 5.0.2 did with filter_limit=abc (recording 0558)
        offset = int(params.get("filter_offset", "0") or 0)
        if self.offset_bug and offset > 0 and limit > 0:
            offset += offset // limit
        rows = rows[offset:]
        return rows if limit < 0 else rows[:limit]

    # -- site-local days ----------------------------------------------------------------------

    def zone(self, site_id: int | None) -> ZoneInfo:
        """The site's timezone (UTC for a request over several sites)."""
        return ZoneInfo("UTC" if site_id is None else self.timezones[site_id])

    def today(self, site_id: int | None) -> date:
        """The site's today at ``now``."""
        return datetime.fromtimestamp(self.now, tz=self.zone(site_id)).date()

    def midnight(self, site_id: int | None, day: date) -> int:
        """Unix time of the site-local midnight that starts ``day``."""
        start = datetime(day.year, day.month, day.day, tzinfo=self.zone(site_id))
        return int(start.timestamp())

    def _day(self, site_id: int | None, text: str) -> date:
        if text in ("today", "now"):
            return self.today(site_id)
        if text == "yesterday":
            return self.today(site_id) - timedelta(days=1)
        return date.fromisoformat(text)

    def _bounds(self, period: str, when: str, site_id: int | None) -> tuple[int, int | None]:
        """The first and last second of a window (Model::getStartAndEndDate), both inclusive."""
        if period == "range":
            first, _, last = when.partition(",")
            start, end = self._day(site_id, first), self._day(site_id, last)
        else:
            day = self._day(site_id, when)
            start, end = _period_bounds(day, period)
        low = self.midnight(site_id, start)
        high: int | None = self.midnight(site_id, end + timedelta(days=1))
        if end >= self.today(site_id):
            # Model::getStartAndEndDate: today's window starts a day earlier and is open-ended.
            if period == "day":
                low = self.midnight(site_id, start - timedelta(days=1))
            high = None
        return low, high

    # -- synthetic visits ---------------------------------------------------------------------

    def add_visit(
        self,
        site_id: int,
        last_action: int,
        *,
        first_action: int | None = None,
        page_views: int = 2,
        visit_id: int | None = None,
        **fields: Any,
    ) -> Visit:
        """Add a visit shaped like a recorded one of the same site, ending at ``last_action``."""
        template = next(
            v
            for v in sorted(self.visits.values(), key=lambda v: v["idVisit"])
            if int(v["idSite"]) == site_id
            and any(a.get("type") == "action" for a in v["actionDetails"])
        )
        visit = copy.deepcopy(template)
        page_view = next(a for a in template["actionDetails"] if a.get("type") == "action")
        visit["idVisit"] = visit_id if visit_id is not None else self._next_id()
        first = last_action - 60 * (page_views - 1) if first_action is None else first_action
        visit["actionDetails"] = []
        visit.pop("truncatedActionsCount", None)
        self.visits[(site_id, visit["idVisit"])] = visit
        self.set_actions(site_id, visit["idVisit"], first, last_action, page_views, page_view)
        visit.update(fields)
        return visit

    def set_actions(
        self,
        site_id: int,
        visit_id: int,
        first_action: int,
        last_action: int,
        page_views: int,
        page_view: Visit | None = None,
    ) -> Visit:
        """Give a visit ``page_views`` page views from ``first_action`` to ``last_action``."""
        visit = self.visits[(site_id, visit_id)]
        model = page_view or next(a for a in visit["actionDetails"] if a.get("type") == "action")
        step = (last_action - first_action) // max(page_views - 1, 1)
        actions = []
        for index in range(page_views):
            second = last_action if index == page_views - 1 else first_action + index * step
            action = copy.deepcopy(model)
            action.update(
                {
                    "url": f"https://example.test/visit-{visit_id}/page-{index + 1}",
                    "pageviewPosition": index + 1,
                    "pageId": visit_id * 1000 + index,
                    "idpageview": f"p{visit_id % 10000:04d}{index:02d}",
                    "timestamp": second,
                }
            )
            actions.append(action)
        visit["actionDetails"] = actions
        visit.update(
            {
                "actions": page_views,
                "interactions": page_views,
                "firstActionTimestamp": first_action,
                "lastActionTimestamp": last_action,
                "serverTimestamp": last_action,
                "lastActionDateTime": _utc_text(last_action),
                "serverDate": _utc_text(last_action)[:10],
                "visitDuration": last_action - first_action,
            }
        )
        return visit

    def spread_copies(
        self, site_id: int, start: date, days: int, count: int, seed: int = 0
    ) -> None:
        """Add ``count`` copies of the recorded visits to a site, at random seconds of ``days``
        site-local days from ``start`` (the bench's visit log of a busy site).

        Each copy keeps its actions and durations: every time field moves by the same amount.
        """
        rng = random.Random(seed)
        models = [self.visits[key] for key in sorted(self.visits)] or list(
            recorded_visits().values()
        )
        low = self.midnight(site_id, start)
        high = self.midnight(site_id, start + timedelta(days=days))
        next_id = self._next_id()
        for second in sorted(rng.randrange(low, high) for _ in range(count)):
            visit = copy.deepcopy(rng.choice(models))
            shift = second - int(visit["lastActionTimestamp"])
            for key in ("lastActionTimestamp", "serverTimestamp", "firstActionTimestamp"):
                visit[key] = int(visit[key]) + shift
            for action in visit["actionDetails"]:
                if action.get("timestamp") is not None:
                    action["timestamp"] = int(action["timestamp"]) + shift
            visit["lastActionDateTime"] = _utc_text(second)
            visit["serverDate"] = _utc_text(second)[:10]
            visit["idSite"] = site_id
            visit["idVisit"] = next_id
            self.visits[(site_id, next_id)] = visit
            next_id += 1

    def _next_id(self) -> int:
        return max((key[1] for key in self.visits), default=0) + 1

    # -- reading ------------------------------------------------------------------------------

    def keys(self, sites: Iterable[int] | None = None) -> set[Key]:
        """Every (site, idVisit), optionally of some sites."""
        return {key for key in self.visits if sites is None or key[0] in set(sites)}

    def keys_between(self, site_id: int, start: date, end: date) -> set[Key]:
        """Visits of a site whose last action falls on the site-local days ``start``..``end``."""
        low = self.midnight(site_id, start)
        high = self.midnight(site_id, end + timedelta(days=1))
        return {
            key
            for key, visit in self.visits.items()
            if key[0] == site_id and low <= int(visit["lastActionTimestamp"]) < high
        }


def _period_bounds(day: date, period: str) -> tuple[date, date]:
    if period == "week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=6)
    if period == "month":
        start = day.replace(day=1)
        following = (start + timedelta(days=32)).replace(day=1)
        return start, following - timedelta(days=1)
    if period == "year":
        return day.replace(month=1, day=1), day.replace(month=12, day=31)
    return day, day
