"""RECORD messages without the SDK's per-record walks, for streams whose records need none.

The SDK walks every property of every record twice before writing it: once to drop deselected
properties, once to conform types. Report records are typed from the same catalog entry as the
schema (``TYPE_CONFORMANCE_LEVEL`` NONE turns the second walk off) and, unless a property is
deselected in the catalog, the first walk removes nothing: it cost a tenth of a report sync's
CPU time (bench/throughput.py). Stream maps still apply.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from typing import Any

from singer_sdk import Stream
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.singerlib import RecordMessage
from typing_extensions import override


class LeanRecords(Stream):
    """A stream whose records skip the SDK's walks when they would change nothing."""

    @cached_property
    def _lean(self) -> bool:
        """True when no property is deselected and no type pass is asked for."""
        no_pass = self.TYPE_CONFORMANCE_LEVEL == TypeConformanceLevel.NONE
        return no_pass and all(self.mask.values())

    @override
    def _generate_record_messages(self, record: dict[str, Any]) -> Iterator[RecordMessage]:
        if not self._lean:
            yield from super()._generate_record_messages(record)
            return
        for stream_map in self.stream_maps:  # what the SDK does after its two walks
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=self._stream_version,
                    time_extracted=utc_now(),
                )
