"""`DecodePool`: worker processes for untrusted image bytes, abandoned when they hang or die.

ARCHITECTURE.md (trust boundaries): a file that hangs or crashes a decoder costs that
file only. A thread cannot be killed, a process can: every decode of an image file runs
here, in a `pebble.ProcessPool` started with ``spawn`` (the app has threads, and fork
with threads is unsafe). A task past its timeout has its worker killed; a worker that
dies (a native crash, an abort) fails its task; the pool replaces both and goes on.
Workers are recycled after `MAX_TASKS_PER_WORKER` tasks, which caps what a leaky
decoder can hold. The callers (`ingest`, `renderer`) turn a failure into a per-file
reason with `failure_reason`. It knows nothing about images, the catalog or Qt.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Protocol, TypeVar, cast

from pebble import ProcessExpired, ProcessPool

logger = logging.getLogger(__name__)

MAX_TASKS_PER_WORKER = 500
"""Decodes a worker process serves before it is replaced (caps leaked memory)."""

CRASH_ERROR = "the decoder crashed on this file"
"""The reason recorded for a file whose decode killed its worker process."""

T = TypeVar("T")


class DecodePool:
    """A process pool with a per-task timeout; started on the first `submit`.

    Thread-safe. `close` stops the workers (a hung one is killed) and joins the pool's
    threads, so nothing of it outlives its owner.

    Args:
        workers: Worker processes.
        timeout_s: Seconds a task may run in its worker before the worker is killed.
        max_tasks: Tasks per worker before it is replaced.

    Raises:
        ValueError: if `workers` or `timeout_s` is not positive.
    """

    def __init__(
        self,
        workers: int,
        *,
        timeout_s: float,
        max_tasks: int = MAX_TASKS_PER_WORKER,
    ) -> None:
        if workers < 1 or timeout_s <= 0:
            raise ValueError(
                f"workers and timeout_s must be positive, got {workers}, {timeout_s}"
            )
        self.workers = workers
        self.timeout_s = timeout_s
        self._max_tasks = max_tasks
        self._lock = threading.Lock()
        self._pool: ProcessPool | None = None
        self._closed = False

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Run ``fn(*args)`` in a worker process.

        `fn` and its arguments are pickled (``spawn``): a module-level function and
        plain data. The future raises `concurrent.futures.TimeoutError` if the task ran
        past the timeout, `pebble.ProcessExpired` if its worker died, or what `fn`
        raised.

        Args:
            fn: The function (importable by name in a fresh interpreter).
            *args: Its positional arguments.

        Returns:
            The task's future.

        Raises:
            RuntimeError: if the pool was closed.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("the decode pool is closed")
            pool = self._pool
            if pool is None or not pool.active:
                if pool is not None:  # broken (a worker died holding its channel)
                    _stop(pool)
                pool = ProcessPool(
                    max_workers=self.workers,
                    max_tasks=self._max_tasks,
                    context=multiprocessing.get_context("spawn"),
                )
                self._pool = pool
            future: Future[T] = pool.schedule(fn, args=args, timeout=self.timeout_s)
            return future

    def close(self) -> None:
        """Stop the workers, cancelling what is queued, and join the pool (for good)."""
        with self._lock:
            pool, self._pool = self._pool, None
            self._closed = True
        if pool is not None:
            _stop(pool)

    def __enter__(self) -> DecodePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


DECODER_FAILURES = (FutureTimeout, ProcessExpired)
"""What a task's future raises when its decoder hung or died (see `failure_reason`)."""


def failure_reason(exc: BaseException, timeout_s: float) -> str:
    """The per-file reason for a task that failed with one of `DECODER_FAILURES`.

    Args:
        exc: What the task's future raised.
        timeout_s: The pool's timeout, for the message.

    Returns:
        ``"decoding took longer than N s"`` or `CRASH_ERROR` with the exit code.
    """
    if isinstance(exc, ProcessExpired):
        return f"{CRASH_ERROR} (exit code {exc.exitcode})"
    return f"decoding took longer than {timeout_s:g} s"


class _Stoppable(Protocol):
    """The part of `pebble.ProcessPool` that pebble leaves unannotated."""

    def stop(self) -> None: ...

    def join(self, timeout: float | None = None) -> None: ...


def _stop(pool: ProcessPool) -> None:
    """Stop a pool (killing busy workers, dropping queued tasks) and join its threads."""
    stoppable = cast(_Stoppable, pool)
    stoppable.stop()
    stoppable.join()
