"""`FailedPhotos`: the window's failed-photos dialog and its Retry all.

Opens `FailedPhotosDialog` (from Tools > Failed photos… and the status bar's button),
keeps it in step with the library, and runs Retry all as one write of the window
(`IndexingWorker.write`): `Library.retry_failed`, then `Library.ingest`, which tries
the photos again now (on the watch loop while the folders are watched: nothing is
rescanned). Touches no catalog itself; the failed count is `LibrarySync`'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal

from sscq_desktop.library.progress import run_job
from sscq_desktop.ui.errors import show_exception
from sscq_desktop.ui.failed_photos_dialog import FailedPhotosDialog
from sscq_desktop.ui.photo_count import photo_count
from sscq_desktop.ui.tasks import Task, TaskContext

if TYPE_CHECKING:
    from sscq_desktop.ui.main_window import MainWindow


class FailedPhotos(QObject):
    """Shows and retries the photos that could not be indexed; owned by the window.

    The open dialog is reloaded after a refresh (`index_did_change`) only when the
    window's failed count changed or a Retry all ended, with that count.

    Signals:
        retry_did_finish(): the photos were tried again (see the window's
            `failed_count` once the next `index_did_change` arrives).

    Args:
        window: the window whose library, indexer and status bar it uses (and its
            parent).
    """

    retry_did_finish = Signal()

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        self._dialog: FailedPhotosDialog | None = None
        self._dialog_total = 0  # the failed count the open dialog last loaded with
        self._dialog_stale = False  # a retry ended since the dialog last loaded
        self._retrying: int | None = None  # photos queued by the running retry
        self._report: int | None = None  # retried photos to report on the next refresh
        window.status_bar.failed_photos_requested.connect(self.open_dialog)
        window.index_did_change.connect(self._on_window_index_did_change)

    @property
    def dialog(self) -> FailedPhotosDialog | None:
        """The failed photos dialog while it is open (it deletes itself on close)."""
        if self._dialog is not None and not shiboken6.isValid(self._dialog):
            self._dialog = None
        return self._dialog

    def open_dialog(self) -> FailedPhotosDialog:
        """Show the failed photos dialog (non-modal), or raise the one already open."""
        window = self._window
        self._dialog_total, self._dialog_stale = window.failed_count, False
        open_dialog = self.dialog
        if open_dialog is not None:
            open_dialog.reload(total=self._dialog_total)
            open_dialog.raise_()
            open_dialog.activateWindow()
            return open_dialog
        dialog = FailedPhotosDialog(
            window.library, window.runner, total=self._dialog_total, parent=window
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
        window = self._window
        library = window.library

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
                window.status_bar.showMessage(message, 10_000)
                self._set_retrying(count)
                window.refresh_library()  # the count drops: the dialog reloads then

        def success(count: int) -> None:
            self._set_retrying(None)
            if count == 0:
                window.status_bar.showMessage("No failed photos to try again.", 5_000)
                return
            self._report = count
            self._dialog_stale = True  # reloaded on the refresh that follows
            self.retry_did_finish.emit()
            window.refresh_library()

        def failure(exc: BaseException) -> None:
            self._set_retrying(None)
            self._dialog_stale = True
            show_exception(window, exc, title="Cannot retry the failed photos")

        task: Task[int] = Task(fn, lane="write").on_progress(progress)
        task.on_success(success).on_failure(failure)
        window.indexer.write(task)

    def _set_retrying(self, count: int | None) -> None:
        self._retrying = count
        dialog = self.dialog
        if dialog is not None:
            dialog.set_retrying(count)

    def _on_window_index_did_change(self) -> None:
        window = self._window
        dialog = self.dialog
        if dialog is not None and (
            self._dialog_stale or window.failed_count != self._dialog_total
        ):
            self._dialog_total, self._dialog_stale = window.failed_count, False
            dialog.reload(total=self._dialog_total)
        if self._report is not None and not window.indexing:
            tried, self._report = photo_count(self._report), None
            left = window.failed_count
            if left:
                window.status_bar.showMessage(
                    f"Tried {tried} again; {photo_count(left)} still cannot be read.",
                    30_000,
                )
            else:
                window.status_bar.showMessage(
                    f"Tried {tried} again: every photo is indexed.", 15_000
                )
