"""`DecodeBudget`: a bound on the memory that concurrent image decodes may hold at once.

A small file can decode to a huge bitmap (a 13000 x 13000 RGBA PNG of a few hundred KB
is 676 MB of pixels), and the ingest pipeline decodes on several threads. Each decode
asks the budget for its estimated bytes before decoding: a decode larger than the whole
budget is refused, and one that does not fit next to the decodes in flight waits for
them, so the total stays under the budget whatever the number of decoding threads.
Small decodes never wait for each other. No Qt, no catalog.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

DEFAULT_DECODE_BUDGET_BYTES = 1 << 30
"""Memory all decodes of one process may hold at once: 1 GiB (any image under the
default pixel cap fits, one at a time)."""


class DecodeBudgetError(Exception):
    """A single decode needs more memory than the whole budget."""


class DecodeBudget:
    """A counting semaphore in bytes, shared by the threads that decode images.

    A decode that waits blocks only while bigger decodes are in flight; if a decoder
    hangs, the bytes it holds stay taken, so later decodes that do not fit next to it
    wait (the ingest pipeline's decode timeout records them as failed).

    Args:
        capacity: Bytes that decodes may hold at once.

    Raises:
        ValueError: if `capacity` is not positive.
    """

    def __init__(self, capacity: int = DEFAULT_DECODE_BUDGET_BYTES) -> None:
        if capacity <= 0:
            raise ValueError(f"capacity must be positive, got {capacity}")
        self.capacity = capacity
        self._used = 0
        self._cond = threading.Condition()

    @property
    def in_use(self) -> int:
        """Bytes held by the decodes in flight."""
        with self._cond:
            return self._used

    @contextmanager
    def reserve(self, nbytes: int) -> Iterator[None]:
        """Hold `nbytes` of the budget for the duration of the block.

        Args:
            nbytes: Estimated peak memory of the decode.

        Raises:
            DecodeBudgetError: if `nbytes` exceeds the whole capacity (nothing is
                waited for).
        """
        if nbytes > self.capacity:
            raise DecodeBudgetError(
                f"needs about {_mib(nbytes)} to decode, more than the "
                f"{_mib(self.capacity)} decoding budget"
            )
        nbytes = max(0, nbytes)
        with self._cond:
            self._cond.wait_for(lambda: self._used + nbytes <= self.capacity)
            self._used += nbytes
        try:
            yield
        finally:
            with self._cond:
                self._used -= nbytes
                self._cond.notify_all()


def _mib(nbytes: int) -> str:
    return f"{nbytes / (1 << 20):.0f} MiB"
