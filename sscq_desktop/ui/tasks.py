"""Background work for the GUI: `Task` (Anki's QueryOp) run by a `TaskRunner`.

`fn` runs on a QThreadPool; success, failure and progress callbacks always run on the
main thread through queued signals. Three lanes: reads (searches, refreshes) run
concurrently; writes to the library run one at a time, in order, on the write lane
(`IndexingWorker.write` decides when); long jobs (the indexing job, a retraining) get a
thread of their own on the job lane, so they never hold up a read or a write.
`TaskRunner(sync=True)` runs everything inline for tests. `LatestRequest` implements
"the latest query wins". A long-lived task (the folder watcher) runs until cancelled and
is not counted as pending work. Nothing here touches a widget.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Generic, Literal, TypeVar

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot

logger = logging.getLogger(__name__)

T = TypeVar("T")
Lane = Literal["read", "write", "job"]
"""Where a task runs: ``read`` (a small pool), ``write`` (one thread), ``job`` (long)."""

MAX_JOBS = 3
"""Threads of the job lane: the indexing job and a retraining at once, and a spare."""


class TaskCancelled(Exception):
    """Raised inside `fn` (by `TaskContext.check_cancelled`) when the task was cancelled."""


class TaskContext:
    """Handed to a task's `fn`: report progress and poll for cancellation or pause.

    Safe to use from the worker thread; it never touches a widget.
    """

    def __init__(self, emit_progress: Callable[[object], None]) -> None:
        self._emit_progress = emit_progress
        self.cancel_event = threading.Event()
        self.pause_event = threading.Event()

    def report_progress(self, value: object) -> None:
        """Deliver `value` to the task's progress callback on the main thread."""
        self._emit_progress(value)

    @property
    def cancelled(self) -> bool:
        """Whether `Task.cancel` was called."""
        return self.cancel_event.is_set()

    def check_cancelled(self) -> None:
        """Raise `TaskCancelled` if the task was cancelled."""
        if self.cancel_event.is_set():
            raise TaskCancelled


class Task(Generic[T]):
    """One unit of background work with main-thread callbacks.

    ``Task(fn).on_success(cb).on_failure(cb).on_progress(cb).start(runner)``.
    `fn(ctx)` runs on a worker thread and must never touch widgets; it may call
    ``ctx.report_progress(x)``. A failure goes to the failure callback, or else to
    `sscq_desktop.ui.errors.show_exception`; it is never swallowed. A task that raises
    `TaskCancelled` calls the cancelled callback instead.

    A `long_lived` task runs until cancelled (the folder watcher): `TaskRunner.active_count`
    leaves it out, so "no pending work" still means something while it runs.
    """

    def __init__(
        self,
        fn: Callable[[TaskContext], T],
        *,
        lane: Lane = "read",
        long_lived: bool = False,
    ) -> None:
        self._fn = fn
        self.lane: Lane = lane
        self.long_lived = long_lived
        self._success: Callable[[T], object] | None = None
        self._failure: Callable[[BaseException], object] | None = None
        self._progress: Callable[[object], None] | None = None
        self._cancelled: Callable[[], None] | None = None
        self._finished: list[Callable[[], None]] = []
        self._bridge: _TaskBridge | None = None
        self.context = TaskContext(self._emit_progress)

    def on_success(self, cb: Callable[[T], object]) -> Task[T]:
        self._success = cb
        return self

    def on_failure(self, cb: Callable[[BaseException], object]) -> Task[T]:
        self._failure = cb
        return self

    def on_progress(self, cb: Callable[[object], None]) -> Task[T]:
        self._progress = cb
        return self

    def on_cancelled(self, cb: Callable[[], None]) -> Task[T]:
        self._cancelled = cb
        return self

    def on_finished(self, cb: Callable[[], None]) -> Task[T]:
        """Called last, after success, failure or cancellation.

        Unlike the other callbacks, several may be registered (the task's owner and a
        scheduler such as `IndexingWorker` both need to know); they run in order.
        """
        self._finished.append(cb)
        return self

    def start(self, runner: TaskRunner) -> Task[T]:
        runner.run(self)
        return self

    def cancel(self) -> None:
        """Ask `fn` to stop (it polls `ctx.cancelled`); callbacks still arrive."""
        self.context.cancel_event.set()

    # -- called by TaskRunner -------------------------------------------------

    def _run_inline(self) -> None:
        try:
            result = self._fn(self.context)
        except TaskCancelled:
            self._deliver_cancelled()
        except Exception as exc:  # delivered to the failure callback, never lost
            self._deliver_failure(exc)
        else:
            self._deliver_success(result)
        self._deliver_finished()

    def _emit_progress(self, value: object) -> None:
        if self._bridge is not None:
            self._bridge.progressed.emit(value)
        elif self._progress is not None:
            self._progress(value)

    def _deliver_success(self, result: object) -> None:
        if self._success is not None:
            self._success(result)  # type: ignore[arg-type]

    def _deliver_failure(self, exc: object) -> None:
        assert isinstance(exc, BaseException)
        if self._failure is not None:
            self._failure(exc)
            return
        from sscq_desktop.ui.errors import show_exception

        show_exception(None, exc)

    def _deliver_progress(self, value: object) -> None:
        if self._progress is not None and not self.context.cancelled:
            self._progress(value)

    def _deliver_cancelled(self) -> None:
        if self._cancelled is not None:
            self._cancelled()

    def _deliver_finished(self) -> None:
        for cb in self._finished:
            cb()


class TaskRunner(QObject):
    """Runs `Task`s: reads on a small pool, writes in order on one thread, long jobs apart.

    The write lane is one thread because a library write runs on its caller's thread
    whenever no watch loop owns the library's writer (`Library`, `WriterLane`): one
    thread keeps those writes from overlapping each other, and keeps the order in which
    the user asked for them (add, then remove) while a watch loop runs them.

    Emits no signals of its own (a task's callbacks say what happened).
    """

    def __init__(
        self, *, sync: bool = False, max_readers: int = 2, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.sync = sync
        self._readers = QThreadPool(self)
        self._readers.setMaxThreadCount(max_readers)
        self._writer = QThreadPool(self)
        self._writer.setMaxThreadCount(1)  # the GUI's writes: one at a time, in order
        self._jobs = QThreadPool(self)
        self._jobs.setMaxThreadCount(MAX_JOBS)
        self._active: set[Task[Any]] = set()

    @property
    def active_count(self) -> int:
        """Tasks started and not yet finished (callbacks included), long-lived ones aside."""
        return sum(1 for task in self._active if not task.long_lived)

    def run(self, task: Task[T]) -> None:
        if self.sync:
            task._run_inline()
            return
        bridge = _TaskBridge(task, self._on_task_finished, parent=self)
        task._bridge = bridge
        self._active.add(task)
        pools = {"write": self._writer, "job": self._jobs}
        pools.get(task.lane, self._readers).start(_TaskRunnable(task, bridge))

    def cancel_all(self) -> None:
        for task in list(self._active):
            task.cancel()

    def wait_for_done(self, timeout_ms: int = 10_000) -> bool:
        """Block until the pools are idle (tests, shutdown); queued callbacks may remain."""
        ok = self._readers.waitForDone(timeout_ms)
        ok = self._jobs.waitForDone(timeout_ms) and ok
        return self._writer.waitForDone(timeout_ms) and ok

    def _on_task_finished(self, task: Task[T]) -> None:
        task._deliver_finished()
        bridge = task._bridge
        task._bridge = None
        self._active.discard(task)
        if bridge is not None:
            bridge.deleteLater()


class LatestRequest:
    """Request ids for "the latest query wins": stale results are dropped.

    The main thread calls `next_id()` when it sends a query and `is_current(id)` when the
    answer arrives; only the answer to the most recent query is applied.
    """

    def __init__(self) -> None:
        self._current = 0

    def next_id(self) -> int:
        self._current += 1
        return self._current

    def is_current(self, request_id: int) -> bool:
        return request_id == self._current

    @property
    def current(self) -> int:
        return self._current


class _TaskBridge(QObject):
    """Lives on the main thread and is emitted from a worker: its slots run queued there."""

    succeeded = Signal(object)
    failed = Signal(object)
    progressed = Signal(object)
    cancelled = Signal()
    finished = Signal()

    def __init__(
        self,
        task: Task[T],
        on_finished: Callable[[Task[T]], None],
        *,
        parent: QObject,
    ) -> None:
        super().__init__(parent)
        self._task: Task[Any] = task
        self._on_finished: Callable[[Task[Any]], None] = on_finished
        queued = Qt.ConnectionType.QueuedConnection
        self.succeeded.connect(self._on_self_succeeded, queued)
        self.failed.connect(self._on_self_failed, queued)
        self.progressed.connect(self._on_self_progressed, queued)
        self.cancelled.connect(self._on_self_cancelled, queued)
        self.finished.connect(self._on_self_finished, queued)

    @Slot(object)
    def _on_self_succeeded(self, result: object) -> None:
        self._task._deliver_success(result)

    @Slot(object)
    def _on_self_failed(self, exc: object) -> None:
        self._task._deliver_failure(exc)

    @Slot(object)
    def _on_self_progressed(self, value: object) -> None:
        self._task._deliver_progress(value)

    @Slot()
    def _on_self_cancelled(self) -> None:
        self._task._deliver_cancelled()

    @Slot()
    def _on_self_finished(self) -> None:
        self._on_finished(self._task)


class _TaskRunnable(QRunnable):
    def __init__(self, task: Task[T], bridge: _TaskBridge) -> None:
        super().__init__()
        self._task = task
        self._bridge = bridge

    def run(self) -> None:
        try:
            result = self._task._fn(self._task.context)
        except TaskCancelled:
            self._bridge.cancelled.emit()
        except BaseException as exc:  # reported on the main thread, never lost
            logger.debug("task failed", exc_info=True)
            self._bridge.failed.emit(exc)
        else:
            self._bridge.succeeded.emit(result)
        self._bridge.finished.emit()
