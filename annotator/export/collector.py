"""Full garbage collections paused while an export runs (``full_collections_paused``)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["full_collections_paused"]

# Gen-1 collections between two full ones: more than an export of any size makes.
PAUSED_THRESHOLD = 1 << 30

_lock = threading.Lock()
_running = 0  # blocks inside full_collections_paused, in every thread
_saved: tuple[int, int, int] | None = None  # the thresholds the first of them found


@contextmanager
def full_collections_paused() -> Iterator[None]:
    """Within the block, the cycle collector runs its young generations (0 and 1) but no full collection.

    An export holds each batch's records (~40k objects for 2,000 sentences) long enough for them to
    reach the oldest generation, so CPython ran a full collection, which visits every object of the
    process, about once a batch: a quarter of ``export_project``'s time at 20k sentences. What an
    export allocates is freed by reference counting (records, Docs and rows hold no cycles), and
    young cycles are still collected, so memory stays flat. The thresholds are the process's: blocks
    in several threads share one pause; the first to enter saves the thresholds, the last to leave
    restores them.
    """
    global _running, _saved
    with _lock:
        if _running == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(_saved[0], _saved[1], PAUSED_THRESHOLD)
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None
