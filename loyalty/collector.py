"""Python's garbage collector during bulk work.

Bulk work (an import chunk, a batch of bookings) allocates hundreds of thousands of objects that
all live until the chunk is written. With the default thresholds the collector then runs its full
collection again and again, each time walking every object of the process, Django's own included:
measured on a membership import, a third of the worker's CPU. Inside `bulk_work` the objects that
existed before are frozen (never walked) and the youngest generation is collected after 50,000
allocations instead of 700; afterwards the defaults are back. Reference cycles are still collected.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, int, int] | None = None
BULK_THRESHOLDS = (50_000, 20, 100)


@contextmanager
def bulk_work() -> Iterator[None]:
    """Collect rarely while the block runs; reentrant and shared by threads (the collector is per process)."""
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(*BULK_THRESHOLDS)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                gc.unfreeze()
