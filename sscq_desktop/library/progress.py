"""Progress reports and the pause/cancel protocol of the library's long jobs.

Long jobs (scan, ingest, re-encode, duplicates, retrain) are plain generators that yield
`Progress` and check a `threading.Event` for cancellation between batches (STYLE.md,
"Background work"). A job's result, if any, is the generator's return value; `run_job`
drives one to the end and returns it. Nothing here knows about Qt or threads beyond
`threading.Event`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TypeVar

from sscq_desktop.model.trainer_events import TrainerEvent

T = TypeVar("T")

_PAUSE_POLL_S = 0.1


@dataclass(frozen=True)
class Progress:
    """A snapshot of a long job.

    Attributes:
        phase: What runs now, e.g. ``"scan"``, ``"ingest"``, ``"switch"``.
        done: Units finished.
        total: Units known so far (may grow while a scan discovers files); 0 if unknown.
        rate: Units per second since the job started, 0.0 until measurable.
        eta_s: Seconds left at the current rate, None when unknown.
        message: A short human-readable note (current folder, last error...).
        paused: True while the job waits for its pause event to clear.
        errors: Units that failed so far.
        event: The trainer's event this snapshot was made from (a retrain); None
            otherwise. Not part of equality or hashing.
    """

    phase: str
    done: int
    total: int
    rate: float = 0.0
    eta_s: float | None = None
    message: str = ""
    paused: bool = False
    errors: int = 0
    event: TrainerEvent | None = field(default=None, compare=False)

    @property
    def fraction(self) -> float:
        """``done / total`` in [0, 1]; 0.0 when the total is unknown."""
        if self.total <= 0:
            return 0.0
        return min(1.0, self.done / self.total)


class ProgressMeter:
    """Builds `Progress` snapshots with a rate and ETA measured from construction.

    Args:
        phase: Phase name copied into every snapshot.
        total: Initial total (can be changed later through the attribute).
        clock: Monotonic clock, injectable for tests.
    """

    def __init__(
        self, phase: str, total: int = 0, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.phase = phase
        self.total = total
        self.done = 0
        self.errors = 0
        self._clock = clock
        self._start = clock()

    def advance(self, n: int = 1, *, errors: int = 0) -> None:
        """Count `n` more finished units, `errors` of them failed."""
        self.done += n
        self.errors += errors

    def snapshot(self, message: str = "", *, paused: bool = False) -> Progress:
        """The current state as a frozen `Progress`."""
        elapsed = self._clock() - self._start
        rate = self.done / elapsed if elapsed > 0 and self.done else 0.0
        left = max(0, self.total - self.done)
        eta = left / rate if rate > 0 else None
        return Progress(
            phase=self.phase,
            done=self.done,
            total=max(self.total, self.done),
            rate=rate,
            eta_s=eta,
            message=message,
            paused=paused,
            errors=self.errors,
        )


def wait_while_paused(
    pause: threading.Event | None, cancel: threading.Event | None
) -> None:
    """Block while `pause` is set; return at once when it clears or `cancel` is set.

    Args:
        pause: Set by the caller to pause the job; None means never paused.
        cancel: Set by the caller to cancel the job; None means never cancelled.
    """
    if pause is None:
        return
    while pause.is_set():
        if cancel is not None and cancel.is_set():
            return
        if cancel is not None:
            cancel.wait(_PAUSE_POLL_S)
        else:
            time.sleep(_PAUSE_POLL_S)


def is_cancelled(cancel: threading.Event | None) -> bool:
    """True when `cancel` exists and is set."""
    return cancel is not None and cancel.is_set()


def run_job(
    job: Generator[Progress, None, T],
    on_progress: Callable[[Progress], None] | None = None,
) -> T:
    """Drive a job generator to its end and return its result.

    Args:
        job: A library job (a generator yielding `Progress` and returning a result).
        on_progress: Called with every snapshot, on the calling thread.

    Returns:
        The generator's return value.
    """
    while True:
        try:
            snapshot = next(job)
        except StopIteration as stop:
            result: T = stop.value
            return result
        if on_progress is not None:
            on_progress(snapshot)
