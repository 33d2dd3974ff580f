"""A second thread for the compiled halves of a search.

A search's heaviest steps (reading postings, counting terms in the candidates) are compiled
loops that release the GIL and split cleanly in two (by document range, by candidate), so
on a machine with two cores a helper thread runs one half while the caller runs the other.
This lowers the latency of a search when a core is free; when another search already has
the helper (busy server), the caller runs both halves itself, so nothing waits for it.
Handing work to the thread costs ~50 us (docs/matching.md).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")


class Helper:
    """One helper thread, shared by every index of the process, started on first use."""

    def __init__(self) -> None:
        self._free = threading.Lock()  # held while a search uses the helper
        self._pool: ThreadPoolExecutor | None = None

    def both(self, first: Callable[[], T], second: Callable[[], T]) -> tuple[T, T]:
        """``(first(), second())``, ``second`` in the helper thread if it is free."""
        if not self._free.acquire(blocking=False):
            return first(), second()
        try:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="match-helper")
            future = self._pool.submit(second)
            try:
                result = first()
            except BaseException:
                wait([future])  # both halves share buffers: never return while one runs
                raise
            return result, future.result()
        finally:
            self._free.release()


HELPER = Helper()


def default_threads() -> int:
    """2 where the process may use two cores or more, else 1."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = os.cpu_count() or 1
    return 2 if cores >= 2 else 1
