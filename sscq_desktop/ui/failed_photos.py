"""`FailedPhotos`: the window's failed-photos dialog and its Retry all.

Opens `FailedPhotosDialog` (from Tools > Failed photos… and the status bar's button),
keeps it in step with the library, and runs `LibraryBackend.retry_failed` on the writer
lane (through the window's `IndexingWorker`), then indexing, so the photos are tried
again now. Touches no catalog itself; the failed count is `LibrarySync`'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal

from sscq_desktop.ui.errors import show_exception
from sscq_desktop.ui.failed_photos_dialog import FailedPhotosDialog
from sscq_desktop.ui.signals import emit
from sscq_desktop.ui.tasks import Task, TaskContext

if TYPE_CHECKING:
    from sscq_desktop.ui.main_window import MainWindow


class FailedPhotos(QObject):
    """Shows and retries the photos that could not be indexed; owned by the window.

    Signals:
        retry_did_start(int): this many failed photos were queued and indexing started.
        retry_did_finish(): the indexing that tried them again is over (see the
            window's `failed_count` once the next `index_did_change` arrives).

    Args:
        window: the window whose backend, writer lane and status bar it uses (and its
            parent).
    """

    retry_did_start = Signal(int)
    retry_did_finish = Signal()

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        self._dialog: FailedPhotosDialog | None = None
        self._retrying: int | None = None  # photos queued by the running retry
        self._report: int | None = None  # retried photos to report on the next refresh
        window.status_bar.failed_photos_requested.connect(self.open_dialog)
        window.index_did_change.connect(self._on_window_index_did_change)
        window.ingest_did_finish.connect(self._on_window_ingest_did_finish)
        window.indexer.failed.connect(self._on_indexer_failed)

    @property
    def dialog(self) -> FailedPhotosDialog | None:
        """The failed photos dialog while it is open (it deletes itself on close)."""
        if self._dialog is not None and not shiboken6.isValid(self._dialog):
            self._dialog = None
        return self._dialog

    @property
    def retrying(self) -> bool:
        """Whether a Retry all is queued or its indexing is running."""
        return self._retrying is not None

    def open_dialog(self) -> FailedPhotosDialog:
        """Show the failed photos dialog (non-modal), or raise the one already open."""
        open_dialog = self.dialog
        if open_dialog is not None:
            open_dialog.reload()
            open_dialog.raise_()
            open_dialog.activateWindow()
            return open_dialog
        window = self._window
        dialog = FailedPhotosDialog(window.backend, window.runner, parent=window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.retry_requested.connect(self.retry_all)
        dialog.set_retrying(self._retrying)
        self._dialog = dialog
        dialog.show()
        return dialog

    def retry_all(self) -> None:
        """Queue every failed photo for another try, then index (and watch) again."""
        window = self._window
        backend = window.backend

        def fn(ctx: TaskContext) -> int:
            return backend.retry_failed()

        def success(count: int) -> None:
            if count == 0:
                window.status_bar.showMessage("No failed photos to try again.", 5_000)
                self._set_retrying(None)
                return
            noun = "photo" if count == 1 else "photos"
            window.status_bar.showMessage(f"Trying {count:,} {noun} again…", 10_000)
            self._set_retrying(count)
            window.refresh_library()
            window.start_indexing()  # runs once this write is done (writer lane)
            emit(self.retry_did_start, count)

        def failure(exc: BaseException) -> None:
            self._set_retrying(None)
            show_exception(window, exc, title="Cannot retry the failed photos")

        task: Task[int] = Task(fn, lane="write").on_success(success)
        task.on_failure(failure)
        window.indexer.run_write(task)

    def _set_retrying(self, count: int | None) -> None:
        self._retrying = count
        dialog = self.dialog
        if dialog is not None:
            dialog.set_retrying(count)
            dialog.reload()

    def _on_window_ingest_did_finish(self) -> None:
        if self._retrying is not None:
            self._report = self._retrying
            self._set_retrying(None)
            emit(self.retry_did_finish)

    def _on_indexer_failed(self, _exc: object) -> None:
        self._report = None
        self._set_retrying(None)  # the window shows the error itself

    def _on_window_index_did_change(self) -> None:
        window = self._window
        dialog = self.dialog
        if dialog is not None:
            dialog.reload()
        if self._report is not None and not window.indexing:
            tried, self._report = self._report, None
            noun = "photo" if tried == 1 else "photos"
            left = window.failed_count
            if left:
                still = f"{left:,} photo{'s' if left != 1 else ''} still cannot be read"
                window.status_bar.showMessage(
                    f"Tried {tried:,} {noun} again; {still}.", 30_000
                )
            else:
                window.status_bar.showMessage(
                    f"Tried {tried:,} {noun} again: every photo is indexed.", 15_000
                )
