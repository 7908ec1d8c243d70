"""`IndexingWorker`: keeps the library indexed and, by default, watches its folders.

Runs `LibraryBackend.watch` (reconcile at start, then apply each batch of folder changes)
or, with watching off, one `LibraryBackend.ingest`, as a `Task` on the writer lane. Other
writes (add or remove a folder, switch models) go through `run_write`, which suspends the
watcher while they run and restarts it after them: the catalog keeps a single writer.
Progress reaches the GUI thread at most ~10 times a second. Touches no widget.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from PySide6.QtCore import QObject, Signal

from sscq_desktop.ui.library_backend import LibraryBackend, ProgressLike
from sscq_desktop.ui.tasks import Task, TaskContext, TaskRunner

logger = logging.getLogger(__name__)

T = TypeVar("T")
P = TypeVar("P", bound=ProgressLike)

PROGRESS_INTERVAL_S = 0.1
"""Progress reports closer together than this are dropped (the GUI needs ~10 Hz)."""


def throttle_progress(
    reports: Iterable[P],
    interval_s: float = PROGRESS_INTERVAL_S,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[P]:
    """`reports`, without those that follow the last one kept by less than `interval_s`.

    Reports that change state are always kept: a new phase, a ``watch`` report, a paused
    one and the last of a job (``done >= total``). The dropped ones only carry counts
    that the next kept report supersedes.
    """
    last_time = -math.inf
    last_phase: str | None = None
    for report in reports:
        now = clock()
        phase = getattr(report, "phase", "")
        if (
            phase != last_phase
            or phase == "watch"
            or getattr(report, "paused", False)
            or report.done >= report.total
            or now - last_time >= interval_s
        ):
            last_time, last_phase = now, phase
            yield report


class IndexingWorker(QObject):
    """Schedules indexing and folder watching on the writer lane.

    Signals:
        ingest_will_start(): a scan or ingest begins (start-up, new folder, changes...).
        progress_changed(object): a `ProgressLike` of the running scan or ingest.
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
        backend: LibraryBackend,
        runner: TaskRunner,
        *,
        watch: bool = True,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._backend = backend
        self._runner = runner
        # A watcher never ends: a synchronous runner (tests) would never return from it.
        self._watch = watch and not runner.sync
        self._job: Task[None] | None = None
        self._job_watches = False
        self._indexing = False
        self._again = False  # one-shot mode: scan again once the current run ends
        self._writes = 0  # write tasks started through run_write and not finished
        self._resume = False  # start the job once those writes are done
        self._stopped = False

    @property
    def indexing(self) -> bool:
        """Whether a scan or ingest is running (watching alone is not indexing)."""
        return self._indexing

    @property
    def watching(self) -> bool:
        """Whether the folders are being watched (or will be, after pending writes)."""
        if self._resume and self._watch:
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
            self.start()

    def start(self, *, rescan: bool = False) -> None:
        """Bring the library up to date, then keep watching it when watching is on.

        Args:
            rescan: Restart a running watcher, so that it reconciles the disk again.
        """
        if self._stopped:
            return
        if self._writes:  # the job starts once they are done (FIFO writer lane)
            self._resume = True
            return
        job = self._job
        if job is not None and not job.context.cancelled:
            if not self._job_watches:
                self._again = True  # folders changed mid-run: scan again after it
                return
            if not rescan:
                return
            job.cancel()
        self._start_job()

    def pause(self, paused: bool) -> None:
        """Pause or resume the running scan or ingest (between batches)."""
        if self._job is not None:
            event = self._job.context.pause_event
            event.set() if paused else event.clear()

    def run_write(self, task: Task[T]) -> Task[T]:
        """Start a writer-lane `task`, with the watcher suspended until it is done."""
        if task.lane != "write":
            raise ValueError(
                f"run_write needs a task on the write lane, got {task.lane}"
            )
        job = self._job
        if job is not None and self._job_watches and not job.context.cancelled:
            job.cancel()  # it stops within a batch; the write queues behind it
            self._resume = True
        self._writes += 1
        task.on_finished(self._on_write_finished)
        return task.start(self._runner)

    def stop(self) -> None:
        """Cancel the job for good (window closing); no signal follows."""
        self._stopped = True
        self._resume = self._again = False
        if self._job is not None:
            self._job.cancel()

    # -- private --------------------------------------------------------------

    def _start_job(self) -> None:
        backend, watch = self._backend, self._watch

        def fn(ctx: TaskContext) -> None:
            if watch:
                reports = backend.watch(cancel=ctx.cancel_event, pause=ctx.pause_event)
            else:
                reports = backend.ingest(cancel=ctx.cancel_event, pause=ctx.pause_event)
            try:
                for report in throttle_progress(reports):
                    ctx.report_progress(report)
            finally:
                close = getattr(reports, "close", None)
                if close is not None:
                    close()  # a generator's `finally` (stop the observers) runs now

        task: Task[None] = Task(fn, lane="write", long_lived=watch)
        self._job, self._job_watches = task, watch
        task.on_progress(lambda value: self._on_job_progress(task, value))
        task.on_failure(lambda exc: self._on_job_failure(task, exc))
        task.on_finished(lambda: self._on_job_finished(task))
        task.start(self._runner)

    def _on_job_progress(self, task: Task[None], value: object) -> None:
        if task is not self._job or self._stopped:
            return  # a job replaced by a newer one, or the window is closing
        report: ProgressLike = value  # type: ignore[assignment]
        phase = getattr(report, "phase", "ingest")
        if phase == "watch":
            self._finish_indexing()
            if report.done > 0:
                self.changes_applied.emit()
            return
        if not self._indexing:
            self._indexing = True
            self.ingest_will_start.emit()
        self.progress_changed.emit(report)
        if (
            self._job_watches
            and phase == "ingest"
            and report.done >= report.total
            and not getattr(report, "paused", False)
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
        self._job = None
        if self._stopped:  # the window is closing: start nothing more
            self._indexing = False
            return
        self._finish_indexing()
        if self._again:
            self._again = False
            self.start()

    def _on_write_finished(self) -> None:
        self._writes -= 1
        if self._writes == 0 and self._resume:
            self._resume = False
            self.start()

    def _finish_indexing(self) -> None:
        if self._indexing:
            self._indexing = False
            self.ingest_did_finish.emit()
