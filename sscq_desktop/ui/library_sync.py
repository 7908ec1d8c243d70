"""`LibrarySync`: keeps what `MainWindow` shows in step with the library and indexing.

Reloads photos, folders, the failed count and the active model off the GUI thread (the
latest request wins), follows `IndexingWorker` in the status bar and polls the folders
while idle. Reads the library only: its changes go through `IndexingWorker.write`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer

from sscq_desktop.library.path_text import display_path
from sscq_desktop.library.progress import Progress
from sscq_desktop.library.records import FolderOverview, ModelRecord
from sscq_desktop.ui.errors import show_exception, user_message
from sscq_desktop.ui.gallery_model import (
    GalleryUpdate,
    plan_gallery_update,
    sort_photos,
)
from sscq_desktop.ui.photo_count import photo_count
from sscq_desktop.ui.tasks import LatestRequest, Task, TaskContext

if TYPE_CHECKING:
    from sscq_desktop.ui.main_window import MainWindow

logger = logging.getLogger(__name__)

_GALLERY_REFRESH_S = 2.0  # during indexing, refresh the gallery at most this often
_FOLDER_POLL_MS = 15_000  # notice folders that vanish while the app is idle

_Refresh = tuple[GalleryUpdate, list[FolderOverview], int, ModelRecord | None, str]


class LibrarySync(QObject):
    """Refreshes what `MainWindow` shows of the library; owned by the window.

    Sets the window's `active_model`, `provider`, `failed_count` and `last_error`, and
    emits its `ingest_will_start` and `ingest_did_finish` (relaying the indexer) and
    `index_did_change` (after each applied refresh).

    Args:
        window: the window whose widgets it updates (and its parent).
    """

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        self._requests = LatestRequest()
        self._last_gallery_refresh = 0.0
        self._folders_shown: list[FolderOverview] | None = None
        self._status_model: tuple[ModelRecord | None, str] | None = None
        self._folder_timer = QTimer(window)
        self._folder_timer.setInterval(_FOLDER_POLL_MS)
        self._folder_timer.timeout.connect(self._on_folder_timer_timeout)
        self._folder_timer.start()
        indexer = window.indexer
        indexer.ingest_will_start.connect(self._on_indexer_ingest_will_start)
        indexer.progress_changed.connect(self._on_indexer_progress_changed)
        indexer.ingest_did_finish.connect(self._on_indexer_ingest_did_finish)
        indexer.changes_applied.connect(self._on_indexer_changes_applied)
        indexer.failed.connect(self._on_indexer_failed)

    def refresh(self) -> None:
        """Reload photos, folders, failures and the model; the gallery changes row by row.

        Sorting and comparing with the rows shown run off-thread (`plan_gallery_update`),
        so the GUI thread only inserts and removes the rows that changed.
        """
        window = self._window
        library = window.library
        sort_key = window.current_sort()
        request_id = self._requests.next_id()
        shown = window.gallery_model.photos  # never edited in place: safe to read there

        def fn(ctx: TaskContext) -> _Refresh:
            folders = library.folder_overviews()
            roots = {f.id: f.path for f in folders}
            photos = sort_photos(library.photos(), sort_key, roots=roots)
            return (
                plan_gallery_update(shown, photos),
                folders,
                library.count_errors(),
                library.active_model(),
                library.provider_name(),
            )

        def success(result: _Refresh) -> None:
            if not self._requests.is_current(request_id):
                return
            update, folders, failed, model, provider = result
            if not update.is_empty:
                window.gallery_model.apply_update(update)
            window.loader.retry_unavailable()  # ingest may have made them meanwhile
            window.gallery_count.setText(photo_count(window.gallery_model.rowCount()))
            self.set_folders(folders)
            if failed != window.failed_count:
                window.failed_count = failed
                window.status_bar.set_failed_count(failed)
            window.active_model, window.provider = model, provider
            if (model, provider) != self._status_model:
                self._status_model = (model, provider)
                window.status_bar.set_model(model, provider)
            if not window.indexing:
                window.status_bar.set_idle(self.summary())
            window.index_did_change.emit()

        Task(fn).on_success(success).on_failure(self._on_refresh_failure).start(
            window.runner
        )

    def set_folders(self, folders: Sequence[FolderOverview]) -> None:
        """Show `folders` in the folders panel and results scope; flag offline ones."""
        folders = list(folders)
        if folders == self._folders_shown:
            return  # refreshed every few seconds while indexing: skip the rebuild
        self._folders_shown = folders
        window = self._window
        window.folders_panel.set_folders(folders)
        window.results_panel.set_folders(folders)
        offline = [f for f in folders if f.offline]
        if offline:
            names = ", ".join(display_path(f.path) for f in offline)
            window.last_error = f"Folder offline (photos kept): {names}"
            window.status_bar.showMessage(window.last_error, 30_000)

    def summary(self) -> str:
        """The idle status text: how many photos are indexed, and whether watched."""
        text = f"{photo_count(self._window.gallery_model.rowCount())} indexed"
        return f"{text} · watching folders" if self._window.watching else text

    def stop(self) -> None:
        """Stop polling the folders (the window is shutting down)."""
        self._folder_timer.stop()

    def _on_indexer_ingest_will_start(self) -> None:
        self._window.ingest_will_start.emit()
        self._window.status_bar.show_progress("Indexing", _STARTING)

    def _on_indexer_progress_changed(self, value: object) -> None:
        assert isinstance(value, Progress)
        self._window.status_bar.show_progress("Indexing", value)
        now = time.monotonic()
        if now - self._last_gallery_refresh > _GALLERY_REFRESH_S:
            self._last_gallery_refresh = now
            self._window.refresh_library()

    def _on_indexer_failed(self, exc: object) -> None:
        assert isinstance(exc, BaseException)
        window = self._window
        window.last_error = user_message(exc)
        window.status_bar.showMessage(f"Indexing stopped: {window.last_error}", 15_000)
        show_exception(window, exc, title="Indexing stopped")

    def _on_indexer_ingest_did_finish(self) -> None:
        window = self._window
        window.status_bar.clearMessage()
        window.status_bar.set_idle(self.summary())
        window.refresh_library()
        if window.results_panel.query is not None:
            window.results_panel.refresh()  # newly indexed photos may belong in it
        window.ingest_did_finish.emit()

    def _on_indexer_changes_applied(self) -> None:
        self._window.refresh_library()

    def _on_refresh_failure(self, exc: BaseException) -> None:
        self._window.last_error = user_message(exc)
        self._window.status_bar.showMessage(self._window.last_error, 15_000)
        logger.warning("refresh failed: %s", exc)

    def _on_folder_timer_timeout(self) -> None:
        # Folders only: photos are refreshed by the watcher and after each ingest.
        library = self._window.library

        def fn(ctx: TaskContext) -> list[FolderOverview]:
            return library.folder_overviews()

        Task(fn).on_success(self.set_folders).on_failure(
            self._on_refresh_failure
        ).start(self._window.runner)


_STARTING = Progress(phase="scan", done=0, total=0)
"""Progress shown before the first report arrives."""
