"""The cycle collector while an export runs: fewer young collections, no full one (``fewer_collections``)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["fewer_collections"]

# New objects (allocations less deallocations) between two young collections: more than a batch keeps.
YOUNG_THRESHOLD = 50_000
# Young collections between two full ones: more than an export of any size makes.
FULL_THRESHOLD = 1 << 30

_lock = threading.Lock()
_running = 0  # blocks inside fewer_collections, in every thread
_saved: tuple[int, int, int] | None = None  # the thresholds the first of them found


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Within the block, the cycle collector runs young collections only, every 50,000 new objects.

    An export holds each batch's records (~40k objects for 2,000 sentences) long enough for them to
    reach the oldest generation, so CPython ran a full collection, which visits every object of the
    process, about once a batch (a quarter of ``export_project``'s time at 20k sentences), and a
    young one every 700 new objects, which moved the batch from generation to generation. What an
    export allocates is freed by reference counting (records, Docs and rows hold no cycles), and
    young cycles are still collected, so memory stays flat. The thresholds are the process's: blocks
    in several threads share one setting; the first to enter saves the thresholds, the last to leave
    restores them.
    """
    global _running, _saved
    with _lock:
        if _running == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(max(_saved[0], YOUNG_THRESHOLD), _saved[1], FULL_THRESHOLD)
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None
