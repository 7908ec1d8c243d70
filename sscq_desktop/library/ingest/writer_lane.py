"""`WriterLane`: the library's one writer, shared by its watch loop and every other caller.

While `Indexer.watch` runs, its thread owns the lane: a write asked for on another
thread (add or remove a folder, retry the failed photos, switch models, an ingest) is
queued as a command, which the loop runs on its own thread between batches. So the
catalog keeps a single writer and the watcher is never restarted for a write (issue
#14, item 2). With no loop running, a write runs on the caller's thread, as before.
Knows nothing of the catalog; no Qt.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from typing import Any, Generic, Literal, TypeVar

from sscq_desktop.library.progress import Progress, run_job

logger = logging.getLogger(__name__)

T = TypeVar("T")
Job = Callable[[], Generator[Progress, None, T]]
"""A writer job: a generator of `Progress` returning its result, made on demand."""


class WriterLane:
    """Routes the library's writes to the thread of the running watch loop, if any.

    Thread-safe. The loop takes the lane with `owned`, calls `drain` between batches
    and passes `yield_event(cancel)` as the cancel event of its long ingests, so that
    a queued command waits for one batch, not for the whole ingest.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None  # thread id of the loop that owns the lane
        self._queue: deque[_Command[Any]] = deque()
        self._waiting = threading.Event()  # set while a command is queued

    @property
    def owned(self) -> bool:
        """Whether a watch loop owns the lane (writes from other threads are queued)."""
        return self._owner is not None

    def call(self, fn: Callable[[], T]) -> T:
        """Run a short write on the writer thread and return its result.

        Blocks until the loop has run it (between two batches), or runs it here when
        no loop owns the lane or this is the loop's own thread.

        Raises:
            Exception: whatever `fn` raised, on the caller's thread.
        """
        return run_job(self.run(lambda: _immediate(fn)))

    def run(self, job: Job[T]) -> Generator[Progress, None, T]:
        """Run a writer job on the writer thread; its progress is yielded here.

        The job's own cancel and pause events (captured by `job`) still rule it.
        Closing this generator before the loop reached the job drops the job.

        Raises:
            Exception: whatever the job raised, on the caller's thread.
        """
        command: _Command[T] | None = None
        with self._lock:
            if self._owner is not None and self._owner != threading.get_ident():
                command = _Command(job)
                self._queue.append(command)
                self._waiting.set()
        if command is None:
            return (yield from job())
        try:
            while True:
                kind, value = command.inbox.get()
                if kind == "progress":
                    yield value
                elif kind == "done":
                    return value  # type: ignore[no-any-return]
                elif kind == "error":
                    raise value
                else:  # the loop ended before it reached the job: run it here
                    return (yield from job())
        finally:
            command.abandoned = True

    @contextmanager
    def owned_by_this_thread(self) -> Iterator[None]:
        """Make the calling thread (a watch loop) the writer while the block runs.

        On leaving, commands still queued are handed back to their callers, who then
        run them on their own threads.

        Raises:
            RuntimeError: if another loop owns the lane already.
        """
        with self._lock:
            if self._owner is not None:
                raise RuntimeError("another job loop is the library's writer already")
            self._owner = threading.get_ident()
        try:
            yield
        finally:
            with self._lock:
                self._owner = None
                left = list(self._queue)
                self._queue.clear()
                self._waiting.clear()
            for command in left:
                command.inbox.put(("yours", None))

    def drain(self) -> int:
        """Run the queued commands on this thread (the owner's, between batches).

        A command's failure goes to its caller; the loop goes on.

        Returns:
            How many commands ran.
        """
        ran = 0
        while True:
            with self._lock:
                if not self._queue:
                    self._waiting.clear()
                    return ran
                command = self._queue.popleft()
            if command.abandoned:
                continue
            command.execute()
            ran += 1

    def yield_event(self, cancel: threading.Event) -> threading.Event:
        """An event set when `cancel` is set or when a command is queued.

        The loop's long jobs take it as their cancel event: they stop at the end of a
        batch (everything stored stays), the loop runs the commands, then goes on.
        """
        return _EitherEvent(cancel, self._waiting)


class _Command(Generic[T]):
    """A queued writer job and the mailbox that carries its progress and outcome."""

    def __init__(self, job: Job[T]) -> None:
        self.job = job
        self.inbox: queue.SimpleQueue[tuple[_Message, Any]] = queue.SimpleQueue()
        self.abandoned = False  # its caller stopped waiting

    def execute(self) -> None:
        generator = self.job()
        try:
            while True:
                try:
                    progress = next(generator)
                except StopIteration as stop:
                    self.inbox.put(("done", stop.value))
                    return
                if not self.abandoned:
                    self.inbox.put(("progress", progress))
        except Exception as exc:  # the caller's failure, not the loop's
            logger.debug("a queued write failed", exc_info=True)
            self.inbox.put(("error", exc))
        finally:
            generator.close()


_Message = Literal["progress", "done", "error", "yours"]


def _immediate(fn: Callable[[], T]) -> Generator[Progress, None, T]:
    """`fn` as a job that reports no progress."""
    yield from ()
    return fn()


class _EitherEvent(threading.Event):
    """Reads as set when any of its events is (only `is_set` and `wait` are used)."""

    def __init__(self, *events: threading.Event) -> None:
        super().__init__()
        self._events = events

    def is_set(self) -> bool:
        return any(e.is_set() for e in self._events)

    def wait(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.is_set():
            left = 0.02 if deadline is None else deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(0.02, left))
        return True
