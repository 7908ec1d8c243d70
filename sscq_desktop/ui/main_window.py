"""`MainWindow`: folders, the gallery, similar results, near duplicates and the status bar.

Wires widgets to the `LibraryBackend` through `Task`s: indexing, folder watching
(`IndexingWorker`) and model switches run on the writer lane, queries on readers, and
every result comes back by signal. Accepts dropped and pasted images as queries (a pasted
image lives in a temporary file until the next query or the window closes). Knows
nothing of SQL, onnxruntime or torch.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QByteArray, QMimeData, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QImage,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from sscq_desktop.ui.duplicates_view import DuplicatesView
from sscq_desktop.ui.errors import show_exception, user_message
from sscq_desktop.ui.folders_panel import FoldersPanel
from sscq_desktop.ui.gallery_model import (
    GalleryModel,
    GalleryUpdate,
    plan_gallery_update,
    sort_photos,
)
from sscq_desktop.ui.indexing_worker import IndexingWorker
from sscq_desktop.ui.library_backend import (
    FolderState,
    Hit,
    LibraryBackend,
    ModelInfo,
    Photo,
    ProgressLike,
)
from sscq_desktop.ui.photo_grid_view import PhotoGridView
from sscq_desktop.ui.preview_dialog import PreviewDialog
from sscq_desktop.ui.results_panel import ResultsPanel
from sscq_desktop.ui.retrain_dialog import RetrainDialog
from sscq_desktop.ui.settings import GALLERY_SORTS, AppSettings, GallerySort
from sscq_desktop.ui.settings_dialog import SettingsDialog
from sscq_desktop.ui.signals import emit
from sscq_desktop.ui.status_bar import StatusBar
from sscq_desktop.ui.tasks import LatestRequest, Task, TaskContext, TaskRunner
from sscq_desktop.ui.thumbnail_loader import ThumbnailLoader

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset(
    {
        ".jpg",
        ".jpeg",
        ".png",
        ".webp",
        ".bmp",
        ".gif",
        ".tif",
        ".tiff",
        ".heic",
        ".heif",
    }
)
_GALLERY_REFRESH_S = 2.0  # during indexing, refresh the gallery at most this often
_FOLDER_POLL_MS = 15_000  # notice folders that vanish while the app is idle


class MainWindow(QMainWindow):
    """The app's window.

    Signals:
        ingest_will_start(): indexing is about to run.
        ingest_did_finish(): indexing ended (done, cancelled or failed); the folders
            may still be watched.
        index_did_change(): the gallery and folder counts were refreshed.
        model_did_change(object): a new `ModelInfo` is active.
        settings_did_change(object): the user saved new `AppSettings`.
    """

    ingest_will_start = Signal()
    ingest_did_finish = Signal()
    index_did_change = Signal()
    model_did_change = Signal(object)
    settings_did_change = Signal(object)

    def __init__(
        self,
        backend: LibraryBackend,
        runner: TaskRunner,
        settings: AppSettings,
        *,
        loader: ThumbnailLoader | None = None,
        qsettings_path: Path | None = None,
        retrain_command: Sequence[str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.backend = backend
        self.runner = runner
        self.settings = settings
        self.loader = loader if loader is not None else ThumbnailLoader(parent=self)
        self._qsettings_path = qsettings_path
        self._retrain_command = retrain_command
        self._switch: Task[ModelInfo] | None = None
        self._last_gallery_refresh = 0.0
        self._folders_shown: list[FolderState] | None = None
        self._status_model: tuple[ModelInfo, str] | None = None
        self._pasted_dir: Path | None = None
        self._pasted: Path | None = None  # the pasted image of the current query
        self.indexer = IndexingWorker(
            backend, runner, watch=settings.watch_folders, parent=self
        )
        self._library_requests = LatestRequest()
        self.active_model: ModelInfo | None = None
        self.provider = ""
        self.last_error: str | None = None
        self.retrain_dialog: RetrainDialog | None = None
        self.setWindowTitle("SSCQ Desktop")
        self.setAcceptDrops(True)
        self.resize(1200, 800)

        size = settings.thumbnail_size
        self.folders_panel = FoldersPanel()
        self.gallery_model = GalleryModel(self.loader, thumbnail_size=size)
        self.gallery_view = PhotoGridView(thumbnail_size=size)
        self.gallery_view.setObjectName("gallery_view")
        self.gallery_view.setModel(self.gallery_model)
        self.sort_combo = QComboBox()
        for key in GALLERY_SORTS:
            self.sort_combo.addItem(f"Sort by {key}", key)
        self.sort_combo.setCurrentIndex(GALLERY_SORTS.index(settings.gallery_sort))
        self.gallery_count = QLabel("")
        self.results_panel = ResultsPanel(
            backend,
            runner,
            self.loader,
            k=settings.results_k,
            threshold=settings.similarity_threshold,
            thumbnail_size=size,
        )
        self.duplicates_view = DuplicatesView(
            backend, runner, self.loader, threshold=settings.duplicate_threshold
        )
        gallery_page = QWidget()
        top = QHBoxLayout()
        top.addWidget(self.gallery_count, 1)
        top.addWidget(self.sort_combo)
        gallery_layout = QVBoxLayout(gallery_page)
        gallery_layout.setContentsMargins(0, 0, 0, 0)
        gallery_layout.addLayout(top)
        gallery_layout.addWidget(self.gallery_view, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(gallery_page, "Library")
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
        self._build_menus()

        self._folder_timer = QTimer(self)
        self._folder_timer.setInterval(_FOLDER_POLL_MS)
        self._folder_timer.timeout.connect(self._on_folder_timer_timeout)
        self._folder_timer.start()

        self.folders_panel.add_requested.connect(self._on_folders_panel_add_requested)
        self.folders_panel.remove_requested.connect(
            self._on_folders_panel_remove_requested
        )
        self.gallery_view.find_similar_requested.connect(self.find_similar)
        self.gallery_view.preview_requested.connect(self.show_preview)
        self.results_panel.find_similar_requested.connect(self.find_similar)
        self.results_panel.preview_requested.connect(self.show_preview)
        self.duplicates_view.preview_requested.connect(self.show_preview)
        self.sort_combo.currentIndexChanged.connect(
            self._on_sort_combo_current_index_changed
        )
        self.indexer.ingest_will_start.connect(self._on_indexer_ingest_will_start)
        self.indexer.progress_changed.connect(self._on_indexer_progress_changed)
        self.indexer.ingest_did_finish.connect(self._on_indexer_ingest_did_finish)
        self.indexer.changes_applied.connect(self._on_indexer_changes_applied)
        self.indexer.failed.connect(self._on_indexer_failed)
        self.status_bar.pause_requested.connect(self._on_status_bar_pause_requested)
        self.status_bar.resume_requested.connect(self._on_status_bar_resume_requested)
        self.tabs.currentChanged.connect(self._on_tabs_current_changed)
        self.restore_window_state()

    # -- menus ----------------------------------------------------------------

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.add_folder_action = self._action(
            file_menu, "&Add folder…", self.folders_panel.add_button.click
        )
        self.search_by_image_action = self._action(
            file_menu,
            "&Search by image…",
            self.choose_query_file,
            QKeySequence.StandardKey.Open,
        )
        self.paste_action = self._action(
            file_menu,
            "Search by &pasted image",
            self.paste_query,
            QKeySequence.StandardKey.Paste,
        )
        self.rescan_action = self._action(file_menu, "&Rescan folders", self.rescan)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        tools = bar.addMenu("&Tools")
        self.duplicates_action = self._action(
            tools, "Find near &duplicates", self.show_duplicates
        )
        self.retrain_action = self._action(
            tools, "&Retrain on my photos…", self.open_retrain_dialog
        )
        tools.addSeparator()
        self.settings_action = self._action(
            tools,
            "&Settings…",
            self.open_settings_dialog,
            QKeySequence.StandardKey.Preferences,
        )

    def _action(
        self,
        menu: QWidget,
        text: str,
        slot: object,
        shortcut: QKeySequence.StandardKey | None = None,
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    # -- indexing -------------------------------------------------------------

    @property
    def indexing(self) -> bool:
        return self.indexer.indexing

    @property
    def watching(self) -> bool:
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
        self.indexer.pause(paused)

    def _on_indexer_ingest_will_start(self) -> None:
        emit(self.ingest_will_start)
        self.status_bar.show_progress("Indexing", _Starting())

    def _on_indexer_progress_changed(self, value: object) -> None:
        progress: ProgressLike = value  # type: ignore[assignment]
        self.status_bar.show_progress("Indexing", progress)
        now = time.monotonic()
        if now - self._last_gallery_refresh > _GALLERY_REFRESH_S:
            self._last_gallery_refresh = now
            self.refresh_library()

    def _on_indexer_failed(self, exc: object) -> None:
        assert isinstance(exc, BaseException)
        self.last_error = user_message(exc)
        self.status_bar.showMessage(f"Indexing stopped: {self.last_error}", 15_000)
        show_exception(self, exc, title="Indexing stopped")

    def _on_indexer_ingest_did_finish(self) -> None:
        self.status_bar.clearMessage()
        self.status_bar.set_idle(self._library_summary())
        self.refresh_library()
        if self.results_panel.query is not None:
            self.results_panel.refresh()  # newly indexed photos may belong in it
        emit(self.ingest_did_finish)

    def _on_indexer_changes_applied(self) -> None:
        self.refresh_library()

    # -- library state --------------------------------------------------------

    def refresh_library(self) -> None:
        """Reload photos, folders and the active model; the gallery changes row by row.

        Sorting and comparing with the rows shown run off-thread (`plan_gallery_update`),
        so the GUI thread only inserts and removes the rows that changed.
        """
        backend = self.backend
        sort_key = self.current_sort()
        request_id = self._library_requests.next_id()
        shown = self.gallery_model.photos  # never edited in place: safe to read there

        def fn(
            ctx: TaskContext,
        ) -> tuple[GalleryUpdate, list[FolderState], ModelInfo, str]:
            photos = sort_photos(backend.photos(), sort_key)
            return (
                plan_gallery_update(shown, photos),
                list(backend.folders()),
                backend.active_model(),
                backend.provider_name(),
            )

        def success(
            result: tuple[GalleryUpdate, list[FolderState], ModelInfo, str],
        ) -> None:
            if not self._library_requests.is_current(request_id):
                return
            update, folders, model, provider = result
            if not update.is_empty:
                self.gallery_model.apply_update(update)
            self.set_folders(folders)
            self.active_model, self.provider = model, provider
            if (model, provider) != self._status_model:
                self._status_model = (model, provider)
                self.status_bar.set_model(model, provider)
            if not self.indexing:
                self.status_bar.set_idle(self._library_summary())
            emit(self.index_did_change)

        Task(fn).on_success(success).on_failure(self._on_refresh_failure).start(
            self.runner
        )

    def set_folders(self, folders: Sequence[FolderState]) -> None:
        folders = list(folders)
        if folders == self._folders_shown:
            return  # refreshed every few seconds while indexing: skip the rebuild
        self._folders_shown = folders
        self.folders_panel.set_folders(folders)
        self.results_panel.set_folders(folders)
        missing = [f for f in folders if f.status == "missing"]
        if missing:
            names = ", ".join(str(f.path) for f in missing)
            self.last_error = f"Folder no longer on disk: {names}"
            self.status_bar.showMessage(self.last_error, 30_000)

    def current_sort(self) -> GallerySort:
        key = self.sort_combo.currentData()
        return key if key in GALLERY_SORTS else "date"

    def _library_summary(self) -> str:
        n = self.gallery_model.rowCount()
        text = f"{n:,} photo{'s' if n != 1 else ''} indexed"
        return f"{text} · watching folders" if self.watching else text

    def _on_refresh_failure(self, exc: BaseException) -> None:
        self.last_error = user_message(exc)
        self.status_bar.showMessage(self.last_error, 15_000)
        logger.warning("refresh failed: %s", exc)

    def _on_sort_combo_current_index_changed(self, _index: int) -> None:
        self.settings = self.settings.replace(gallery_sort=self.current_sort())
        emit(self.settings_did_change, self.settings)
        self.refresh_library()

    def _on_folder_timer_timeout(self) -> None:
        # Folders only: photos are refreshed by the watcher and after each ingest.
        backend = self.backend

        def fn(ctx: TaskContext) -> list[FolderState]:
            return list(backend.folders())

        Task(fn).on_success(self.set_folders).on_failure(
            self._on_refresh_failure
        ).start(self.runner)

    def _on_status_bar_pause_requested(self) -> None:
        self.pause_indexing(True)

    def _on_status_bar_resume_requested(self) -> None:
        self.pause_indexing(False)

    # -- folders --------------------------------------------------------------

    def add_folder(self, path: Path) -> None:
        """Add a folder to the library, then index (and watch) it."""
        backend = self.backend

        def fn(ctx: TaskContext) -> None:
            backend.add_folder(path)

        def success(_: None) -> None:
            self.status_bar.showMessage(f"Added {path}", 5_000)
            self.refresh_library()
            self.start_indexing()

        task: Task[None] = Task(fn, lane="write").on_success(success)
        task.on_failure(
            lambda exc: show_exception(self, exc, title="Cannot add folder")
        )
        self.indexer.run_write(task)

    def remove_folder(self, path: Path) -> None:
        backend = self.backend

        def fn(ctx: TaskContext) -> None:
            backend.remove_folder(path)

        task: Task[None] = Task(fn, lane="write")
        task.on_success(lambda _: self.refresh_library()).on_failure(
            lambda exc: show_exception(self, exc, title="Cannot remove folder")
        )
        self.indexer.run_write(task)

    def _on_folders_panel_add_requested(self, path: object) -> None:
        assert isinstance(path, Path)
        self.add_folder(path)

    def _on_folders_panel_remove_requested(self, path: object) -> None:
        assert isinstance(path, Path)
        self.remove_folder(path)

    # -- searching ------------------------------------------------------------

    def find_similar(self, photo: object) -> None:
        """Search from a library photo (`Photo` or `Hit`) and show the Similar tab."""
        if isinstance(photo, Photo | Hit):
            self._forget_pasted()
            self.tabs.setCurrentWidget(self.results_panel)
            self.results_panel.search_photo(photo)

    def search_by_file(self, path: Path) -> None:
        """Search from any image file (dropped, pasted or chosen)."""
        self._forget_pasted(keep=path)
        self.tabs.setCurrentWidget(self.results_panel)
        self.results_panel.search_file(path)

    def choose_query_file(self) -> None:
        patterns = " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES))
        chosen, _ = QFileDialog.getOpenFileName(
            self, "Search by image", "", f"Images ({patterns});;All files (*)"
        )
        if chosen:
            self.search_by_file(Path(chosen))

    def paste_query(self) -> None:
        """Search with the clipboard's image, or the image file it names."""
        if not self.search_mime(QGuiApplication.clipboard().mimeData()):
            self.status_bar.showMessage("The clipboard holds no image.", 5_000)

    def search_mime(self, mime: QMimeData | None) -> bool:
        """Start a search from dropped or pasted data; False when it holds no image."""
        if mime is None:
            return False
        path = image_path_from_mime(mime)
        if path is not None:
            self.search_by_file(path)
            return True
        if mime.hasImage():
            image = QImage(mime.imageData())
            if image.isNull():
                return False
            self._search_qimage(image)
            return True
        return False

    def _search_qimage(self, image: QImage) -> None:
        if self._pasted_dir is None:
            self._pasted_dir = Path(tempfile.mkdtemp(prefix="sscq-pasted-"))
        folder = self._pasted_dir

        # Writing the PNG is encoding work: it runs in a task, never on the GUI thread.
        def fn(ctx: TaskContext) -> Path:
            fd, name = tempfile.mkstemp(prefix="pasted-", suffix=".png", dir=folder)
            os.close(fd)
            if not image.save(name):  # PNG, from the suffix
                Path(name).unlink(missing_ok=True)
                raise OSError(f"cannot write the pasted image to {name}")
            return Path(name)

        def success(path: Path) -> None:
            if self._pasted_dir is None:  # the window closed meanwhile
                path.unlink(missing_ok=True)
                return
            self.search_by_file(path)
            self._pasted = path  # kept while it is the query: the slider re-runs it

        Task(fn).on_success(success).on_failure(
            lambda exc: show_exception(self, exc)
        ).start(self.runner)

    def _forget_pasted(self, keep: Path | None = None) -> None:
        """Delete the previous pasted image once another query replaces it."""
        if self._pasted is not None and self._pasted != keep:
            self._pasted.unlink(missing_ok=True)
            self._pasted = None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        mime = event.mimeData()
        if image_path_from_mime(mime) is not None or mime.hasImage():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        if self.search_mime(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    # -- dialogs --------------------------------------------------------------

    def show_preview(self, photo: object) -> PreviewDialog | None:
        path = getattr(photo, "path", None)
        if not isinstance(path, Path):
            return None
        dialog = PreviewDialog(
            path, self.runner, score=getattr(photo, "score", None), parent=self
        )
        dialog.find_similar_requested.connect(lambda: self.find_similar(photo))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def show_duplicates(self) -> None:
        self.tabs.setCurrentWidget(self.duplicates_view)
        self.duplicates_view.refresh()

    def open_retrain_dialog(self) -> RetrainDialog:
        if self.retrain_dialog is not None:
            self.retrain_dialog.raise_()
            return self.retrain_dialog
        dialog = RetrainDialog(
            self.backend,
            self.runner,
            photo_count=self.gallery_model.rowCount(),
            settings=self.settings,
            parent=self,
        )
        dialog.model_trained.connect(self._on_retrain_dialog_model_trained)
        dialog.finished.connect(self._on_retrain_dialog_finished)
        self.retrain_dialog = dialog
        dialog.show()
        return dialog

    def _on_retrain_dialog_model_trained(self, model: object) -> None:
        assert isinstance(model, ModelInfo)
        self.switch_model(model.model_id)

    def _on_retrain_dialog_finished(self, _result: int) -> None:
        if self.retrain_dialog is not None:
            self.retrain_dialog.deleteLater()
        self.retrain_dialog = None

    def open_settings_dialog(self) -> SettingsDialog:
        dialog = SettingsDialog(
            self.settings,
            self.backend,
            self.runner,
            active_model=self.active_model,
            parent=self,
        )
        dialog.settings_accepted.connect(self._on_settings_dialog_settings_accepted)
        dialog.model_chosen.connect(self._on_settings_dialog_model_chosen)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _on_settings_dialog_settings_accepted(self, settings: object) -> None:
        assert isinstance(settings, AppSettings)
        self.apply_settings(settings)

    def _on_settings_dialog_model_chosen(self, model_id: str) -> None:
        if self.active_model is None or model_id != self.active_model.model_id:
            self.switch_model(model_id)

    def apply_settings(self, settings: AppSettings) -> None:
        self.settings = settings
        self.results_panel.k = settings.results_k
        self.duplicates_view.threshold = settings.duplicate_threshold
        self.indexer.set_watch_enabled(settings.watch_folders)
        emit(self.settings_did_change, settings)

    # -- models ---------------------------------------------------------------

    def switch_model(self, model_id: str) -> None:
        """Re-encode the library with `model_id` in the background, then switch to it."""
        if self._switch is not None:
            self._switch.cancel()
        backend = self.backend

        def fn(ctx: TaskContext) -> ModelInfo:
            for progress in backend.switch_model(
                model_id, cancel=ctx.cancel_event, pause=ctx.pause_event
            ):
                ctx.report_progress(progress)
            ctx.check_cancelled()
            return backend.active_model()

        task: Task[ModelInfo] = Task(fn, lane="write")
        self._switch = task

        def progress(value: object) -> None:
            self.status_bar.show_progress(f"Re-encoding for {model_id}:", value)  # type: ignore[arg-type]

        def success(model: ModelInfo) -> None:
            self.active_model = model
            self.status_bar.showMessage(f"Now using model {model.model_id}", 10_000)
            emit(self.model_did_change, model)
            self.results_panel.refresh()

        def failure(exc: BaseException) -> None:
            self.last_error = user_message(exc)
            show_exception(self, exc, title="The model was not switched")

        def finished() -> None:
            if self._switch is task:
                self._switch = None
            self.status_bar.set_idle(self._library_summary())
            self.refresh_library()

        task.on_progress(progress).on_success(success).on_failure(failure)
        self.indexer.run_write(task.on_finished(finished))

    # -- window state ---------------------------------------------------------

    def _qsettings(self) -> QSettings | None:
        if self._qsettings_path is None:
            return None
        return QSettings(str(self._qsettings_path), QSettings.Format.IniFormat)

    def restore_window_state(self) -> None:
        qs = self._qsettings()
        if qs is None:
            return
        geometry = qs.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        state = qs.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)

    def save_window_state(self) -> None:
        qs = self._qsettings()
        if qs is not None:
            qs.setValue("window/geometry", self.saveGeometry())
            qs.setValue("window/state", self.saveState())
            qs.sync()

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        """Stop background work and wait for it (bounded); safe to call twice."""
        self._folder_timer.stop()
        self.indexer.stop()
        self.runner.cancel_all()
        if self.retrain_dialog is not None:
            self.retrain_dialog.cancel_training()
        self.runner.wait_for_done(timeout_ms)
        self.loader.clear_pending()
        self.loader.wait_for_done(timeout_ms)
        self._forget_pasted()
        if self._pasted_dir is not None:
            shutil.rmtree(self._pasted_dir, ignore_errors=True)
            self._pasted_dir = None

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_window_state()
        self.shutdown()
        super().closeEvent(event)

    def _on_tabs_current_changed(self, _index: int) -> None:
        if (
            self.tabs.currentWidget() is self.duplicates_view
            and not self.duplicates_view.loaded
        ):
            self.duplicates_view.refresh()


def image_path_from_mime(mime: QMimeData) -> Path | None:
    """The first local image file named by dropped or pasted data, if any."""
    if not mime.hasUrls():
        return None
    for url in mime.urls():
        if url.isLocalFile():
            path = Path(url.toLocalFile())
            if path.suffix.lower() in IMAGE_SUFFIXES:
                return path
    return None


class _Starting:
    """Progress shown before the first report arrives."""

    phase = "scan"
    done = 0
    total = 0
    rate = 0.0
    eta_s: float | None = None
