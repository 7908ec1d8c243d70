"""`DecodeBudget`: a bound on the memory that concurrent image decodes may hold at once.

A small file can decode to a huge bitmap (a 13000 x 13000 RGBA PNG of a few hundred KB
is 676 MB of pixels), and the ingest pipeline decodes on several threads. Each decode
asks the budget for its estimated bytes before decoding: a decode larger than the whole
budget is refused, and one that does not fit next to the decodes in flight waits for
them, so the total stays under the budget whatever the number of decoding threads.
Waits are first come, first served: once a decode waits, later ones (small ones too)
queue behind it, so a stream of small decodes cannot starve a large one. A wait ends
after `DEFAULT_WAIT_TIMEOUT_S` (`DecodeBudgetTimeoutError`): a decoder that hangs holding
bytes fails the decodes waiting for them instead of blocking their threads forever
(the ingest pipeline abandons such threads; they then end on their own). No Qt, no
catalog.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

DEFAULT_DECODE_BUDGET_BYTES = 1 << 30
"""Memory all decodes of one process may hold at once: 1 GiB (any image under the
default pixel cap fits, one at a time)."""

DEFAULT_WAIT_TIMEOUT_S = 60.0
"""Longest wait for room in the budget: decodes take seconds, so a wait this long means
a decode in flight hangs (the ingest's own decode timeout is 120 s)."""


class DecodeBudgetError(Exception):
    """A single decode needs more memory than the whole budget."""


class DecodeBudgetTimeoutError(DecodeBudgetError):
    """A decode waited longer than the budget's wait timeout for room."""


class DecodeBudget:
    """A first-come-first-served counting semaphore in bytes, shared by decoding threads.

    A reservation that fits and finds nobody waiting goes ahead at once; otherwise it
    queues, and goes ahead when it is first in the queue and fits. If a decoder hangs,
    the bytes it holds stay taken; a reservation that waits `wait_timeout_s` for them
    raises `DecodeBudgetTimeoutError` and leaves the queue, so its thread ends.

    Args:
        capacity: Bytes that decodes may hold at once.
        wait_timeout_s: Longest wait of one reservation; None waits for ever.

    Raises:
        ValueError: if `capacity` is not positive.
    """

    def __init__(
        self,
        capacity: int = DEFAULT_DECODE_BUDGET_BYTES,
        *,
        wait_timeout_s: float | None = DEFAULT_WAIT_TIMEOUT_S,
    ) -> None:
        if capacity <= 0:
            raise ValueError(f"capacity must be positive, got {capacity}")
        self.capacity = capacity
        self.wait_timeout_s = wait_timeout_s
        self._used = 0
        self._cond = threading.Condition()
        self._queue: deque[object] = deque()  # one ticket per waiting reservation

    @property
    def in_use(self) -> int:
        """Bytes held by the decodes in flight."""
        with self._cond:
            return self._used

    @property
    def waiting(self) -> int:
        """Reservations waiting for room."""
        with self._cond:
            return len(self._queue)

    @contextmanager
    def reserve(self, nbytes: int) -> Iterator[None]:
        """Hold `nbytes` of the budget for the duration of the block.

        Args:
            nbytes: Estimated peak memory of the decode.

        Raises:
            DecodeBudgetError: if `nbytes` exceeds the whole capacity (nothing is
                waited for).
            DecodeBudgetTimeoutError: if no room came within `wait_timeout_s`.
        """
        if nbytes > self.capacity:
            raise DecodeBudgetError(
                f"needs about {_mib(nbytes)} to decode, more than the "
                f"{_mib(self.capacity)} decoding budget"
            )
        nbytes = max(0, nbytes)
        with self._cond:
            if self._queue or self._used + nbytes > self.capacity:
                self._wait_turn(nbytes)
            self._used += nbytes
        try:
            yield
        finally:
            with self._cond:
                self._used -= nbytes
                self._cond.notify_all()

    def _wait_turn(self, nbytes: int) -> None:
        """Queue until first in line with room for `nbytes` (holding the condition)."""
        ticket = object()
        self._queue.append(ticket)
        try:
            ready = self._cond.wait_for(
                lambda: (
                    self._queue[0] is ticket and self._used + nbytes <= self.capacity
                ),
                timeout=self.wait_timeout_s,
            )
        finally:
            self._queue.remove(ticket)
            self._cond.notify_all()  # the next in line may fit now
        if not ready:
            raise DecodeBudgetTimeoutError(
                f"waited over {self.wait_timeout_s:.0f} s for {_mib(nbytes)} of the "
                f"{_mib(self.capacity)} decoding budget (decodes in flight hold it)"
            )


def _mib(nbytes: int) -> str:
    return f"{nbytes / (1 << 20):.0f} MiB"
