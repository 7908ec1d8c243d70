"""`FailedPhotos`: the window's failed-photos dialog and its Retry all.

Opens `FailedPhotosDialog` (from Tools > Failed photos… and the status bar's button),
keeps it in step with the library, and runs Retry all as one write of the window
(`IndexingWorker.write`): `Library.retry_failed`, then `Library.ingest`, which tries
the photos again now (on the watch loop while the folders are watched: nothing is
rescanned). Touches no catalog itself; the failed count is `LibrarySync`'s (in the
window's `WindowState`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QWidget

from sscq_desktop.library.progress import run_job
from sscq_desktop.ui.errors import show_exception
from sscq_desktop.ui.failed_photos_dialog import FailedPhotosDialog
from sscq_desktop.ui.indexing_worker import IndexingWorker
from sscq_desktop.ui.library_sync import LibrarySync
from sscq_desktop.ui.photo_count import photo_count
from sscq_desktop.ui.status_bar import StatusBar
from sscq_desktop.ui.tasks import Task, TaskContext, TaskRunner
from sscq_desktop.ui.window_state import WindowState

if TYPE_CHECKING:
    from sscq_desktop.library.library import Library


class FailedPhotos(QObject):
    """Shows and retries the photos that could not be indexed; owned by the window.

    The open dialog is reloaded after a refresh (`LibrarySync.refreshed`) only when
    the state's failed count changed or a Retry all ended, with that count.

    Signals:
        retry_did_finish(): the photos were tried again (see the state's
            `failed_count` once the next refresh is applied).

    Args:
        state: the window's shared state (the failed count).
        library: the library whose failed photos it lists and retries.
        runner: loads the dialog's list off the GUI thread.
        indexer: runs Retry all as one of the window's writes.
        sync: refreshes the counts after a retry, and says when it did.
        status_bar: its button opens the dialog; it reports how a retry went.
        parent: the window the dialog opens over (and this object's parent).
    """

    retry_did_finish = Signal()

    def __init__(
        self,
        state: WindowState,
        library: Library,
        runner: TaskRunner,
        indexer: IndexingWorker,
        sync: LibrarySync,
        status_bar: StatusBar,
        *,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self._state = state
        self._library = library
        self._runner = runner
        self._indexer = indexer
        self._sync = sync
        self._status_bar = status_bar
        self._widget = parent
        self._dialog: FailedPhotosDialog | None = None
        self._dialog_total = 0  # the failed count the open dialog last loaded with
        self._dialog_stale = False  # a retry ended since the dialog last loaded
        self._retrying: int | None = None  # photos queued by the running retry
        self._report: int | None = None  # retried photos to report on the next refresh
        status_bar.failed_photos_requested.connect(self.open_dialog)
        sync.refreshed.connect(self._on_sync_refreshed)

    @property
    def dialog(self) -> FailedPhotosDialog | None:
        """The failed photos dialog while it is open (it deletes itself on close)."""
        if self._dialog is not None and not shiboken6.isValid(self._dialog):
            self._dialog = None
        return self._dialog

    def open_dialog(self) -> FailedPhotosDialog:
        """Show the failed photos dialog (non-modal), or raise the one already open."""
        self._dialog_total, self._dialog_stale = self._state.failed_count, False
        open_dialog = self.dialog
        if open_dialog is not None:
            open_dialog.reload(total=self._dialog_total)
            open_dialog.raise_()
            open_dialog.activateWindow()
            return open_dialog
        dialog = FailedPhotosDialog(
            self._library, self._runner, total=self._dialog_total, parent=self._widget
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.retry_requested.connect(self.retry_all)
        dialog.set_retrying(self._retrying)
        self._dialog = dialog
        dialog.show()
        return dialog

    def retry_all(self) -> None:
        """Queue every failed photo for another try and try them now.

        One write (`IndexingWorker.write`): `Library.retry_failed`, whose count is
        reported as progress, then `Library.ingest`, which a running watch loop runs
        between two batches; the task ends when every retried photo was tried.
        """
        library = self._library
        status_bar = self._status_bar

        def fn(ctx: TaskContext) -> int:
            count = library.retry_failed()
            ctx.report_progress(count)
            if count:
                run_job(library.ingest(cancel=ctx.cancel_event))
                ctx.check_cancelled()
            return count

        def progress(count: object) -> None:
            assert isinstance(count, int)
            if count:
                message = f"Trying {photo_count(count)} again…"
                status_bar.showMessage(message, 10_000)
                self._set_retrying(count)
                self._sync.refresh()  # the count drops: the dialog reloads then

        def success(count: int) -> None:
            self._set_retrying(None)
            if count == 0:
                status_bar.showMessage("No failed photos to try again.", 5_000)
                return
            self._report = count
            self._dialog_stale = True  # reloaded on the refresh that follows
            self.retry_did_finish.emit()
            self._sync.refresh()

        def failure(exc: BaseException) -> None:
            self._set_retrying(None)
            self._dialog_stale = True
            show_exception(self._widget, exc, title="Cannot retry the failed photos")

        task: Task[int] = Task(fn, lane="write").on_progress(progress)
        task.on_success(success).on_failure(failure)
        self._indexer.write(task)

    def _set_retrying(self, count: int | None) -> None:
        self._retrying = count
        dialog = self.dialog
        if dialog is not None:
            dialog.set_retrying(count)

    def _on_sync_refreshed(self) -> None:
        failed = self._state.failed_count
        dialog = self.dialog
        if dialog is not None and (self._dialog_stale or failed != self._dialog_total):
            self._dialog_total, self._dialog_stale = failed, False
            dialog.reload(total=self._dialog_total)
        if self._report is not None and not self._indexer.indexing:
            tried, self._report = photo_count(self._report), None
            left = failed
            if left:
                self._status_bar.showMessage(
                    f"Tried {tried} again; {photo_count(left)} still cannot be read.",
                    30_000,
                )
            else:
                self._status_bar.showMessage(
                    f"Tried {tried} again: every photo is indexed.", 15_000
                )
