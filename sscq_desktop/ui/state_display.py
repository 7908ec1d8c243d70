"""`StateDisplay`: shows the window's `WindowState` in its widgets.

One `LibraryCounts` snapshot reaches the gallery's count (or its hint while the library
has no folder), the folder tree, the results' folder scope, the failed photos button and
the status bar in one go, so they agree; the active model and provider go to the status
bar, and the last error to its message line. Shows what the state holds; runs nothing.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject

from sscq_desktop.ui.folders_panel import FoldersPanel
from sscq_desktop.ui.gallery_panel import GalleryPanel
from sscq_desktop.ui.indexing_worker import IndexingWorker
from sscq_desktop.ui.library_sync import LibrarySync
from sscq_desktop.ui.photo_count import photo_count
from sscq_desktop.ui.results_panel import ResultsPanel
from sscq_desktop.ui.status_bar import StatusBar, job_verb
from sscq_desktop.ui.window_state import LibraryCounts, WindowState

ERROR_SHOWN_MS = 30_000
"""How long the status bar shows a new last error."""


class StateDisplay(QObject):
    """Keeps the window's widgets showing its `WindowState`; owned by the window.

    Args:
        state: the state shown.
        gallery: shows the photo count, or the hint of a library without folders.
        folders: the folder tree, with each folder's count.
        results: its folder scope lists the same folders (roots and subfolders).
        status_bar: progress or the idle line, failed photos, model, last error.
        indexer: says whether the folders are watched (the idle line says so).
        sync: after each refresh, the idle line is written again (watching may change).
        parent: the owner (the window).
    """

    def __init__(
        self,
        state: WindowState,
        *,
        gallery: GalleryPanel,
        folders: FoldersPanel,
        results: ResultsPanel,
        status_bar: StatusBar,
        indexer: IndexingWorker,
        sync: LibrarySync,
        parent: QObject,
    ) -> None:
        super().__init__(parent)
        self._state = state
        self._gallery = gallery
        self._folders = folders
        self._results = results
        self._status_bar = status_bar
        self._indexer = indexer
        self._results_folders: tuple[Path, ...] | None = None
        state.counts_changed.connect(self._on_state_counts_changed)
        state.active_model_changed.connect(self._on_state_model_changed)
        state.provider_changed.connect(self._on_state_model_changed)
        state.last_error_changed.connect(self._on_state_last_error_changed)
        sync.refreshed.connect(self._on_sync_refreshed)

    def _on_state_counts_changed(self, counts: object) -> None:
        assert isinstance(counts, LibraryCounts)
        self._gallery.show_count(
            counts.gallery_count,
            has_folders=bool(counts.folders),
            folder=counts.gallery_folder,
        )
        self._folders.set_folders(counts.folders, counts.subfolders)
        paths = tuple(f.path for f in counts.folders) + tuple(
            s.path for s in counts.subfolders
        )
        if paths != self._results_folders:  # counts change often, folders not
            self._results_folders = paths
            self._results.set_folders(counts.folders, counts.subfolders)
        self._status_bar.set_failed_count(counts.failed_count)
        self._show_status(counts)

    def _on_sync_refreshed(self) -> None:
        counts = self._state.counts
        if counts is not None and counts.progress is None:
            self._show_status(counts)

    def _show_status(self, counts: LibraryCounts) -> None:
        progress = counts.progress
        if progress is not None:
            self._status_bar.show_progress(job_verb(progress), progress)
            return
        text = f"{photo_count(counts.photo_count)} indexed"
        watching = self._indexer.watching
        self._status_bar.set_idle(f"{text} · watching folders" if watching else text)

    def _on_state_model_changed(self, _value: object) -> None:
        self._status_bar.set_model(self._state.active_model, self._state.provider)

    def _on_state_last_error_changed(self, error: object) -> None:
        if isinstance(error, str):
            self._status_bar.showMessage(error, ERROR_SHOWN_MS)
