"""Singer messages written with msgspec: the SDK's own writer from ``singer_sdk.contrib``.

The SDK's default writer encodes each message with simplejson (about 13 us a record, as much
as everything else the tap does with it) and flushes stdout after every message. msgspec
encodes the same JSON in about 1 us. Records are flushed with the next non-record message
(SCHEMA, STATE...), so a STATE never reaches the target before the records it covers, and
writing a record costs no system call of its own.
"""

from __future__ import annotations

import dataclasses
import sys
from datetime import datetime
from typing import Any

from singer_sdk.contrib.msgspec import MsgSpecWriter, serialize_jsonl
from singer_sdk.helpers._state import StateWriter
from singer_sdk.singerlib import RecordMessage, StateMessage
from singer_sdk.singerlib.encoding.simple import Message
from typing_extensions import override


class SingerWriter(MsgSpecWriter):
    """The SDK's msgspec writer, also for a text-only stdout (in-process runs, tests)."""

    @override
    def serialize_message(self, message: Message) -> bytearray:
        """The SDK's line, without its deep copy of a SCHEMA's schema or a STATE's state.

        The SDK turns other messages than records into dicts with ``dataclasses.asdict``,
        which copies every nested dict and list only for them to be encoded at once. Its
        ``None`` fields are left out as the SDK does; nested values are encoded as they are.
        """
        if isinstance(message, RecordMessage):
            return super().serialize_message(message)
        fields: dict[str, Any] = {}
        for field in dataclasses.fields(message):
            value = getattr(message, field.name)
            if value is not None:
                fields[field.name] = value
        return serialize_jsonl(fields)

    def write_record(
        self,
        stream: str,
        record: dict[str, Any],
        version: int | None,
        time_extracted: datetime | None,
    ) -> None:
        """The line of ``RecordMessage(...)``, without making the message.

        Its dataclass and checks cost as much as encoding the record. The keys are those its
        ``to_dict`` gives, in order (tests/test_record_messages.py compares the lines).
        """
        message: dict[str, Any] = {"type": "RECORD", "stream": stream, "record": record}
        if version is not None:
            message["version"] = version
        if time_extracted is not None:
            message["time_extracted"] = time_extracted
        self._write(serialize_jsonl(message), flush=False)

    @override
    def write_message(self, message: Message) -> None:
        if isinstance(message, RecordMessage):
            self._write(self.format_message(message), flush=False)
        else:
            self._write(self.format_message(message), flush=True)

    @staticmethod
    def _write(line: bytes | bytearray, *, flush: bool) -> None:
        """Write the encoder's shared buffer now (the next message reuses it)."""
        out = sys.stdout
        binary = getattr(out, "buffer", None)
        if binary is None:
            out.write(line.decode())
        else:
            binary.write(line)
        if flush:
            out.flush()


class StateLines(StateWriter):
    """The SDK's STATE writer, remembering the last line written instead of the state.

    The SDK skips a STATE message equal to the last one, which it keeps as a deep copy of the
    whole state: with many partitions (sites x report streams) that copy after every STATE
    cost more than the records (7.7 of 33 s for 150 sites and a day). The line is made anyway;
    an unchanged state gives the same line.
    """

    def __init__(self, message_writer: SingerWriter) -> None:
        super().__init__(message_writer)
        self._writer = message_writer
        self._last_line: bytes | None = None

    @override
    def write_state(self, state: dict[str, Any]) -> None:
        line = bytes(self._writer.format_message(StateMessage(value=state)))
        if line != self._last_line:
            self._writer._write(line, flush=True)
            self._last_line = line
