"""Report answers held as their JSON text until their partition's turn, and their sizes.

Answers sent for ahead wait in the run (``MatomoRun.prefetch``) until their stream emits them.
Decoded, a row of a page URL report takes about 3.5 KB (a dict of some 45 values); as JSON
text, about 1.7 KB, and a small report's row a third of its decoded size. So an answer that
arrives is only checked and measured (its rows and periods: what the read-ahead budget counts
and chunk sizing learns from), and decoded when its stream takes it: the read-ahead holds
twice the rows in the same memory, and the threads that receive answers side by side no longer
hold the interpreter lock decoding them while records are written.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

#: What an answer is checked against when it arrives: its outline down to the rows of each
#: period, which stay text (``msgspec.Raw``). Any JSON fits it.
_Scalar = int | float | str | bool | None
_Outline = (
    list[msgspec.Raw] | dict[str, list[msgspec.Raw] | dict[str, msgspec.Raw] | _Scalar] | _Scalar
)
#: What cannot be read this way (a syntax error, nesting too deep): the caller decodes the
#: whole body as it did before (``client._json_body``), so every body is accepted or refused
#: as before.
UNREADABLE = (msgspec.DecodeError, msgspec.ValidationError, RecursionError)


class Unreadable(ValueError):
    """A JSON text that neither decoder reads (e.g. a number of 5,000 digits).

    A body that is one is a malformed answer, retried and then named (``client._decode``). A
    held answer's outline skips its rows, so it may be one only when taken: the caller then
    asks for the call again, decoded at once.
    """


def decode(text: bytes) -> Any:
    """The value of a UTF-8 JSON text (a body, or an answer held as text).

    msgspec decodes it from the bytes, several times faster than ``json.loads`` of the text,
    to the same values (big integers included). What msgspec refuses (invalid UTF-8, ``NaN``,
    lone surrogates, floats out of range, any syntax error) is left to ``json.loads`` of the
    text as requests makes it (invalid bytes replaced), so every body it accepted or refused
    still is; what that refuses too raises :class:`Unreadable`.
    """
    try:
        return msgspec.json.decode(text)
    except UNREADABLE:
        pass
    try:
        return json.loads(str(text, "utf-8", errors="replace"))
    except (ValueError, RecursionError) as exc:  # nested deeper than any answer of Matomo's
        raise Unreadable(str(exc)) from None


def is_error(payload: Any) -> bool:
    """True for Matomo's error envelope (``{"result": "error", "message": ...}``)."""
    return isinstance(payload, dict) and payload.get("result") == "error" and "message" in payload


class HeldAnswer:
    """One call's answer as JSON text, with the sizes read from its outline."""

    __slots__ = ("period_rows", "periods", "rows", "text", "type_name")

    def __init__(self, text: bytes, outline: Any) -> None:
        self.text = text
        self.type_name = type(outline).__name__  # list or dict
        self.rows = row_total(outline)
        self.periods = periods(outline)
        self.period_rows = period_rows(outline)

    def decode(self) -> Any:
        """The answer's value, as a whole body's (:func:`decode`).

        The outline skipped the rows: a number out of range or invalid UTF-8 in them is met
        here (raising :class:`Unreadable` where ``json.loads`` refuses it too).
        """
        return decode(self.text)


def hold(text: bytes) -> Any:
    """A :class:`HeldAnswer` for a report answer; an error envelope or a scalar decoded.

    Raises one of :data:`UNREADABLE` when the text cannot be read this way.
    """
    outline = msgspec.json.decode(text, type=_Outline)
    if isinstance(outline, list) or (isinstance(outline, dict) and not is_error(outline)):
        return HeldAnswer(text, outline)
    return msgspec.json.decode(text)  # small: Matomo's error envelope, or a bare value


def hold_each(body: bytes) -> list[Any]:
    """Each answer of a bulk request's body (a JSON list), held (see :func:`hold`).

    Raises one of :data:`UNREADABLE` when the body is not a list or cannot be read this way.
    """
    return [hold(bytes(item)) for item in msgspec.json.decode(body, type=list[msgspec.Raw])]


def taken(answer: Any) -> Any:
    """The answer's value: decoded now if it was held as text (or :class:`Unreadable`)."""
    return answer.decode() if isinstance(answer, HeldAnswer) else answer


def type_name(answer: Any) -> str:
    """The Python type of the answer's value (``list``, ``dict``...), held or not."""
    return answer.type_name if isinstance(answer, HeldAnswer) else type(answer).__name__


def row_total(answer: Any) -> int:
    """Rows in a report answer (a list of rows, an object of metrics, one per period)."""
    if isinstance(answer, HeldAnswer):
        return answer.rows
    if isinstance(answer, list):
        return len(answer)
    if isinstance(answer, dict):
        nested = [v for v in answer.values() if isinstance(v, list | dict)]
        return sum(len(v) if isinstance(v, list) else 1 for v in nested) if nested else 1
    return 0


def periods(answer: Any) -> int:
    """Periods in a report answer: one per key of an answer keyed by period, else one.

    0 for an error.
    """
    if isinstance(answer, HeldAnswer):
        return answer.periods
    if isinstance(answer, list):
        return 1
    if isinstance(answer, dict):
        nested = sum(1 for v in answer.values() if isinstance(v, list | dict))
        return nested or 1
    return 0


def period_rows(answer: Any) -> int:
    """The most rows in one period of a report answer.

    An answer is a list of rows, one object of metrics, or one of those per period.
    """
    if isinstance(answer, HeldAnswer):
        return answer.period_rows
    if isinstance(answer, list):
        return len(answer)
    if isinstance(answer, dict):
        nested = [
            len(v) if isinstance(v, list) else 1
            for v in answer.values()
            if isinstance(v, list | dict)
        ]
        return max(nested) if nested else 1
    return 0
