"""The base of every tap-matomo stream: access to the run's shared client, settings and sites."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any

from singer_sdk import Stream, metrics
from singer_sdk import typing as th
from singer_sdk.helpers._typing import conform_record_data_types
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.singerlib import RecordMessage, SelectionMask
from singer_sdk.singerlib.catalog import REPLICATION_INCREMENTAL
from typing_extensions import override

from tap_matomo.output import SingerWriter
from tap_matomo.progress import NameThePartition, PartitionProgress
from tap_matomo.schemas import bound_integers

if TYPE_CHECKING:
    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_matomo.dates import DateWindow
    from tap_matomo.runtime import MatomoRun

#: The site column of every stream (the partition key of the partitioned ones).
SITE_ID_PROPERTY = th.Property(
    "site_id", th.IntegerType, required=True, description="Matomo site id (idSite)."
)


#: Key of a partition's state beside its bookmark: what the bookmark was read with.
READ_WITH = "read_with"
#: The settings that set each part of a bookmark's basis (for the warning when one changed).
BASIS_SETTINGS = {"period": "`period`/`period_overrides`", "segment": "`segment`"}


def stale_partitions(stream: MatomoStream, state: dict[str, Any]) -> list[dict[str, Any]]:
    """The partitions of ``stream`` whose bookmark was written with another basis.

    A day bookmark moved to a week's start skips the days between, a segment's bookmark the
    visits of the new one before it. A state written before `read_with` was kept holds.
    """
    if not stream.uses_bookmarks:
        return []
    now = stream.bookmark_basis()
    partitions = state.get("bookmarks", {}).get(stream.tap_stream_id, {}).get("partitions", [])
    return [
        partition
        for partition in partitions
        if isinstance(partition.get(READ_WITH), dict)
        and partition.get("replication_key_value")
        and any(partition[READ_WITH].get(key) != value for key, value in now.items())
    ]


class MatomoStream(Stream):
    """A stream that reads Matomo through the run's shared :class:`MatomoRun`."""

    def __init__(
        self,
        tap: Tap,
        run: MatomoRun,
        *,
        name: str | None = None,
        schema: dict[str, Any] | None = None,
    ) -> None:
        self.run = run
        #: The site-local days the current partition reads, for its progress line (streams
        #: that read a window set it in `get_records`).
        self.reading: DateWindow | None = None
        self._progress: PartitionProgress | None = None
        #: The partition and its state of the last bookmark increment (see below).
        self._last_increment: tuple[Context | None, dict[str, Any]] | None = None
        super().__init__(tap, schema=schema, name=name)
        bound_integers(self.schema)
        # Loggers are global, streams are not: the stream of the running tap names partitions.
        for old in [f for f in self.logger.filters if isinstance(f, NameThePartition)]:
            self.logger.removeFilter(old)
        self.logger.addFilter(NameThePartition(lambda: self._progress))

    @override
    def get_record_counter(
        self, *, endpoint: str | None = None, log_interval: float = metrics.DEFAULT_LOG_INTERVAL
    ) -> metrics.Counter:
        """One progress line and the SDK's metrics per partition (see `tap_matomo.progress`)."""
        self.reading = None
        self._progress = PartitionProgress(
            self.name,
            self.logger,
            requests_sent=lambda: self.run.request_count,
            window=self._take_window,
            log_interval=log_interval,
            child=self.parent_stream_type is not None,
        )
        return self._progress

    def _take_window(self) -> DateWindow | None:
        window, self.reading = self.reading, None
        return window

    @override
    def log(self, message: str, *args: Any, level: int = logging.INFO, **kwargs: Any) -> None:
        """Log; the SDK's "unhandled error" line is INFO: the error is reported elsewhere.

        The command line (cli.py) logs every failure as the run's one ERROR line, which says
        what to fix (a bug's traceback at DEBUG); the record limit of `--test` aborts every
        stream on purpose. Used as a library, the exception reaches the caller.
        """
        if level == logging.ERROR and sys.exc_info()[1] is not None:
            level = logging.INFO
        super().log(message, *args, level=level, **kwargs)

    @property
    def site_partitions(self) -> list[dict[str, Any]]:
        """One partition per configured site."""
        return [{"site_id": site.site_id} for site in self.run.sites]

    def _left_out_columns(self) -> tuple[str, ...]:
        """Columns of the tap's schema that the catalog's schema of the stream does not have.

        A catalog may drop a column from a stream's schema instead of deselecting it; the
        SCHEMA message is the catalog's, so its records leave the column out too (the SDK drops
        such columns only when it conforms types, which the tap's typed records skip).
        """
        left_out: tuple[str, ...] | None = getattr(self, "_left_out", None)
        if left_out is None:
            kept = self.effective_schema.get("properties", {})
            left_out = self._left_out = tuple(c for c in self.schema["properties"] if c not in kept)
            if left_out:
                self.logger.info(
                    "Stream '%s': the catalog's schema has no %s; left out of its records.",
                    self.name,
                    ", ".join(f"'{column}'" for column in left_out),
                )
        return left_out

    def _deselects_properties(self) -> bool:
        """True when the catalog deselects a property of this stream (checked once per mask)."""
        mask = self.mask
        if getattr(self, "_checked_mask", None) is not mask:
            self._checked_mask: SelectionMask | None = mask
            self._deselected = any(not selected for crumb, selected in mask.items() if crumb)
        return self._deselected

    @override
    def _process_record(
        self,
        record: dict[str, Any],
        child_context: Context | None = None,
        partition_context: Context | None = None,
    ) -> None:
        """The SDK's, which for a stream without child streams only adds the partition's keys.

        The SDK also asks every record for a child context and evaluates the stream map's
        filter on it, to sync child streams that only the visit log has.
        """
        if self.child_streams:
            super()._process_record(record, child_context, partition_context)
            return
        for key, value in (partition_context or {}).items():
            record.setdefault(key, value)  # the partition's keys, unless the record has them

    @override
    def _increment_stream_state(
        self, latest_record: dict[str, Any], *, context: Context | None = None
    ) -> None:
        """The SDK's, skipped while the partition's bookmark already holds the record's value.

        The records of a report's date share its bookmark value; the SDK looks the partition's
        state up for each of them anyway (a tenth of a reports sync's CPU time). The state it
        would write is checked, so a bookmark changed meanwhile is still moved. Only for sorted
        streams, whose bookmark the SDK keeps there (not in progress markers).
        """
        value = latest_record.get(self.replication_key or "")
        last = self._last_increment
        if (
            last is not None
            and self.is_sorted
            and self.state_partitioning_keys is None
            and last[0] is context
            and type(value) is str
            and last[1].get("replication_key_value") == value
        ):
            return
        super()._increment_stream_state(latest_record, context=context)
        state = self.get_context_state(context)
        if self.uses_bookmarks:
            self._bookmark_written(state)
        self._last_increment = (context, state)

    @property
    def uses_bookmarks(self) -> bool:
        """False when the catalog asks for FULL_TABLE (e.g. Meltano's `replication-method`).

        The SDK then writes no bookmark, and none is read: every run reads the whole window.
        """
        return self.replication_method == REPLICATION_INCREMENTAL

    def bookmark_basis(self) -> dict[str, Any]:
        """What this stream's bookmarks mean with: kept beside each one (`read_with`).

        A bookmark read with a segment says nothing of the visits or rows of another (nor of
        none); reports add their period (see ``ReportStream``).
        """
        return {"segment": self.run.settings.segment}

    def _bookmark_written(self, state: dict[str, Any]) -> None:
        """Called with a partition's state each time its bookmark is written."""
        state[READ_WITH] = self.bookmark_basis()

    @override
    def _write_record_message(self, record: dict[str, Any]) -> None:
        """The SDK's record messages, without its search for deselected properties.

        The SDK walks every property of every record (and of its nested objects) looking for
        properties the catalog deselects: a tenth of the CPU time of a visit log record
        (bench/visit_log.py). When the catalog deselects none, there is nothing to find (and
        streams whose records are typed from their schema skip the SDK's typing too); when it
        deselects some, the SDK's own method runs.
        """
        for column in self._left_out_columns():
            record.pop(column, None)
        if self._deselects_properties():
            super()._write_record_message(record)
            return
        if self.TYPE_CONFORMANCE_LEVEL != TypeConformanceLevel.NONE:
            record = conform_record_data_types(
                stream_name=self.name,
                record=record,
                schema=self.effective_schema,
                level=self.TYPE_CONFORMANCE_LEVEL,
                logger=self.logger,
            )
        writer = self._tap.message_writer
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is None:  # the map filters the record out
                continue
            if isinstance(writer, SingerWriter):
                writer.write_record(
                    stream_map.stream_alias, mapped, self._stream_version, utc_now()
                )
            else:
                self._tap.write_message(
                    RecordMessage(
                        stream=stream_map.stream_alias,
                        record=mapped,
                        version=self._stream_version,
                        time_extracted=utc_now(),
                    )
                )
        self.state_manager.is_flushed = False
