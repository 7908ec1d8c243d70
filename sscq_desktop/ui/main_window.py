"""`MainWindow`: folders, the gallery, similar results, near duplicates and the status bar.

Lays out the panels and wires them to the `Library` through `Task`s; each role lives in
a helper it owns (`GalleryPanel`, `LibrarySync`, `QueryInput`, `ModelSwitcher`,
`WindowDialogs`, `FailedPhotos`, `MainMenus`, `WindowGeometryStore`), and its public
methods delegate to them. What the helpers share (settings, the active model, the
library's counts, the last error) is one `WindowState`; each helper gets it and the
collaborators it uses, never the window, and `StateDisplay` shows it in the widgets.
Knows nothing of SQL, onnxruntime or torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QMimeData, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QMainWindow, QSplitter, QTabWidget, QWidget

from sscq_desktop.library.records import (
    FolderOverview,
    ModelRecord,
    PhotoRecord,
    SearchHit,
)
from sscq_desktop.library.retrain.retrainer import TrainerCommand
from sscq_desktop.ui.duplicates_view import DuplicatesView
from sscq_desktop.ui.errors import show_exception
from sscq_desktop.ui.failed_photos import FailedPhotos
from sscq_desktop.ui.failed_photos_dialog import FailedPhotosDialog
from sscq_desktop.ui.folders_panel import FoldersPanel
from sscq_desktop.ui.gallery_panel import GalleryPanel
from sscq_desktop.ui.indexing_worker import IndexingWorker
from sscq_desktop.ui.library_sync import LibrarySync
from sscq_desktop.ui.main_menus import MainMenus
from sscq_desktop.ui.model_switcher import ModelSwitcher
from sscq_desktop.ui.preview_dialog import PreviewDialog
from sscq_desktop.ui.query_input import PastedImage, QueryInput
from sscq_desktop.ui.results_panel import ResultsPanel
from sscq_desktop.ui.retrain_dialog import RetrainDialog
from sscq_desktop.ui.settings import AppSettings, GallerySort
from sscq_desktop.ui.settings_dialog import SettingsDialog
from sscq_desktop.ui.state_display import StateDisplay
from sscq_desktop.ui.status_bar import StatusBar
from sscq_desktop.ui.tasks import Task, TaskContext, TaskRunner
from sscq_desktop.ui.thumbnail_loader import ThumbnailLoader
from sscq_desktop.ui.window_dialogs import WindowDialogs
from sscq_desktop.ui.window_geometry import WindowGeometryStore
from sscq_desktop.ui.window_state import WindowState

if TYPE_CHECKING:
    from sscq_desktop.library.library import Library


class MainWindow(QMainWindow):
    """The app's window.

    Attributes:
        state: the shared `WindowState` (settings, model, counts, last error).

    Signals:
        ingest_will_start(): indexing is about to run.
        ingest_did_finish(): indexing ended (done, cancelled or failed); the folders
            may still be watched.
        index_did_change(): the gallery and folder counts were refreshed.
        model_did_change(object): a new `ModelRecord` is active.
        settings_did_change(object): the `AppSettings` in use changed (saved in
            Settings, another gallery order...).
    """

    ingest_will_start = Signal()
    ingest_did_finish = Signal()
    index_did_change = Signal()
    model_did_change = Signal(object)
    settings_did_change = Signal(object)

    def __init__(
        self,
        library: Library,
        runner: TaskRunner,
        settings: AppSettings,
        *,
        loader: ThumbnailLoader | None = None,
        qsettings_path: Path | None = None,
        trainer_command: TrainerCommand | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.runner = runner
        self.state = WindowState(settings, parent=self)
        self.loader = (
            loader if loader is not None else ThumbnailLoader(library, parent=self)
        )
        self._geometry = WindowGeometryStore(qsettings_path)
        self.indexer = IndexingWorker(
            library, runner, watch=settings.watch_folders, parent=self
        )
        self.setWindowTitle("SSCQ Desktop")
        self.setAcceptDrops(True)
        self.resize(1200, 800)

        size = settings.thumbnail_size
        self.folders_panel = FoldersPanel()
        self.gallery_panel = GalleryPanel(
            self.loader, thumbnail_size=size, sort=settings.gallery_sort
        )
        self.gallery_model = self.gallery_panel.model
        self.gallery_view = self.gallery_panel.view
        self.sort_combo = self.gallery_panel.sort_combo
        self.gallery_count = self.gallery_panel.count_label
        self.results_panel = ResultsPanel(
            library,
            runner,
            self.loader,
            k=settings.results_k,
            min_band=settings.min_band,
            thumbnail_size=size,
        )
        self.duplicates_view = DuplicatesView(
            library, runner, self.loader, level=settings.duplicate_level
        )
        self.tabs = QTabWidget()
        self.tabs.addTab(self.gallery_panel, "Library")
        self.tabs.addTab(self.results_panel, "Similar")
        self.tabs.addTab(self.duplicates_view, "Near duplicates")
        splitter = QSplitter()
        splitter.addWidget(self.folders_panel)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([260, 940])
        self.setCentralWidget(splitter)
        self.status_bar = StatusBar()
        self.setStatusBar(self.status_bar)

        self.menus = MainMenus(self.menuBar(), self)
        self.add_folder_action = self.menus.add_folder
        self.search_by_image_action = self.menus.search_by_image
        self.paste_action = self.menus.paste
        self.rescan_action = self.menus.rescan
        self.duplicates_action = self.menus.duplicates
        self.retrain_action = self.menus.retrain
        self.settings_action = self.menus.settings
        # follows the indexer, polls the folders, writes the state's counts
        self.library_sync = LibrarySync(
            self.state,
            library,
            runner,
            self.indexer,
            self.gallery_model,
            self.loader,
            parent=self,
        )
        # the failed photos dialog and Retry all
        self.failed_photos = FailedPhotos(
            self.state,
            library,
            runner,
            self.indexer,
            self.library_sync,
            self.status_bar,
            parent=self,
        )
        self.query_input = QueryInput(runner, parent=self)
        self.model_switcher = ModelSwitcher(
            self.state,
            library,
            self.indexer,
            self.library_sync,
            self.status_bar,
            parent=self,
        )
        self.dialogs = WindowDialogs(
            self.state, library, runner, trainer_command=trainer_command, parent=self
        )

        self._display = StateDisplay(
            self.state,
            gallery=self.gallery_panel,
            folders=self.folders_panel,
            results=self.results_panel,
            status_bar=self.status_bar,
            indexer=self.indexer,
            sync=self.library_sync,
            parent=self,
        )
        self._connect_menus()
        self.state.settings_changed.connect(self._on_state_settings_changed)
        self.library_sync.refreshed.connect(self.index_did_change)
        self.indexer.ingest_will_start.connect(self.ingest_will_start)
        self.indexer.ingest_did_finish.connect(self._on_indexer_ingest_did_finish)
        self.model_switcher.model_switched.connect(
            self._on_model_switcher_model_switched
        )
        self.dialogs.find_similar_requested.connect(self.find_similar)
        self.dialogs.settings_accepted.connect(self._on_dialogs_settings_accepted)
        self.dialogs.switch_requested.connect(self.switch_model)
        self.folders_panel.add_requested.connect(self._on_folders_panel_add_requested)
        self.folders_panel.remove_requested.connect(
            self._on_folders_panel_remove_requested
        )
        self.folders_panel.folder_selected.connect(
            self._on_folders_panel_folder_selected
        )
        self.gallery_view.find_similar_requested.connect(self.find_similar)
        self.gallery_view.preview_requested.connect(
            lambda photo: self.show_preview(photo, self.gallery_model.photos)
        )
        self.results_panel.find_similar_requested.connect(self.find_similar)
        self.results_panel.preview_requested.connect(
            lambda hit: self.show_preview(hit, self.results_panel.model.hits)
        )
        self.duplicates_view.preview_requested.connect(self.show_preview)
        # Trashed photos leave the gallery, the counts and the tree at once, watched
        # folders or not.
        self.duplicates_view.trash_done.connect(lambda _: self.refresh_library())
        self.duplicates_view.level_changed.connect(
            lambda key: self.apply_settings(self.settings.replace(duplicate_level=key))
        )
        self.sort_combo.currentIndexChanged.connect(
            self._on_sort_combo_current_index_changed
        )
        self.status_bar.pause_requested.connect(self._on_status_bar_pause_requested)
        self.status_bar.resume_requested.connect(self._on_status_bar_resume_requested)
        self.query_input.file_ready.connect(self._on_query_input_file_ready)
        self.query_input.image_ready.connect(self._on_query_input_image_ready)
        self.tabs.currentChanged.connect(self._on_tabs_current_changed)
        self.restore_window_state()

    def _connect_menus(self) -> None:
        menus = self.menus
        menus.add_folder.triggered.connect(self.folders_panel.add_button.click)
        menus.search_by_image.triggered.connect(self.choose_query_file)
        menus.paste.triggered.connect(self.paste_query)
        menus.rescan.triggered.connect(self.rescan)
        menus.quit.triggered.connect(self.close)
        menus.duplicates.triggered.connect(self.show_duplicates)
        menus.retrain.triggered.connect(self.open_retrain_dialog)
        menus.failed_photos.triggered.connect(self.show_failed_photos)
        menus.settings.triggered.connect(self.open_settings_dialog)

    # -- shared state -----------------------------------------------------------

    @property
    def settings(self) -> AppSettings:
        """The settings in use (`state.settings`; change them with `apply_settings`)."""
        return self.state.settings

    @property
    def active_model(self) -> ModelRecord | None:
        """The active model (`state.active_model`)."""
        return self.state.active_model

    @property
    def failed_count(self) -> int:
        """Photos that could not be indexed (`state.failed_count`)."""
        return self.state.failed_count

    @property
    def last_error(self) -> str | None:
        """The last error, as a sentence (`state.last_error`)."""
        return self.state.last_error

    def _on_state_settings_changed(self, settings: object) -> None:
        assert isinstance(settings, AppSettings)
        self.results_panel.k = settings.results_k
        self.indexer.set_watch_enabled(settings.watch_folders)
        self.settings_did_change.emit(settings)

    def _on_dialogs_settings_accepted(self, settings: object) -> None:
        assert isinstance(settings, AppSettings)
        self.apply_settings(settings)

    def _on_model_switcher_model_switched(self, model: object) -> None:
        self.model_did_change.emit(model)
        self.results_panel.refresh()

    # -- indexing -------------------------------------------------------------

    @property
    def indexing(self) -> bool:
        """Whether a scan or ingest is running."""
        return self.indexer.indexing

    @property
    def watching(self) -> bool:
        """Whether the library's folders are being watched for changes."""
        return self.indexer.watching

    def start_indexing(self) -> None:
        """Bring the library up to date in the background, then watch its folders.

        With watching off (settings), one scan and ingest; see `IndexingWorker`.
        """
        self.indexer.start()

    def rescan(self) -> None:
        """Reconcile the folders with the disk now (File > Rescan folders)."""
        self.indexer.start(rescan=True)

    def pause_indexing(self, paused: bool) -> None:
        """Pause (True) or resume (False) the running scan or ingest."""
        self.indexer.pause(paused)

    def _on_status_bar_pause_requested(self) -> None:
        self.pause_indexing(True)

    def _on_status_bar_resume_requested(self) -> None:
        self.pause_indexing(False)

    # -- library and folders --------------------------------------------------

    def refresh_library(self) -> None:
        """Reload photos, folders and the active model off-thread; see `LibrarySync`."""
        self.library_sync.refresh()

    def set_folders(self, folders: Sequence[FolderOverview]) -> None:
        """Show whether `folders` are online; see `LibrarySync.show_folder_status`."""
        self.library_sync.show_folder_status(folders)

    def current_sort(self) -> GallerySort:
        """The gallery order chosen in the sort box."""
        return self.gallery_panel.current_sort()

    def add_folder(self, path: Path) -> None:
        """Add a folder to the library, then index (and watch) it.

        While the folders are watched, the watch loop adds it and scans it alone.
        """
        library = self.library

        def fn(ctx: TaskContext) -> None:
            library.add_folder(path)

        def success(_: None) -> None:
            self.status_bar.showMessage(f"Added {path}", 5_000)
            self.refresh_library()
            self.start_indexing()  # a running watch indexes it already

        task: Task[None] = Task(fn, lane="write").on_success(success)
        task.on_failure(
            lambda exc: show_exception(self, exc, title="Cannot add folder")
        )
        self.indexer.write(task)

    def remove_folder(self, path: Path) -> None:
        """Remove a folder (and its photos) from the library; the files stay on disk.

        Asks nothing: the folders panel's Remove button confirms first.
        """
        library = self.library

        def fn(ctx: TaskContext) -> None:
            for folder in library.folders():
                if folder.path == path:
                    library.remove_folder(folder.id)
                    return
            raise ValueError(f"{path} is not a folder of the library")

        task: Task[None] = Task(fn, lane="write")
        task.on_success(lambda _: self.refresh_library()).on_failure(
            lambda exc: show_exception(self, exc, title="Cannot remove folder")
        )
        self.indexer.write(task)

    def _on_sort_combo_current_index_changed(self, _index: int) -> None:
        self.state.settings = self.settings.replace(gallery_sort=self.current_sort())
        self.refresh_library()

    def _on_folders_panel_add_requested(self, path: object) -> None:
        assert isinstance(path, Path)
        self.add_folder(path)

    def _on_folders_panel_remove_requested(self, path: object) -> None:
        assert isinstance(path, Path)
        self.remove_folder(path)

    def _on_folders_panel_folder_selected(self, path: object) -> None:
        assert path is None or isinstance(path, Path)
        self.state.gallery_folder = path  # the gallery follows (`LibrarySync`)

    # -- searching ------------------------------------------------------------

    def find_similar(self, photo: object) -> None:
        """Search from a library photo (a `PhotoRecord` or a `SearchHit`) in Similar."""
        if isinstance(photo, PhotoRecord | SearchHit):
            self.tabs.setCurrentWidget(self.results_panel)
            self.results_panel.search_photo(photo)

    def search_by_file(self, path: Path) -> None:
        """Search from any image file (dropped, pasted or chosen)."""
        self.tabs.setCurrentWidget(self.results_panel)
        self.results_panel.search_file(path, pasted=self.query_input.is_pasted(path))

    def search_by_image(self, image: PastedImage) -> None:
        """Search from pixels pasted from the clipboard (no file involved)."""
        self.tabs.setCurrentWidget(self.results_panel)
        self.results_panel.search_image(image)

    def choose_query_file(self) -> None:
        """Ask for an image file and search with it (File > Search by image…)."""
        self.query_input.choose_file()

    def paste_query(self) -> None:
        """Search with the clipboard's image, or the image file it names."""
        if not self.query_input.paste():
            self.status_bar.showMessage("The clipboard holds no image.", 5_000)

    def search_mime(self, mime: QMimeData | None) -> bool:
        """Start a search from dropped or pasted data; False when it holds no image."""
        return self.query_input.search_mime(mime)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.query_input.accepts(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        if self.search_mime(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def _on_query_input_file_ready(self, path: object) -> None:
        assert isinstance(path, Path)
        self.search_by_file(path)

    def _on_query_input_image_ready(self, image: object) -> None:
        assert isinstance(image, PastedImage)
        self.search_by_image(image)

    # -- dialogs, settings and models -----------------------------------------

    @property
    def trainer_command(self) -> TrainerCommand | None:
        """Builds the trainer's command line (None: the real trainer); tests set one."""
        return self.dialogs.trainer_command

    @trainer_command.setter
    def trainer_command(self, command: TrainerCommand | None) -> None:
        self.dialogs.trainer_command = command

    @property
    def retrain_dialog(self) -> RetrainDialog | None:
        """The retraining dialog while it is open."""
        return self.dialogs.retrain_dialog

    def show_preview(
        self, photo: object, siblings: Sequence[object] = ()
    ) -> PreviewDialog | None:
        """Show a larger view of `photo`; Previous / Next step through `siblings`."""
        return self.dialogs.show_preview(photo, siblings)

    def show_duplicates(self) -> None:
        """Show the Near duplicates tab and search the library for them again."""
        self.tabs.setCurrentWidget(self.duplicates_view)
        self.duplicates_view.refresh()

    def open_retrain_dialog(self) -> RetrainDialog:
        """Show the retraining dialog, or raise the one already open."""
        return self.dialogs.open_retrain_dialog()

    def show_failed_photos(self) -> FailedPhotosDialog:
        """Show which photos could not be indexed, and why (Tools > Failed photos…)."""
        return self.failed_photos.open_dialog()

    def open_settings_dialog(self) -> SettingsDialog:
        """Open the settings dialog; accepted settings reach `apply_settings`."""
        return self.dialogs.open_settings_dialog()

    def apply_settings(self, settings: AppSettings) -> None:
        """Use `settings` from now on.

        When they differ from those in use, `settings_did_change` follows (app.py saves).
        """
        self.state.settings = settings

    def switch_model(self, model_id: str) -> None:
        """Re-encode the library with `model_id` in the background, then switch to it."""
        self.model_switcher.switch(model_id)

    # -- window state ---------------------------------------------------------

    def restore_window_state(self) -> None:
        """Restore the geometry and state saved by the last session, if any."""
        self._geometry.restore(self)

    def save_window_state(self) -> None:
        """Save the geometry and state for the next session (needs `qsettings_path`)."""
        self._geometry.save(self)

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        """Stop background work and wait for it (bounded); safe to call twice."""
        self.library_sync.stop()
        self.indexer.stop()
        self.runner.cancel_all()
        self.dialogs.cancel_training()
        self.runner.wait_for_done(timeout_ms)
        self.loader.clear_pending()
        self.loader.wait_for_done(timeout_ms)
        self.query_input.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_window_state()
        self.shutdown()
        super().closeEvent(event)

    def _on_indexer_ingest_did_finish(self) -> None:
        if self.results_panel.query is not None:
            self.results_panel.refresh()  # newly indexed photos may belong in it
        self.ingest_did_finish.emit()

    def _on_tabs_current_changed(self, _index: int) -> None:
        if (
            self.tabs.currentWidget() is self.duplicates_view
            and not self.duplicates_view.loaded
        ):
            self.duplicates_view.refresh()
