"""`LibrarySync`: keeps the window's `WindowState` and gallery in step with the library.

Reads one snapshot off the GUI thread (photos, folders and their subfolders, the failed
count, the active model) and applies it in one go: the gallery's rows (all photos, or
those below the state's `gallery_folder`) and the state's `LibraryCounts`, whose folder
counts are counted from those same photos and whose progress is the
indexing report current when the snapshot was read, so every count on screen agrees.
One refresh runs at a time; asking during one runs one more after it, so a refresh
always lands even while indexing asks for them often. Polls the folders while idle.
Reads the library only: its changes go through `IndexingWorker.write`.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

from sscq_desktop.library.path_text import display_path
from sscq_desktop.library.progress import Progress
from sscq_desktop.library.records import (
    FolderOverview,
    ModelRecord,
    SubfolderOverview,
)
from sscq_desktop.ui.errors import show_exception, user_message
from sscq_desktop.ui.gallery_model import (
    GalleryModel,
    GalleryUpdate,
    photos_below,
    plan_gallery_update,
    sort_photos,
)
from sscq_desktop.ui.indexing_worker import IndexingWorker
from sscq_desktop.ui.settings import GallerySort
from sscq_desktop.ui.tasks import Task, TaskContext, TaskRunner
from sscq_desktop.ui.thumbnail_loader import ThumbnailLoader
from sscq_desktop.ui.window_state import LibraryCounts, WindowState

if TYPE_CHECKING:
    from sscq_desktop.library.library import Library

logger = logging.getLogger(__name__)

REFRESH_INTERVAL_S = 1.0
"""While indexing, a progress report starts a refresh only this long after the last one
ended: reading and sorting a large library takes the GIL from indexing for a while."""

_FOLDER_POLL_MS = 15_000  # notice folders that vanish while the app is idle


@dataclass(frozen=True)
class _Snapshot:
    """What one refresh read, in the order the gallery shows it."""

    sort: GallerySort
    gallery_folder: Path | None
    update: GalleryUpdate
    photo_count: int
    folders: tuple[FolderOverview, ...]
    subfolders: tuple[SubfolderOverview, ...]
    failed: int
    model: ModelRecord | None
    provider: str


class LibrarySync(QObject):
    """Refreshes the gallery and the window's `WindowState` from the library.

    Writes the state's counts, `active_model`, `provider` and `last_error`; follows
    its `gallery_folder` (a new folder reads the gallery's rows again).

    Signals:
        refreshed(): a refresh was applied (the gallery and the counts are current).

    Args:
        state: the window's shared state (its settings give the gallery's order).
        library: the library it reads.
        runner: runs the reads off the GUI thread.
        indexer: the indexing job it follows (progress, changes, failures).
        gallery: the gallery's model, whose rows it updates.
        loader: the thumbnail loader, asked again for thumbnails ingest has made.
        parent: the widget error messages open over (and its parent).
    """

    refreshed = Signal()

    def __init__(
        self,
        state: WindowState,
        library: Library,
        runner: TaskRunner,
        indexer: IndexingWorker,
        gallery: GalleryModel,
        loader: ThumbnailLoader,
        *,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self._state = state
        self._library = library
        self._runner = runner
        self._indexer = indexer
        self._gallery = gallery
        self._loader = loader
        self._widget = parent
        self._running = False  # a refresh is being read
        self._again = False  # one more refresh once the running one is applied
        self._stopped = False
        self._progress: Progress | None = None  # the indexer's latest report
        self._last_end = 0.0  # time.monotonic() when the last refresh ended
        self._folder_timer = QTimer(self)
        self._folder_timer.setInterval(_FOLDER_POLL_MS)
        self._folder_timer.timeout.connect(self._on_folder_timer_timeout)
        self._folder_timer.start()
        indexer.ingest_will_start.connect(self._on_indexer_ingest_will_start)
        indexer.progress_changed.connect(self._on_indexer_progress_changed)
        indexer.ingest_did_finish.connect(self._on_indexer_ingest_did_finish)
        indexer.changes_applied.connect(self.refresh)
        indexer.failed.connect(self._on_indexer_failed)
        state.gallery_folder_changed.connect(self._on_state_gallery_folder_changed)

    def refresh(self) -> None:
        """Read the library again and apply it; during a refresh, one more follows it.

        Sorting and comparing with the rows shown run off-thread (`plan_gallery_update`),
        so the GUI thread only inserts and removes the rows that changed.
        """
        if self._stopped:
            return
        if self._running:
            self._again = True
            return
        self._running, self._again = True, False
        library = self._library
        sort = self._state.settings.gallery_sort
        where = self._state.gallery_folder
        progress = self._progress  # its photos are in the catalog before this read
        shown = self._gallery.photos  # never edited in place: safe to read there

        def fn(ctx: TaskContext) -> _Snapshot:
            folders = library.folder_overviews()
            roots = {f.id: f.path for f in folders}
            photos = sort_photos(library.photos(), sort, roots=roots)
            counts = Counter(p.folder_id for p in photos)
            rows = photos if where is None else photos_below(photos, where)
            return _Snapshot(
                sort,
                where,
                plan_gallery_update(shown, rows),
                len(photos),
                tuple(replace(f, photo_count=counts[f.id]) for f in folders),
                tuple(library.subfolders(photos)),
                library.count_errors(),
                library.active_model(),
                library.provider_name(),
            )

        def success(snapshot: _Snapshot) -> None:
            state = self._state
            if (snapshot.sort, snapshot.gallery_folder) == (
                state.settings.gallery_sort,
                state.gallery_folder,
            ):
                self._apply(snapshot, progress)
            else:
                self._again = True  # the order or folder changed meanwhile: read again

        task: Task[_Snapshot] = Task(fn).on_success(success)
        task.on_failure(self._on_refresh_failure).on_finished(self._on_refresh_finished)
        task.start(self._runner)

    def show_folder_status(self, folders: Sequence[FolderOverview]) -> None:
        """Take the online or offline state of `folders`; other roots: refresh all.

        The photo counts stay the last snapshot's, so they agree with the gallery.
        """
        counts = self._state.counts
        if counts is None or {f.id for f in folders} != {f.id for f in counts.folders}:
            self.refresh()
            return
        self._set_counts(counts.with_folder_status(tuple(folders)))

    def stop(self) -> None:
        """Stop refreshing and polling the folders (the window is shutting down)."""
        self._stopped = True
        self._folder_timer.stop()

    def _apply(self, snapshot: _Snapshot, progress: Progress | None) -> None:
        if not snapshot.update.is_empty:
            self._gallery.apply_update(snapshot.update)
        self._loader.retry_unavailable()  # ingest may have made them meanwhile
        self._set_counts(
            LibraryCounts(
                photo_count=snapshot.photo_count,
                folders=snapshot.folders,
                failed_count=snapshot.failed,
                progress=progress,
                subfolders=snapshot.subfolders,
                gallery_folder=snapshot.gallery_folder,
                gallery_count=self._gallery.rowCount(),
            )
        )
        self._state.active_model = snapshot.model
        self._state.provider = snapshot.provider
        self.refreshed.emit()

    def _set_counts(self, counts: LibraryCounts) -> None:
        self._state.counts = counts
        offline = [f for f in counts.folders if f.offline]
        if offline:
            names = ", ".join(display_path(f.path) for f in offline)
            self._state.last_error = f"Folder offline (photos kept): {names}"

    def _on_refresh_finished(self) -> None:
        self._running = False
        self._last_end = time.monotonic()
        if self._again:
            self.refresh()

    def _on_state_gallery_folder_changed(self, _folder: object) -> None:
        self.refresh()

    def _on_indexer_ingest_will_start(self) -> None:
        self._progress = _STARTING
        self.refresh()

    def _on_indexer_progress_changed(self, value: object) -> None:
        assert isinstance(value, Progress)
        self._progress = value
        if not self._running and time.monotonic() - self._last_end > REFRESH_INTERVAL_S:
            self.refresh()

    def _on_indexer_failed(self, exc: object) -> None:
        assert isinstance(exc, BaseException)
        self._state.last_error = f"Indexing stopped: {user_message(exc)}"
        show_exception(self._widget, exc, title="Indexing stopped")

    def _on_indexer_ingest_did_finish(self) -> None:
        self._progress = None
        self.refresh()

    def _on_refresh_failure(self, exc: BaseException) -> None:
        self._state.last_error = user_message(exc)
        logger.warning("refresh failed: %s", exc)

    def _on_folder_timer_timeout(self) -> None:
        # Folders only: photos are refreshed by the watcher and after each ingest.
        library = self._library

        def fn(ctx: TaskContext) -> list[FolderOverview]:
            return library.folder_overviews()

        Task(fn).on_success(self.show_folder_status).on_failure(
            self._on_refresh_failure
        ).start(self._runner)


_STARTING = Progress(phase="scan", done=0, total=0)
"""Progress shown before the first report arrives."""
