"""The cyclic garbage collector during a sync: fewer passes, none over the tap's own setup.

A sync makes a few dicts per record (the decoded row, the record, its message), none of them
in a reference cycle: reference counting frees them. The collector still ran a pass every
700 new containers and, now and then, a full pass over every object alive: the catalog, the
schemas and the answers read ahead. That was a tenth of a reports backfill's CPU time
(``bench/reports_backfill.py``, measured with ``gc.callbacks``: 0.30 s of 2.8 s).
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

#: New containers between two young-generation passes during a sync (Python's default: 700).
SYNC_THRESHOLD = 20_000

_lock = threading.Lock()
_syncs = 0  # syncs running in this process (threads of one process share the collector)
_thresholds: tuple[int, ...] = ()


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Objects made before the sync left out of its passes, and fewer passes; both undone after.

    What is made before (settings, catalog, schemas) lives through the sync: ``gc.freeze``
    spares it the passes. Garbage in cycles is still collected, after more new containers.
    The collector is the process's: the first of syncs running at once changes it, the last
    one to end puts it back.
    """
    global _syncs, _thresholds
    with _lock:
        if _syncs == 0:
            _thresholds = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(SYNC_THRESHOLD, *_thresholds[1:])
        _syncs += 1
    try:
        yield
    finally:
        with _lock:
            _syncs -= 1
            if _syncs == 0:
                gc.set_threshold(*_thresholds)
                gc.unfreeze()
