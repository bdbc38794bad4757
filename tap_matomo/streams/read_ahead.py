"""Reading ahead: a partition's calls go out with the calls of the partitions synced after it.

Streams are synced one partition (site, item) at a time, in the order of the tap's streams.
Sending a partition's calls alone would make one request per stream and site; sending them
with the calls of the next partitions (the stream's next sites, then the next selected report
streams) in ``API.getBulkRequest`` makes the request count follow the number of calls. The
answers wait in the run (``MatomoRun.prefetch``) until their partition's turn, so what is read
ahead is bounded: calls per request, requests at once, rows (``READ_AHEAD_ROWS``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from singer_sdk.helpers.types import Context

from tap_matomo.errors import MatomoError
from tap_matomo.runtime import READ_AHEAD_ROWS, Position

if TYPE_CHECKING:
    from tap_matomo.streams.reports import PlannedCall, ReportStream


def read_ahead(stream: ReportStream, context: Context, planned: list[PlannedCall]) -> None:
    """Send this partition's calls with the calls that come next, in bulk requests.

    What comes next: the stream's other partitions (sites, items), then the partitions of
    the selected report streams synced after it. So a sync sends about one request per
    `bulk_request_size` calls, whatever the number of sites and reports. What is sent
    ahead is held until its partition's turn: one request at a time, at most
    `bulk_request_size` calls; side by side, that many calls per request twice for each
    request that may run at once (`max_concurrent_requests`), and one more; and about
    `READ_AHEAD_ROWS` rows. With requests
    running side by side, a partition whose calls were sent ahead still tops the read-ahead up
    when a request may start, so the server works while the records of earlier answers are
    written. The first partitions of reports not seen yet send only their first call, and the
    other partitions of such a report wait for its answer: their calls are sized from it.
    """
    run = stream.run
    position = _position(stream, context)
    run.forget_before(position)
    # the partition's own calls too hold at most about READ_AHEAD_ROWS rows at once: the rest
    # are fetched as they are needed (MatomoRun.fetch)
    rows = run.held_rows(besides=[p.call for p in planned])
    own: list[tuple[PlannedCall, int]] = []
    for plan in _probe(stream, planned):
        expected = stream.expected_rows(plan)
        if own and rows + expected > READ_AHEAD_ROWS:
            break
        own.append((plan, expected))
        rows += expected
    missing = not all(run.is_fetched(p.call) for p, _ in own)
    if not missing and (run.pool.inline or not run.pool.has_room):
        return
    size = run.settings.bulk_request_size
    # one at a time, the next calls join the request being sent; side by side, twice the
    # requests that may run at once and one more wait ready, so the server never idles while
    # records of earlier answers are written (stretches of reports read a day per call, e.g.
    # VisitTime.getByDayOfWeek, fill requests with calls of a few rows each)
    capacity = size if run.pool.inline else size * (2 * run.pool.limit + 1)
    window = [(p.call, position, expected) for p, expected in own]
    count = len(own)
    if len(own) < len(_probe(stream, planned)):  # the partition alone fills the budget
        run.prefetch(window)
        return
    out_of_calls = False
    for other, following, where in _upcoming(stream, context):
        calls = other.sent_ahead.get(where[1])
        if calls is not None:  # all sent, and so until its turn: counted, not planned again
            if count + calls > capacity:
                out_of_calls = True
                break
            if rows > READ_AHEAD_ROWS:
                break
            count += calls
            continue
        if other.unseen and (other is stream or where[1] > 0):
            continue  # its first partition's answer sizes the others' calls
        if other.spec.variants_of and run.lists_pending(other.spec.variants_of.entries):
            continue  # planned from a list (goals...) still on its way: not waited for here
        try:
            more = _probe(other, other._partition_plan(following))
        except MatomoError:
            break  # e.g. a missing plugin: that stream says so when its turn comes
        new = [(p, other.expected_rows(p)) for p in more if not run.is_fetched(p.call)]
        if not new and not other.unseen:
            # the scan passes a partition up to 2 x capacity times before its turn: once its
            # plan is whole (its report seen) and sent, it is only counted
            other.sent_ahead[where[1]] = len(more)
        added = sum(expected for _, expected in new)
        if count + len(more) > capacity:
            out_of_calls = True
            break
        if rows + added > READ_AHEAD_ROWS:
            break
        count += len(more)
        rows += added
        window.extend((p.call, where, expected) for p, expected in new)
    unsent = [entry for entry in window if not run.is_fetched(entry[0])]
    # a top-up sends full requests, or what the row budget lets in (more calls will not fit)
    if missing or len(unsent) >= size or (unsent and not out_of_calls):
        run.prefetch(window)


def read_lists_ahead(stream: ReportStream) -> None:
    """Send the per-site lists (goals, custom dimensions) the selected reports are read by.

    Before the first partition is planned: a stream read per goal needs the list to plan its
    calls, and the lists of every source then share one request (``MatomoRun.read_lists_ahead``).
    """
    from tap_matomo.streams.reports import ReportStream

    if stream.run.lists_read_ahead:
        return  # once a run: the selection does not change meanwhile
    stream.run.read_lists_ahead(
        other.spec.variants_of.entries
        for other in stream._tap.streams.values()
        if isinstance(other, ReportStream) and other.selected and other.spec.variants_of
    )


def _probe(stream: ReportStream, planned: list[PlannedCall] | None) -> list[PlannedCall]:
    """The calls of a partition to read ahead: only the first of a report not seen yet.

    Its answer tells how many rows a period has; the others are then sized from it (see
    ``ReportStream._replan``) instead of guessed, so a big report never comes in one answer.
    """
    if not planned:
        return []
    return planned[:1] if stream.unseen else planned


def _position(stream: ReportStream, context: Context) -> Position:
    """Where the partition comes in the sync (stream order, then partition order)."""
    partitions = stream.partitions or []
    index = partitions.index(context) if context in partitions else 0
    return _stream_index(stream), index


def _stream_index(stream: ReportStream) -> int:
    return list(stream._tap.streams).index(stream.name)


def _upcoming(
    stream: ReportStream, context: Context
) -> Iterator[tuple[ReportStream, Context, Position]]:
    """The partitions synced after this one, in the SDK's order, with their positions.

    That is the order of the tap's ``streams`` (the SDK sorts them by name), which
    ``sync_all`` follows too.
    """
    from tap_matomo.streams.reports import ReportStream

    partitions = stream.partitions or []
    here = _stream_index(stream)
    if context in partitions:
        start = partitions.index(context) + 1
        for index, following in enumerate(partitions[start:], start):
            yield stream, following, (here, index)
    streams = list(stream._tap.streams.values())
    for offset, other in enumerate(streams[here + 1 :], here + 1):
        if not (isinstance(other, ReportStream) and other.selected):
            continue
        if other.plugin_missing:
            continue
        for index, following in enumerate(other.partitions or []):
            yield other, following, (offset, index)
