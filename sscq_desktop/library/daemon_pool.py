"""`DaemonPool`: a minimal thread pool of daemon threads, so a hung decoder can be abandoned.

`concurrent.futures.ThreadPoolExecutor` joins its threads at exit, which a decoder stuck
forever would block; these threads are daemons and are never joined. The ingest pipeline
is its one user. It knows nothing about images, the catalog or Qt.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any


class DaemonPool:
    """Run callables on daemon threads named ``sscq-decode-<i>``.

    Args:
        workers: Number of threads, started at once.
    """

    def __init__(self, workers: int) -> None:
        self._queue: queue.SimpleQueue[
            tuple[Callable[..., Any], tuple[Any, ...], Future[Any]] | None
        ] = queue.SimpleQueue()
        self._workers = workers
        self._threads = [
            threading.Thread(target=self._work, name=f"sscq-decode-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Queue ``fn(*args)`` for the next free thread.

        Args:
            fn: The callable to run.
            *args: Its positional arguments.

        Returns:
            A future with its result, or the exception it raised.
        """
        future: Future[Any] = Future()
        self._queue.put((fn, args, future))
        return future

    def shutdown(self) -> None:
        """Let the threads finish their current task and exit; queued tasks are dropped."""
        while True:
            try:
                task = self._queue.get_nowait()
            except queue.Empty:
                break
            if task is not None:
                task[2].cancel()
        for _ in self._threads:
            self._queue.put(None)

    def abandon(self) -> None:
        """Stop using this pool; a thread stuck in a task stays stuck, as a daemon."""
        self.shutdown()

    def _work(self) -> None:
        while True:
            task = self._queue.get()
            if task is None:
                return
            fn, args, future = task
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # delivered to the waiting thread
                future.set_exception(exc)
