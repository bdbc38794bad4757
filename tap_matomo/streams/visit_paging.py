"""Reading the visit log of one site over a window: the calls, and their pages in time order.

- Every call covers one site-local day (``period=day&date=D``): Matomo splits a longer window
  into several SQL queries when a limit is set, and older versions put them in descending
  order whatever ``filter_sort_order`` says (issue #16394), so a cursor over a range would jump
  past whole days. A single day is never split, on any version.
- Inside a day, pages follow a time cursor (:class:`VisitCursor`), never an offset (#23342).
- The request count follows the number of visits, not of days: the next page of many days goes
  in one ``API.getBulkRequest`` (through the run's :meth:`MatomoRun.fetch`). A day's pages are
  still asked one after the other, since each starts where the one before ended.
- Pages are handed out in time order (a day's pages, then the next day's), so the bookmark can
  follow the records. Pages read ahead for later days wait in memory: besides the current day's
  next page, a request asks for no more records (visits and their actions) than
  :data:`RECORDS_PER_REQUEST`, counting the records already waiting. The limit of each call
  bounds its visits; actions are counted at the rate of the visits read so far
  (:data:`ASSUMED_ACTIONS_PER_VISIT` until one is read). A later day is asked for a share of the
  budget (the budget over the calls a bulk request holds): a typical day is read whole in one
  call, a bigger one goes on with whole pages once it is the current day.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pendulum

from tap_matomo.client import ApiCall
from tap_matomo.dates import DateWindow, site_timezone
from tap_matomo.errors import MatomoError, MatomoRequestError

LIVE_METHOD = "Live.getLastVisitsDetails"

#: Records (visits and actions) one HTTP request may bring or find waiting for the days after
#: the current one. Matomo builds the whole answer of a bulk request in memory before sending
#: it, and the tap holds the decoded visits until they are emitted: 15,000 records are about
#: 15 MB of JSON, 37 MB decoded (2,500 visits with 4.3 actions each, bench/visit_log.py).
RECORDS_PER_REQUEST = 15_000
#: Actions per visit expected before any visit is read (the recorded visits have 4.3).
ASSUMED_ACTIONS_PER_VISIT = 5

Fetch = Callable[[Sequence[ApiCall]], Iterable[tuple[ApiCall, Any]]]


def local_date(timestamp: int, tz_name: str) -> date:
    """The site-local calendar day of a Unix time (a visit counts on the day of its last action)."""
    moment = pendulum.from_timestamp(timestamp, tz=site_timezone(tz_name))
    return date(moment.year, moment.month, moment.day)


def day_start(day: date, tz_name: str) -> int:
    """Unix time of the site-local midnight that starts ``day``."""
    return pendulum.datetime(day.year, day.month, day.day, tz=site_timezone(tz_name)).int_timestamp


def one_row(visit: Mapping[str, Any]) -> int:
    """The rows a visit takes of Matomo's limit without a segment: one."""
    return 1


def segment_rows(visit: Mapping[str, Any]) -> int:
    """The most rows a visit may take of Matomo's limit with a segment: one per action.

    With an action-level segment Matomo's query has a row per matching action, and the limit
    counts those rows before they are merged into visits (issues #7784, #7890).
    """
    actions = visit.get("actions")
    counted = int(actions) if isinstance(actions, int | str) and str(actions).isdigit() else 0
    return max(1, counted, len(visit.get("actionDetails") or ()))


@dataclass
class VisitCursor:
    """Where the next page starts: a second, and the visits already seen that end at it.

    ``minTimestamp`` is strict, so the next request asks for ``second - 1`` and gets the
    ``seen_at_second`` visits already read at that second first: the limit grows by the rows
    they take of it (``rows_at_second``: one a visit, or one an action with a segment), so
    that they never fill a page and hide the visits after them.
    """

    second: int
    seen_at_second: int = 0
    rows_at_second: int = 0

    def params(self, page_size: int) -> dict[str, str]:
        """The cursor's part of the request."""
        return {
            "minTimestamp": str(self.second - 1),
            "filter_limit": str(page_size + self.rows_at_second),
        }

    def advance(
        self, rows: Sequence[Mapping[str, Any]], rows_of: Callable[[Mapping[str, Any]], int]
    ) -> None:
        """Move to the last second of a page (rows in ascending time order)."""
        if not rows:
            return
        last = max(int(row["lastActionTimestamp"]) for row in rows)
        at_last = [row for row in rows if int(row["lastActionTimestamp"]) == last]
        taken = sum(rows_of(row) for row in at_last)
        if last > self.second:
            self.second = last
            self.seen_at_second, self.rows_at_second = len(at_last), taken
        else:
            self.seen_at_second = max(self.seen_at_second, len(at_last))
            self.rows_at_second = max(self.rows_at_second, taken)


@dataclass
class DayPages:
    """One site-local day being read: its cursor, and the pages read but not handed out yet."""

    day: date
    cursor: VisitCursor
    #: Visits of this day read so far (for the paging decisions; the run dedupes on its own).
    seen: set[int] = field(default_factory=set)
    waiting: deque[list[dict[str, Any]]] = field(default_factory=deque)
    #: Records (visits and actions) in ``waiting``.
    held: int = 0
    pages_asked: int = 0
    done: bool = False

    def keep(self, page: list[dict[str, Any]]) -> int:
        """Keep a page to hand out later; its records (visits and actions)."""
        records = len(page) + sum(len(row.get("actionDetails") or ()) for row in page)
        self.waiting.append(page)
        self.held += records
        return records

    def next_page(self) -> list[dict[str, Any]]:
        """The oldest page waiting."""
        page = self.waiting.popleft()
        self.held -= len(page) + sum(len(row.get("actionDetails") or ()) for row in page)
        return page


def _raise_live_error(exc: MatomoError, site_id: int) -> None:
    """Live's own errors, with what to do about them."""
    text = exc.detail
    if "visits log is deactivated" in text.lower():
        raise MatomoError(
            f"the visits log of site {site_id} is deactivated ({text.rstrip('.')}). Enable it "
            "in Matomo (globally: Administration > System > General settings > Live; per site: "
            "Administration > Websites > Manage, the site's visits log option), or deselect "
            "the streams `visits` and `visit_actions`.",
            method=LIVE_METHOD,
        ) from exc
    if "Could not run the query in time" in text:
        raise MatomoError(
            f"{text.rstrip('.')} (site {site_id}). Lower `visits_page_size`, or raise Matomo's "
            "`live_query_max_execution_time`.",
            method=LIVE_METHOD,
        ) from exc
    raise exc


def _check_visit(row: Mapping[str, Any], call: ApiCall, site_id: int) -> None:
    """A visit must carry the integer id and last action time that paging and keys rely on."""
    for key in ("idVisit", "lastActionTimestamp"):
        value = row.get(key)
        text = value.strip() if isinstance(value, str) else None
        if isinstance(value, bool) or not (
            isinstance(value, int) or (text and text.isascii() and text.isdigit())
        ):
            visit = "" if key == "idVisit" else f", idVisit {row.get('idVisit')!r}"
            raise MatomoRequestError(
                f"site {site_id}, {call.params.get('date')}: a visit without a usable `{key}` "
                f"(got {value!r}{visit})",
                method=LIVE_METHOD,
            )


class VisitLogReader:
    """The visit log of one site over a window of days, as pages of visits in time order."""

    def __init__(
        self,
        fetch: Fetch,
        *,
        site_id: int,
        timezone: str,
        window: DateWindow,
        first_second: int,
        page_size: int,
        segment: str | None = None,
        max_calls: int = 50,
        records_per_request: int | None = None,
    ) -> None:
        self._fetch = fetch
        self.site_id = site_id
        self.timezone = timezone
        self.window = window
        self.first_second = first_second
        self.page_size = page_size
        self.segment = segment
        self.max_calls = max(1, max_calls)
        self.records_per_request = records_per_request or RECORDS_PER_REQUEST
        #: Visits and actions read so far (for the actions expected per visit).
        self._visits_read = self._actions_read = 0
        self._days: deque[DayPages] = deque()
        self._next_day = window.start

    def pages(self) -> Iterator[list[dict[str, Any]]]:
        """Visits not handed out before, in ascending last-action order.

        In batches of the pages read so far, of about ``page_size`` visits (whatever the days'
        sizes): the parent hands the actions of a batch to its child stream in one sync.
        """
        emitted: set[int] = set()
        while True:
            batch = []
            for row in self._ready():
                visit_id = int(row["idVisit"])
                if visit_id not in emitted:  # a visit at midnight, read in two days
                    emitted.add(visit_id)
                    batch.append(row)
            if batch:
                yield batch
            head = self._head()
            if head is None:
                return
            if not head.waiting and not head.done:
                self._read(self._plan())

    def _ready(self) -> list[dict[str, Any]]:
        """The pages that can be handed out now, in order, up to about ``page_size`` visits."""
        batch: list[dict[str, Any]] = []
        while len(batch) < self.page_size and (head := self._head()) is not None:
            if head.waiting:
                batch += head.next_page()
            elif head.done:
                self._days.popleft()
            else:
                break
        return batch

    # -- planning ------------------------------------------------------------------------------

    def _head(self) -> DayPages | None:
        if not self._days:
            self._open_day()
        return self._days[0] if self._days else None

    def _open_day(self) -> DayPages | None:
        """Start the next day of the window, if any is left."""
        if self._next_day > self.window.end:
            return None
        start = day_start(self._next_day, self.timezone)
        day = DayPages(self._next_day, VisitCursor(max(start, self.first_second)))
        self._days.append(day)
        self._next_day += timedelta(days=1)
        return day

    def _records_per_visit(self) -> float:
        """A visit and its actions, as read so far in this window."""
        if not self._visits_read:
            return 1 + ASSUMED_ACTIONS_PER_VISIT
        return 1 + self._actions_read / self._visits_read

    def _plan(self) -> list[tuple[DayPages, int]]:
        """The days whose next page goes in the next request, and each page's size.

        The current day's page always, whole. Then the following days' while the visits they
        may bring and the records already waiting fit :data:`RECORDS_PER_REQUEST`, each asked
        for its share of the budget, and the days that filled a page already for what the
        budget has left: so one request covers as many small days as a bulk request holds,
        and busy days go on with bigger pages.
        """
        planned = [(self._days[0], self.page_size)]
        per_visit = self._records_per_visit()
        visits = (self.records_per_request - sum(day.held for day in self._days)) / per_visit
        share = self.page_size
        if self.max_calls > 1:
            share = self.records_per_request / per_visit / (self.max_calls - 1)
            share = max(1, min(self.page_size, int(share)))
        index = 1
        while len(planned) < self.max_calls:
            day = self._days[index] if index < len(self._days) else self._open_day()
            if day is None:
                break
            index += 1
            if day.done:
                continue
            if visits < share:
                break
            visits -= share
            planned.append((day, share))
        # What the budget has left goes to the days that filled a page already (busy days).
        for position, (day, size) in enumerate(planned[1:], start=1):
            if day.pages_asked and visits >= 1:
                more = int(min(self.page_size - size, visits))
                planned[position] = (day, size + more)
                visits -= more
        return planned

    def _call(self, day: DayPages, size: int) -> ApiCall:
        params = {
            "idSite": str(self.site_id),
            "period": "day",
            "date": day.day.isoformat(),
            "filter_sort_order": "asc",
            "language": "en",
            **day.cursor.params(size),
        }
        if self.segment:
            params["segment"] = self.segment
        return ApiCall(LIVE_METHOD, params)

    # -- reading -------------------------------------------------------------------------------

    def _read(self, planned: list[tuple[DayPages, int]]) -> None:
        calls = [self._call(day, size) for day, size in planned]
        for (day, _), (call, answer) in zip(planned, self._fetch(calls), strict=True):
            rows = self._rows(call, answer)
            day.pages_asked += 1
            self._take(day, rows, int(call.params["filter_limit"]))

    def _rows(self, call: ApiCall, answer: Any) -> list[dict[str, Any]]:
        if isinstance(answer, MatomoError):
            _raise_live_error(answer, self.site_id)
        if not isinstance(answer, list):
            raise MatomoError(
                f"expected a list of visits, got {type(answer).__name__}", method=LIVE_METHOD
            )
        rows = [row for row in answer if isinstance(row, dict)]
        for row in rows:
            _check_visit(row, call, self.site_id)
        return sorted(rows, key=lambda r: (int(r["lastActionTimestamp"]), int(r["idVisit"])))

    def _take(self, day: DayPages, rows: list[dict[str, Any]], limit: int) -> None:
        """Keep a day's page and decide whether the day has more."""
        fresh = [row for row in rows if int(row["idVisit"]) not in day.seen]
        day.seen.update(int(row["idVisit"]) for row in fresh)
        if fresh:
            records = day.keep(fresh)
            self._visits_read += len(fresh)
            self._actions_read += records - len(fresh)
        before = (day.cursor.second, day.cursor.seen_at_second)
        day.cursor.advance(rows, segment_rows if self.segment else one_row)
        if len(rows) < limit and not (self.segment and fresh):
            # The day holds no more visits after these. With a segment, Matomo's limit counts
            # rows before merging a visit's matching actions (issues #7784, #7890): a short
            # page ends the day only when it brings nothing new.
            day.done = True
        elif not fresh and (day.cursor.second, day.cursor.seen_at_second) == before:
            raise MatomoError(
                f"site {self.site_id}, {day.day}: a full page brought no new visit, so "
                "Matomo ignores `minTimestamp`; this Matomo version cannot be paged safely.",
                method=LIVE_METHOD,
            )
