"""A bad day at a Matomo server, for the fake: faults injected at a given rate, with a seed.

``FakeMatomo(fault_plan=FaultPlan(rate=0.3, seed=1))`` answers about 30 % of the requests with
one of the faults below instead of the real answer, and about 30 % of the sub-answers of every
``API.getBulkRequest`` it does answer with a database or PHP limit error. Each fault is one that
a production Matomo, its database or what stands in front of it really gives (worded as Matomo
5 words them, see ``shared/docs/matomo-api.md`` section 7): the tap must get past every one of
them without losing or duplicating a row.

No 200 HTML page is given before a real answer: until Matomo has answered once, a web page
means that `url` is not Matomo's (the client names `url` at once, by design, see
``test_client.py``).
"""

from __future__ import annotations

import json
import random
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

#: Matomo's transient errors in its JSON envelope, as a whole answer or a bulk sub-answer.
MATOMO_FAULTS = (
    "Mysql error: SQLSTATE[HY000] [2002] Connection refused",
    "SQLSTATE[HY000]: General error: 2006 MySQL server has gone away",
    "SQLSTATE[HY000]: General error: 2013 Lost connection to MySQL server during query",
    "SQLSTATE[40001]: Serialization failure: 1213 Deadlock found when trying to get lock; "
    "try restarting transaction",
    "SQLSTATE[HY000]: General error: 1205 Lock wait timeout exceeded; try restarting transaction",
    "SQLSTATE[08004] [1040] Too many connections",
    "Maximum execution time of 30 seconds exceeded",
    "Allowed memory size of 134217728 bytes exhausted (tried to allocate 20480 bytes)",
)
HTML_ERROR = "<html><head><title>{status}</title></head><body><h1>{status}</h1></body></html>"

#: Every fault kind a plan injects (the names the tests count).
KINDS = (
    "http_500_html",
    "http_502_html",
    "http_503_html",
    "http_503_retry_after",
    "http_429_json_retry_after",
    "http_429",
    "html_200",
    "truncated_json",
    "connection_reset",
    "slow_answer",
    "trickled_answer",
    "matomo_error_200",
    "matomo_error_500",
    "bulk_sub_answer",  # drawn per sub-answer, not per request
)
#: Kinds never given before a real answer (see the module docstring).
NOT_FIRST = frozenset({"html_200"})


@dataclass
class FaultPlan:
    """Which requests fail, and how: deterministic for a seed and an order of requests."""

    rate: float
    seed: int
    #: Seconds a slow answer takes: longer than the tap's `request_timeout` in the tests.
    slow_seconds: float = 1.2
    #: The Retry-After header of the kinds that send one (seconds).
    retry_after: str = "1"
    #: The kinds drawn from (all by default).
    kinds: tuple[str, ...] = KINDS
    #: How many faults of each kind were injected.
    injected: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()
        self._answered = False
        #: The kinds still to inject before any repeats, in a seeded order: every kind comes
        #: once in each round, so a sync with enough faults meets them all.
        self._round: list[str] = []

    def draw(self) -> str | None:
        """The fault for the next request, or None for the real answer."""
        with self._lock:
            if self._random.random() >= self.rate:
                self._answered = True
                return None
            if not self._round:
                self._round = [k for k in self.kinds if k != "bulk_sub_answer"]
                self._random.shuffle(self._round)
            eligible = [k for k in self._round if self._answered or k not in NOT_FIRST]
            if not eligible:
                self._answered = True
                return None
            kind = eligible[0]
            self._round.remove(kind)
            self.injected[kind] += 1
            return kind

    def sub_answer(self, answer: Any) -> Any:
        """A bulk sub-answer, or a Matomo error in its place."""
        with self._lock:
            if self._random.random() >= self.rate:
                return answer
            self.injected["bulk_sub_answer"] += 1
            return {"result": "error", "message": self._random.choice(MATOMO_FAULTS)}

    def serve(
        self, kind: str, handler: BaseHTTPRequestHandler, real_answer: Callable[[], str]
    ) -> None:
        """Answer one request with a fault (``real_answer`` gives the JSON it would have got)."""
        with self._lock:
            message = self._random.choice(MATOMO_FAULTS)
        envelope = json.dumps({"result": "error", "message": message})
        if kind == "connection_reset":
            _reset(handler)
        elif kind == "slow_answer":
            time.sleep(self.slow_seconds)
            _send(handler, 200, real_answer(), "application/json")  # nobody is waiting
        elif kind == "trickled_answer":
            _trickle(handler, real_answer(), self.slow_seconds * 10)
        elif kind == "truncated_json":
            body = real_answer()
            _send(handler, 200, body[: max(1, len(body) // 2)], "application/json")
        elif kind == "html_200":
            _send(handler, 200, "<!DOCTYPE html><html><body>Please log in</body></html>")
        elif kind == "http_429_json_retry_after":
            body = json.dumps({"result": "error", "message": "Rate limit exceeded"})
            _send(handler, 429, body, "application/json", {"Retry-After": self.retry_after})
        elif kind == "http_503_retry_after":
            body = HTML_ERROR.format(status="503 Service Unavailable")
            _send(handler, 503, body, headers={"Retry-After": self.retry_after})
        elif kind == "matomo_error_200":
            _send(handler, 200, envelope, "application/json")
        elif kind == "matomo_error_500":
            _send(handler, 500, envelope, "application/json")
        else:  # http_500_html, http_502_html, http_503_html, http_429
            status = int(kind.split("_")[1])
            _send(handler, status, HTML_ERROR.format(status=status))


def _send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: str,
    content_type: str = "text/html; charset=utf-8",
    headers: dict[str, str] | None = None,
) -> None:
    data = body.encode()
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)
    except OSError:  # the client gave up waiting (a slow answer)
        handler.close_connection = True


def _trickle(handler: BaseHTTPRequestHandler, body: str, most_seconds: float) -> None:
    """A byte every 0.1 s: each read gets data in time, the answer never comes whole.

    As a stuck proxy or a server swapping to death does. Stops when the client hangs up, or
    after ``most_seconds`` (then the answer is cut short).
    """
    data = body.encode()
    handler.close_connection = True
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    stop = time.monotonic() + most_seconds
    try:
        for index in range(len(data)):
            if time.monotonic() > stop:
                return
            handler.wfile.write(data[index : index + 1])
            handler.wfile.flush()
            time.sleep(0.1)
    except OSError:  # the client gave up waiting
        return


def _reset(handler: BaseHTTPRequestHandler) -> None:
    """Drop the connection with a TCP reset, the request read and no answer sent."""
    handler.close_connection = True
    connection: socket.socket = handler.connection
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()
