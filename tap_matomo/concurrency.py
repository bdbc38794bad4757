"""Sending independent bulk requests side by side (the `max_concurrent_requests` setting).

A self-hosted Matomo answers each request in one PHP worker, so a few requests at once finish
sooner than the same requests one after the other. The run hands whole bulk requests to a
:class:`RequestPool` and takes their answers in its own order (see ``runtime.py``), so the
order of records, bookmarks and STATE messages does not depend on which request finishes first.

A retry (HTTP 429, a 5xx, a timeout) means the server is struggling: the pool then halves the
number of requests it lets run at once, for the rest of the run.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

LOGGER = logging.getLogger("tap-matomo")

T = TypeVar("T")

#: Seconds an idle worker thread waits for work before it ends (threads start again on demand).
IDLE_SECONDS = 1.0


class RequestPool:
    """Runs request tasks on up to ``limit`` threads at once; with a limit of 1, inline.

    Inline (the setting at 1) means no thread at all: a task runs when it is submitted and its
    error raises there, exactly as a sequential run. Worker threads are daemons and end when
    idle, so a failed run never waits for requests it no longer needs.
    """

    def __init__(self, limit: int) -> None:
        self.inline = limit <= 1
        self._limit = max(1, limit)
        self._tasks: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]]] = queue.SimpleQueue()
        self._cond = threading.Condition()
        self._running = 0
        self._pending = 0
        self._threads = 0
        self._idle_threads = 0

    @property
    def limit(self) -> int:
        """How many requests may run at once now (lowered by :meth:`lower`)."""
        return self._limit

    @property
    def has_room(self) -> bool:
        """True when a submitted task would start at once (fewer tasks than the limit)."""
        with self._cond:
            return self._pending < self._limit

    def submit(self, task: Callable[[], T]) -> Future[T]:
        """Run ``task`` (now when inline, else on a worker); its result comes in the future."""
        future: Future[T] = Future()
        if self.inline:
            future.set_result(task())
            return future
        with self._cond:
            self._pending += 1
            start_thread = self._idle_threads == 0 and self._threads < self._limit
            if start_thread:
                self._threads += 1
            self._tasks.put((future, task))  # under the lock: an idle worker sees it or stays
        if start_thread:
            threading.Thread(target=self._work, name="tap-matomo-request", daemon=True).start()
        return future

    def lower(self, reason: str) -> None:
        """Halve the number of requests at once for the rest of the run (not below 1)."""
        with self._cond:
            if self._limit <= 1:
                return
            before, self._limit = self._limit, max(1, self._limit // 2)
        LOGGER.warning(
            "Matomo is struggling (%s): sending at most %d request(s) at once instead of %d for "
            "the rest of this run (`max_concurrent_requests`).",
            reason,
            self._limit,
            before,
        )

    def _work(self) -> None:
        while True:
            with self._cond:
                self._idle_threads += 1
            try:
                future, task = self._tasks.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._cond:
                    self._idle_threads -= 1
                    if self._tasks.empty():
                        self._threads -= 1
                        return
                continue
            with self._cond:
                self._idle_threads -= 1
                while self._running >= self._limit:
                    self._cond.wait()
                self._running += 1
            try:
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(task())
                    except BaseException as exc:  # handed to the thread that takes the answer
                        future.set_exception(exc)
            finally:
                with self._cond:
                    self._running -= 1
                    self._pending -= 1
                    self._cond.notify_all()
