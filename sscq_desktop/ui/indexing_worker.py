"""`IndexingWorker`: keeps the library indexed, watches its folders, and orders the writes.

Runs `Library.watch` (reconcile at start, then apply each batch of folder changes) or,
with watching off, one `Library.update`, as a `Task` on the job lane. Every write of the
GUI (add or remove a folder, Retry all, a model switch) goes through `write`: while the
folders are watched, the library hands it to its watch loop, which runs it between two
batches (a new folder is scanned alone; nothing is restarted; issue #14, item 2); with
no watch loop running, it runs on the write lane. Progress reaches the GUI thread at
most ~10 times a second. Touches no widget.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject, Signal

from sscq_desktop.library.progress import Progress
from sscq_desktop.ui.tasks import Task, TaskContext, TaskRunner

if TYPE_CHECKING:
    from sscq_desktop.library.library import Library

logger = logging.getLogger(__name__)

T = TypeVar("T")

PROGRESS_INTERVAL_S = 0.1
"""Progress reports closer together than this are dropped (the GUI needs ~10 Hz)."""


def throttle_progress(
    reports: Iterable[Progress],
    interval_s: float = PROGRESS_INTERVAL_S,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[Progress]:
    """`reports`, without those that follow the last one kept by less than `interval_s`.

    Reports that change state are always kept: a new phase, a ``watch`` report, a paused
    one and the last of a job (``done >= total``). The dropped ones only carry counts
    that the next kept report supersedes.
    """
    last_time = -math.inf
    last_phase: str | None = None
    for report in reports:
        now = clock()
        if (
            report.phase != last_phase
            or report.phase == "watch"
            or report.paused
            or report.done >= report.total
            or now - last_time >= interval_s
        ):
            last_time, last_phase = now, report.phase
            yield report


class IndexingWorker(QObject):
    """Schedules the indexing job and the GUI's writes to the library.

    The library keeps one writer (`Library`): while its watch loop runs, a write from
    another thread is queued for the loop; otherwise it runs on the caller's thread.
    So that no write of the GUI ever runs beside a job, this worker

    * starts a job only when no write is running, and one job at a time;
    * starts a write at once when no job runs, or when the running job is a watch
      that owns the library's writer (its first ``watch`` report says so); otherwise
      it holds the write until then (a one-shot scan ends, a watch is up);
    * runs the writes one at a time, in order, on the write lane (`TaskRunner`).

    A write's task may block until the watch loop reaches it (a batch at most; the
    start-up scan, if it is still running): it runs on the write lane, never on the
    readers' pool or the GUI thread.

    Signals:
        ingest_will_start(): a scan or ingest begins (start-up, new folder, changes...).
        progress_changed(object): the `Progress` of the running scan or ingest.
        ingest_did_finish(): the library is up to date again, or the job stopped.
        changes_applied(): a batch of folder changes reached the catalog.
        failed(object): the job stopped on this exception (watching stops with it).
    """

    ingest_will_start = Signal()
    progress_changed = Signal(object)
    ingest_did_finish = Signal()
    changes_applied = Signal()
    failed = Signal(object)

    def __init__(
        self,
        library: Library,
        runner: TaskRunner,
        *,
        watch: bool = True,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._library = library
        self._runner = runner
        # A watcher never ends: a synchronous runner (tests) would never return from it.
        self._watch = watch and not runner.sync
        self._job: Task[None] | None = None
        self._job_watches = False
        self._watch_ready = False  # the running watch owns the library's writer
        self._want_job = False  # start a job as soon as nothing is in the way
        self._indexing = False
        self._held: deque[Task[Any]] = deque()  # writes waiting for their turn
        self._writes = 0  # write tasks started and not finished
        self._stopped = False

    @property
    def indexing(self) -> bool:
        """Whether a scan or ingest is running (watching alone is not indexing)."""
        return self._indexing

    @property
    def watching(self) -> bool:
        """Whether the folders are being watched (or will be, once it starts)."""
        if self._want_job and self._watch:
            return True
        job = self._job
        return job is not None and self._job_watches and not job.context.cancelled

    def set_watch_enabled(self, enabled: bool) -> None:
        """Switch between watching and scanning only on demand; restarts a running job."""
        enabled = enabled and not self._runner.sync
        if enabled == self._watch:
            return
        self._watch = enabled
        if self._job is not None and not self._job.context.cancelled:
            self._job.cancel()
            self._want_job = True  # the other kind, once this one has ended

    def start(self, *, rescan: bool = False) -> None:
        """Bring the library up to date, then keep watching it when watching is on.

        Args:
            rescan: Restart a running watcher, so that it reconciles the disk again.
        """
        if self._stopped:
            return
        job = self._job
        if job is not None and not job.context.cancelled:
            if self._job_watches and not rescan:
                return  # the watcher picks changes up by itself
            if self._job_watches:
                job.cancel()  # a fresh watch, once this one has ended
        self._want_job = True  # a one-shot scan runs again once the current one ends
        self._schedule()

    def pause(self, paused: bool) -> None:
        """Pause or resume the running scan or ingest (between batches)."""
        if self._job is not None:
            event = self._job.context.pause_event
            event.set() if paused else event.clear()

    def write(self, task: Task[T]) -> Task[T]:
        """Run `task`, whose `fn` calls the library's write methods, in its turn.

        Its callbacks arrive as usual. Writes run in the order they were asked for.

        Raises:
            ValueError: if `task` is not on the write lane.
        """
        if task.lane != "write":
            raise ValueError(f"write needs a task on the write lane, got {task.lane}")
        task.on_finished(self._on_write_finished)
        self._held.append(task)
        self._schedule()
        return task

    def stop(self) -> None:
        """Cancel the job for good and drop held writes (window closing); no signal follows."""
        self._stopped = True
        self._want_job = False
        self._held.clear()
        if self._job is not None:
            self._job.cancel()

    # -- private --------------------------------------------------------------

    def _schedule(self) -> None:
        """Start what may start now: held writes, then a wanted job (see the class)."""
        if self._stopped:
            return
        job = self._job
        if job is None or (self._watch_ready and not job.context.cancelled):
            while self._held:
                self._writes += 1
                self._held.popleft().start(self._runner)  # inline when sync
        if self._job is None and self._want_job and not self._writes:
            self._want_job = False
            self._start_job()

    def _start_job(self) -> None:
        library, watch = self._library, self._watch

        def fn(ctx: TaskContext) -> None:
            reports = (
                library.watch(cancel=ctx.cancel_event, pause=ctx.pause_event)
                if watch
                else library.update(cancel=ctx.cancel_event, pause=ctx.pause_event)
            )
            try:
                for report in throttle_progress(reports):
                    ctx.report_progress(report)
            finally:
                reports.close()  # a generator's `finally` (stop the observers) runs now

        task: Task[None] = Task(fn, lane="job", long_lived=watch)
        self._job, self._job_watches, self._watch_ready = task, watch, False
        task.on_progress(lambda value: self._on_job_progress(task, value))
        task.on_failure(lambda exc: self._on_job_failure(task, exc))
        task.on_finished(lambda: self._on_job_finished(task))
        task.start(self._runner)

    def _on_job_progress(self, task: Task[None], value: object) -> None:
        if task is not self._job or self._stopped:
            return  # a job replaced by a newer one, or the window is closing
        assert isinstance(value, Progress)
        if value.phase == "watch":
            if not self._watch_ready:
                # Its loop now runs the writes of other threads: let the held ones go.
                self._watch_ready = True
                self._schedule()
            self._finish_indexing()
            if value.done > 0:
                self.changes_applied.emit()
            return
        if not self._indexing:
            if value.phase == "ingest" and value.total == 0:
                return  # an ingest with nothing to do (after a write): no indexing
            self._indexing = True
            self.ingest_will_start.emit()
        self.progress_changed.emit(value)
        if (
            self._job_watches
            and value.phase == "ingest"
            and value.done >= value.total
            and not value.paused
        ):
            self._finish_indexing()  # caught up; the watcher now waits for changes

    def _on_job_failure(self, task: Task[None], exc: BaseException) -> None:
        if task is self._job and not self._stopped:
            self.failed.emit(exc)
        else:
            logger.info("a replaced indexing job failed: %s", exc)

    def _on_job_finished(self, task: Task[None]) -> None:
        if task is not self._job:
            return
        self._job, self._watch_ready = None, False
        if self._stopped:  # the window is closing: start nothing more
            self._indexing = False
            return
        self._finish_indexing()
        self._schedule()

    def _on_write_finished(self) -> None:
        self._writes -= 1
        self._schedule()

    def _finish_indexing(self) -> None:
        if self._indexing:
            self._indexing = False
            self.ingest_did_finish.emit()
