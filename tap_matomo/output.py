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
from typing import Any

from singer_sdk.contrib.msgspec import MsgSpecWriter, serialize_jsonl
from singer_sdk.singerlib import RecordMessage
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

    @override
    def write_message(self, message: Message) -> None:
        line = self.format_message(message)  # the encoder's shared buffer: write it now
        out = sys.stdout
        binary = getattr(out, "buffer", None)
        if binary is None:
            out.write(line.decode())
        else:
            binary.write(line)
        if not isinstance(message, RecordMessage):
            out.flush()
