"""The client's JSON decoding: msgspec on the bytes gives what ``json.loads`` of the text gave.

The client used to decode every answer with ``json.loads(response.text)``; it now decodes UTF-8
bodies with msgspec, and answers read ahead are held as text and decoded when taken
(``answers.py``). Any difference in the Python values (an int that became a float, a key
order) or in what counts as JSON would change records or error classes, so each body here is
decoded both ways and compared by ``repr`` (which tells 1 from 1.0 and True, and shows order).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.utils import get_encoding_from_headers

from tap_matomo.answers import (
    HeldAnswer,
    Unreadable,
    hold,
    hold_each,
    period_rows,
    periods,
    row_total,
    taken,
    type_name,
)
from tap_matomo.client import _json_body
from tests.fake_matomo import RECORDINGS

BODIES = [
    b'{"a":1,"a":2,"b":3}',  # duplicate keys: the last value, at the first key's place
    b'{"b":{"x":[1,2.0,"3"]},"a":null}',
    b"[-0, -0.0, 1.0, 1E2, 1e5, 1.5E+3, 1e-3, 0.1, 2.5e-324, 100000000000000000000.0]",
    b"[9223372036854775808, -9223372036854775809, 18446744073709551616]",
    b"[123456789012345678901234567890]",
    b"[1e400, -1e400]",  # out of float range: json makes them infinite
    b"[NaN, Infinity, -Infinity]",  # not JSON, accepted by json.loads
    b'["\\ud800", "\\udc00\\ud800", "\\ud83d\\ude00", "\\u0000"]',
    b'["\xff"]',  # invalid UTF-8: requests' text has U+FFFD
    b'["\xed\xa0\x80", "\xc0\x80", "\xf4\x90\x80\x80"]',
    b'["a\x01"]',
    b"\xef\xbb\xbf[1]",  # a byte order mark
    b"[1] ",
    b" \r\n[1]\r\n",
    b"[1]\x00",
    b"\x0c[1]",
    b"[1,]",
    b"[01]",
    b"[1.]",
    b'{"a":1,}',
    b'{"result":"error","message":"Oops"}',
    b"",
    b"   ",
    b'{"result":"success","message":"ok"',  # truncated
    b"<html><body>502 Bad Gateway</body></html>",
    b'"just a string"',
    b"null",
    b"[true,false,null]",
    b"[" + b"1" * 5000 + b"]",  # more digits than Python converts
    '["caf\u00e9", "\u65e5\u672c"]'.encode(),
]

CONTENT_TYPES = [
    "application/json; charset=utf-8",
    "application/json; charset=UTF8",
    "application/json",  # requests assumes UTF-8
    "text/html; charset=utf-8",
    "text/html",  # requests decodes as ISO-8859-1
    "application/json; charset=iso-8859-1",
    "application/json; charset=utf-8-sig",
    "application/json; charset=no-such-charset",
    "",  # no header: requests guesses the encoding
]


def _response(body: bytes, content_type: str) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response._content = body
    if content_type:
        response.headers["Content-Type"] = content_type
    response.encoding = get_encoding_from_headers(response.headers)
    return response


def _before(response: requests.Response) -> tuple[Any, str | None]:
    """What the client did before msgspec: ``json.loads`` of requests' text."""
    text = response.text
    try:
        return json.loads(text), None
    except ValueError:
        return None, text


def _held(body: bytes, content_type: str, *, bulk: bool) -> tuple[Any, str | None]:
    """The body read as answers held for later (``held=True``), then taken.

    An answer that cannot be taken is asked for again (``MatomoRun._take``) and decoded at
    once: here, as before msgspec (the test then checks that it was refused before, too).
    """
    response = _response(body, content_type)
    payload, text = _json_body(response, held=True, bulk=bulk)
    try:
        if bulk and isinstance(payload, list):
            return [taken(item) for item in payload], text
        return taken(payload), text
    except Unreadable:
        return _before(response)


def _same(body: bytes, content_type: str = "application/json; charset=utf-8") -> None:
    before = repr(_before(_response(body, content_type)))
    assert repr(_json_body(_response(body, content_type))) == before
    # held as text until taken (answers read ahead), alone or each of a bulk request's list
    assert repr(_held(body, content_type, bulk=False)) == before
    assert repr(_held(body, content_type, bulk=True)) == before


def test_a_held_answer_that_cannot_be_taken_was_refused_before_too() -> None:
    """Only an answer json.loads refuses as a whole cannot be taken (so it is asked again)."""
    held = hold(b"[" + b"1" * 5000 + b"]")  # more digits than Python converts
    with pytest.raises(Unreadable):
        taken(held)
    assert _before(_response(b"[" + b"1" * 5000 + b"]", "application/json"))[0] is None


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
def test_decoding_is_unchanged(body: bytes, content_type: str) -> None:
    _same(body, content_type)


def test_recorded_answers_decode_unchanged() -> None:
    """Every recorded Matomo body, as the fakes send it and as PHP writes it (``\\/``, ``\\u``)."""
    for path in sorted(Path(RECORDINGS).glob("[0-9]*__*.json")):
        body = json.loads(path.read_text())["body"]
        _same(json.dumps(body).encode())
        _same(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())
        _same(json.dumps(body).replace("/", "\\/").encode())


def test_random_numbers_decode_unchanged() -> None:
    """Numbers as Matomo writes them and odd ones: same int or float, same rounding."""
    rng = random.Random(9)
    numbers = []
    for _ in range(20000):
        sign = rng.choice(["", "-"])
        whole = rng.randrange(10 ** rng.randrange(1, 22))
        fraction = rng.randrange(10 ** rng.randrange(1, 20))
        exponent = rng.choice(["", f"e{rng.randrange(-330, 330)}", f"E+{rng.randrange(30)}"])
        numbers.append(rng.choice([f"{sign}{whole}", f"{sign}{whole}.{fraction}{exponent}"]))
        numbers.append(repr(rng.uniform(-1e6, 1e6)))
    for start in range(0, len(numbers), 500):
        _same(("[" + ",".join(numbers[start : start + 500]) + "]").encode())


def test_held_answers_measure_as_decoded_ones() -> None:
    """Rows, periods and rows of the biggest period, read from a held answer's outline, are
    those of its decoded value (the read-ahead budget and chunk sizing use them)."""
    held = 0
    for path in sorted(Path(RECORDINGS).glob("[0-9]*__*.json")):
        body = json.loads(path.read_text())["body"]
        text = json.dumps(body, separators=(",", ":")).encode()
        answer = hold(text)
        held += isinstance(answer, HeldAnswer)
        for measure in (row_total, periods, period_rows):
            assert measure(answer) == measure(body), (path.name, measure.__name__)
        assert taken(answer) == body
        assert type_name(answer) == type(body).__name__
        if isinstance(body, list):
            assert [taken(item) for item in hold_each(text)] == body
    assert held > 500  # the recorded reports, not only errors and bare values


def test_an_error_among_held_answers_is_decoded_at_once() -> None:
    """Matomo's error envelope is classified when the answer arrives (retried, or named):
    it is never held."""
    body = b'[{"nb_visits":1},{"result":"error","message":"Oops"},[{"label":"a"}]]'
    first, error, table = hold_each(body)
    assert isinstance(first, HeldAnswer)
    assert isinstance(table, HeldAnswer)
    assert error == {"result": "error", "message": "Oops"}
    assert (row_total(first), row_total(table)) == (1, 1)
