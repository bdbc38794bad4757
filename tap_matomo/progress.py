"""Progress a user can follow: one line per stream and partition (site, page, step...).

The SDK counts a stream's records over all its partitions and logs the count once, tagged with
the last partition only. :class:`PartitionProgress` is the stream's record counter instead (the
SDK's ``get_record_counter`` hook): when a partition ends it logs one INFO line with the days
read, the records and the HTTP requests, and the SDK's own ``record_count`` and
``http_request_count`` metrics tagged with that partition. The SDK's "Starting incremental
sync" line gets the partition too (:class:`NameThePartition`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from singer_sdk import metrics
from typing_extensions import override

if TYPE_CHECKING:
    from types import TracebackType

    from tap_matomo.dates import DateWindow

#: The SDK's line at the start of each partition of an incremental stream (singer-sdk 0.54).
SDK_START_LINE = "Starting incremental sync of '%s' with bookmark value: %s"


def describe(context: Mapping[str, Any] | None) -> str:
    """A partition for people: ``site 3``, ``site 3, page_url https://...``."""
    if not context:
        return "all sites"
    parts = [f"site {context['site_id']}"] if "site_id" in context else []
    parts += [f"{key} {value}" for key, value in context.items() if key != "site_id"]
    return ", ".join(parts)


class PartitionProgress(metrics.Counter):
    """A stream's record counter that reports each partition when it ends."""

    def __init__(
        self,
        stream_name: str,
        logger: logging.Logger,
        *,
        requests_sent: Callable[[], int],
        window: Callable[[], DateWindow | None],
        log_interval: float = metrics.DEFAULT_LOG_INTERVAL,
        child: bool = False,
    ) -> None:
        super().__init__(
            metrics.Metric.RECORD_COUNT, {metrics.Tag.STREAM: stream_name}, log_interval
        )
        self.stream_name = stream_name
        self.stream_logger = logger
        self._requests_sent = requests_sent
        self._window = window
        #: A child stream (`visit_actions`) is synced once per parent page: its lines are
        #: DEBUG, the parent's line covers the partition.
        self._level = logging.DEBUG if child else logging.INFO
        self._open = False
        self._records = 0
        self._requests_at_start = 0
        self._started = 0.0

    @override
    def with_context(self, value: Mapping[str, Any] | None) -> None:  # type: ignore[override]
        """A partition starts (the SDK calls this first): the previous one has ended."""
        self._finish()
        self.tags = dict(self.tags)  # the metrics already logged keep their own partition
        super().with_context(value)  # type: ignore[arg-type]
        self._open = True
        self._records = 0
        self._started = time.monotonic()
        self._requests_at_start = self._requests_sent()

    @override
    def increment(self, value: int = 1) -> None:
        self._records += value
        super().increment(value)

    @override
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        self._finish(failed=exc_type is not None)

    def _finish(self, *, failed: bool = False) -> None:
        """Log the partition's line and its metrics, once."""
        if not self._open:
            return
        self._open = False
        requests = self._requests_sent() - self._requests_at_start
        self.stream_logger.log(
            self._level,
            "%s '%s'%s: %s%s, %s in %.1fs.",
            "Stopped" if failed else "Synced",
            self.stream_name,
            f", {describe(self.context)}" if self.context else "",
            self._days(),
            _count(self._records, "record"),
            _count(requests, "request")
            + (" (read ahead)" if not requests and self._records else ""),
            time.monotonic() - self._started,
        )
        self._pop()  # the SDK's record_count metric, tagged with this partition
        metrics.log(
            self.logger,
            metrics.Point("counter", metrics.Metric.HTTP_REQUEST_COUNT, requests, self.tags),
        )

    def _days(self) -> str:
        """The days read (``2026-11-20 to 2026-11-26, ``), or that there were none."""
        window = self._window()
        if window is not None:
            return f"{window.start} to {window.end}, "
        return "nothing new to read, " if self.context and not self._records else ""


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


class NameThePartition(logging.Filter):
    """Adds the partition to the SDK's "Starting incremental sync of 'x'" line."""

    def __init__(self, progress: Callable[[], PartitionProgress | None]) -> None:
        super().__init__()
        self._progress = progress

    @override
    def filter(self, record: logging.LogRecord) -> bool:
        progress = self._progress()
        if record.msg == SDK_START_LINE and progress is not None and progress.context:
            name, value = record.args  # type: ignore[misc]
            record.msg = "Starting incremental sync of '%s', %s, with bookmark value: %s"
            record.args = (name, describe(progress.context), value)
        return True
