"""`ResultsPanel`: the query, its ranked similar photos, a band cut and a folder scope.

Runs every search in a `Task`; the latest query wins (stale answers are dropped by request
id). Changing the band cut ("Show: copies / ... / all") or the scope re-runs the current
query after a short debounce. Back and Forward (Alt+Left / Alt+Right) walk through the
session's chained searches. The panel never encodes or scans on the GUI thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from sscq_desktop.library.path_text import display_path
from sscq_desktop.library.records import (
    FolderId,
    FolderOverview,
    PhotoId,
    PhotoRecord,
    SearchHit,
    SimilarityBand,
    SubfolderOverview,
)
from sscq_desktop.ui.errors import show_exception, user_message
from sscq_desktop.ui.photo_grid_view import PhotoGridView
from sscq_desktop.ui.query_input import PASTED_KEPT, PastedImage
from sscq_desktop.ui.results_model import ResultsModel
from sscq_desktop.ui.tasks import LatestRequest, Task, TaskContext, TaskRunner
from sscq_desktop.ui.thumbnail_loader import ThumbnailLoader

if TYPE_CHECKING:
    from sscq_desktop.library.library import Library

logger = logging.getLogger(__name__)

_QUERY_ICON = 112
_DEBOUNCE_MS = 150
HISTORY_LIMIT = PASTED_KEPT
"""Searches the Back button can return to (as many as pasted images are kept)."""

BAND_CHOICES: tuple[tuple[str, SimilarityBand | None], ...] = (
    ("All results", None),
    ("Related and closer", SimilarityBand.RELATED),
    ("Very similar and closer", SimilarityBand.VERY_SIMILAR),
    ("Copies and near copies", SimilarityBand.NEAR_COPY),
    ("Copies only", SimilarityBand.COPY),
)
"""The entries of the "Show" cut: its label and the farthest band it keeps."""

BAND_TIP = (
    "Which results to show, by how close they are to the query.\n"
    "Copy: the same photo, resized or re-encoded. Near copy: the same photo, edited "
    "(brightness, contrast, a small crop). Very similar and Related: photos likely to "
    "be of the same kind; the bands mean the same for every query and every library."
)


def _choice_of(band: SimilarityBand | None) -> int:
    """The row of `BAND_CHOICES` that keeps `band` and closer ones."""
    return [b for _, b in BAND_CHOICES].index(band)


@dataclass(frozen=True)
class Query:
    """What the user searched from: a library photo, any image file, or pasted pixels.

    Attributes:
        path: The photo or file; None for pasted pixels.
        photo_id: The library photo's id; None for anything else.
        pasted: The pasted image; None for a photo or a file.
        pasted_file: The file holds pasted bytes (a temporary name the user never
            chose: labelled as pasted).
    """

    path: Path | None
    photo_id: PhotoId | None = None
    pasted: PastedImage | None = None
    pasted_file: bool = False

    @property
    def label(self) -> str:
        """What the results are similar to, in words."""
        if self.path is None or self.pasted_file:
            return "Similar to the pasted image"
        where = "library photo" if self.photo_id is not None else "image"
        return f"Similar to {where} {display_path(self.path.name)}"


class ResultsPanel(QWidget):
    """Ranked similar photos for the current query.

    Signals:
        results_ready(object): the `list[SearchHit]` now shown, on the GUI thread.
        search_failed(str): a search failed; the message is user-readable.
        find_similar_requested(object), preview_requested(object): from the results grid.
    """

    results_ready = Signal(object)
    search_failed = Signal(str)
    find_similar_requested = Signal(object)
    preview_requested = Signal(object)

    def __init__(
        self,
        library: Library,
        runner: TaskRunner,
        loader: ThumbnailLoader,
        *,
        k: int = 60,
        min_band: SimilarityBand | None = None,
        thumbnail_size: int = 160,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._library = library
        self._runner = runner
        self._loader = loader
        self._requests = LatestRequest()
        self.k = k
        self.query: Query | None = None
        self._history: list[Query] = []  # the session's queries, oldest first
        self._position = -1  # the shown query's place in `_history`
        self.last_search_s: float | None = None
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(_DEBOUNCE_MS)
        self._debounce.timeout.connect(self._on_debounce_timeout)

        self.query_icon = QLabel()
        self.query_icon.setFixedSize(_QUERY_ICON, _QUERY_ICON)
        self.query_icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.query_icon.setStyleSheet("border: 1px solid palette(mid);")
        self.query_label = QLabel(
            "Right-click a photo and choose Find similar, or drop an image here."
        )
        self.query_label.setWordWrap(True)
        self.back_button = self._history_button(
            QStyle.StandardPixmap.SP_ArrowBack,
            "Back to the previous search",
            QKeySequence.StandardKey.Back,
        )
        self.forward_button = self._history_button(
            QStyle.StandardPixmap.SP_ArrowForward,
            "Forward to the next search",
            QKeySequence.StandardKey.Forward,
        )
        self.back_button.clicked.connect(self.go_back)
        self.forward_button.clicked.connect(self.go_forward)
        self.count_label = QLabel("")
        self.band_combo = QComboBox()
        self.band_combo.setToolTip(BAND_TIP)
        for label, band in BAND_CHOICES:
            self.band_combo.addItem(label, band)
        self.band_combo.setCurrentIndex(_choice_of(min_band))
        self.scope_combo = QComboBox()
        self.scope_combo.setToolTip("Only show photos from this folder")
        self.scope_combo.addItem("All folders", None)
        self.model = ResultsModel(loader, thumbnail_size=thumbnail_size)
        self.view = PhotoGridView(thumbnail_size=thumbnail_size, caption_lines=2)
        self.view.setObjectName("results_view")
        self.view.setModel(self.model)

        text = QVBoxLayout()
        text.addWidget(self.query_label)
        text.addWidget(self.count_label)
        filters = QHBoxLayout()
        filters.addWidget(QLabel("Show"))
        filters.addWidget(self.band_combo, 1)
        filters.addSpacing(12)
        filters.addWidget(QLabel("Folder"))
        filters.addWidget(self.scope_combo, 1)
        text.addLayout(filters)
        header = QHBoxLayout()
        header.addWidget(self.back_button, 0, Qt.AlignmentFlag.AlignTop)
        header.addWidget(self.forward_button, 0, Qt.AlignmentFlag.AlignTop)
        header.addWidget(self.query_icon)
        header.addLayout(text, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.view, 1)

        self.band_combo.currentIndexChanged.connect(
            self._on_band_combo_current_index_changed
        )
        self.scope_combo.currentIndexChanged.connect(
            self._on_scope_combo_current_index_changed
        )
        self.view.find_similar_requested.connect(self.find_similar_requested)
        self.view.preview_requested.connect(self.preview_requested)
        loader.thumbnail_changed.connect(self._on_loader_thumbnail_changed)
        loader.thumbnails_reset.connect(self._on_loader_thumbnails_reset)

    # -- public ---------------------------------------------------------------

    @property
    def min_band(self) -> SimilarityBand | None:
        """The farthest band shown; None shows every result."""
        band = self.band_combo.currentData()
        return band if isinstance(band, SimilarityBand) else None

    def set_min_band(self, band: SimilarityBand | None) -> None:
        """Show only results in `band` or a closer one (None: all results)."""
        self.band_combo.setCurrentIndex(_choice_of(band))

    @property
    def scope(self) -> list[Path] | None:
        data = self.scope_combo.currentData()
        return [data] if isinstance(data, Path) else None

    def set_scope(self, folder: Path | None) -> None:
        for i in range(self.scope_combo.count()):
            if self.scope_combo.itemData(i) == folder:
                self.scope_combo.setCurrentIndex(i)
                return
        raise ValueError(f"{folder} is not one of the library's folders")

    def set_folders(
        self,
        folders: Sequence[FolderOverview],
        subfolders: Sequence[SubfolderOverview] = (),
    ) -> None:
        """Refresh the scope choices, keeping the current one when it still exists.

        Lists each root, then the folders below it that hold photos, indented by
        depth (a search scoped to a folder finds photos at any depth below it).
        """
        current = self.scope_combo.currentData()
        self.scope_combo.blockSignals(True)
        self.scope_combo.clear()
        self.scope_combo.addItem("All folders", None)
        below: dict[FolderId, list[SubfolderOverview]] = {}
        for sub in subfolders:
            below.setdefault(sub.root_id, []).append(sub)
        for folder in sorted(folders, key=lambda f: str(f.path).lower()):
            self._add_scope(folder.path, depth=0)
            for sub in below.get(folder.id, []):
                depth = len(sub.path.relative_to(folder.path).parts)
                self._add_scope(sub.path, depth=depth)
        index = self.scope_combo.findData(current) if current is not None else 0
        if index < 0 and any(current.is_relative_to(f.path) for f in folders):
            # Its photos are being read again (a rescan): it stays chosen, as the
            # search shown was scoped to it, and comes back in its place later.
            self._add_scope(current, depth=0)
            index = self.scope_combo.count() - 1
        self.scope_combo.setCurrentIndex(max(index, 0))
        self.scope_combo.blockSignals(False)
        if index < 0 and current is not None:  # its root was removed: search them all
            self._debounce.start()

    def search_photo(self, photo: PhotoRecord | SearchHit) -> None:
        """Find photos similar to a photo of the library."""
        photo_id = photo.id if isinstance(photo, PhotoRecord) else photo.photo_id
        self._set_query(Query(path=photo.path, photo_id=photo_id))

    def search_file(self, path: Path, *, pasted: bool = False) -> None:
        """Find photos similar to any image file (`pasted`: it holds pasted bytes)."""
        self._set_query(Query(path=path, pasted_file=pasted))

    def search_image(self, image: PastedImage) -> None:
        """Find photos similar to pasted pixels."""
        self._set_query(Query(path=None, pasted=image))

    @property
    def can_go_back(self) -> bool:
        """Whether an earlier query of this session can be shown again."""
        return self._position > 0

    @property
    def can_go_forward(self) -> bool:
        """Whether `go_back` left later queries to return to."""
        return self._position < len(self._history) - 1

    def go_back(self) -> None:
        """Search again from the query before this one (chained searches)."""
        if self.can_go_back:
            self._position -= 1
            self._show_query(self._history[self._position])

    def go_forward(self) -> None:
        """Return to the query `go_back` left."""
        if self.can_go_forward:
            self._position += 1
            self._show_query(self._history[self._position])

    def refresh(self) -> None:
        """Re-run the current query now (filters changed, model switched)."""
        self._debounce.stop()
        if self.query is None:
            return
        query, k = self.query, self.k
        min_band, scope = self.min_band, self.scope
        request_id = self._requests.next_id()
        library = self._library
        started = time.perf_counter()

        def fn(ctx: TaskContext) -> list[SearchHit]:
            if query.photo_id is not None:
                return library.similar_to_photo(
                    query.photo_id, k=k, min_band=min_band, folders=scope
                )
            if query.pasted is not None:
                return library.similar_to_image(
                    query.pasted.pixels, k=k, min_band=min_band, folders=scope
                )
            assert query.path is not None
            return library.similar_to_file(
                query.path, k=k, min_band=min_band, folders=scope
            )

        def success(hits: list[SearchHit]) -> None:
            if self._requests.is_current(request_id):  # the latest query wins
                self.last_search_s = time.perf_counter() - started
                self._apply_hits(hits)

        def failure(exc: BaseException) -> None:
            if self._requests.is_current(request_id):
                self.model.set_hits([])
                self.count_label.setText(user_message(exc))
                self.search_failed.emit(user_message(exc))
                show_exception(self, exc, title="Search failed")

        Task(fn).on_success(success).on_failure(failure).start(self._runner)

    # -- private --------------------------------------------------------------

    def _history_button(
        self, icon: QStyle.StandardPixmap, tip: str, key: QKeySequence.StandardKey
    ) -> QToolButton:
        button = QToolButton(self)
        button.setIcon(self.style().standardIcon(icon))
        shortcut = QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText)
        button.setToolTip(f"{tip} ({shortcut})" if shortcut else tip)
        button.setShortcut(QKeySequence(key))
        button.setEnabled(False)
        return button

    def _set_query(self, query: Query) -> None:
        """A new query: it ends the history (what was ahead of it is dropped)."""
        del self._history[self._position + 1 :]
        self._history.append(query)
        del self._history[:-HISTORY_LIMIT]
        self._position = len(self._history) - 1
        self._show_query(query)

    def _show_query(self, query: Query) -> None:
        self.query = query
        self.back_button.setEnabled(self.can_go_back)
        self.forward_button.setEnabled(self.can_go_forward)
        self.query_label.setText(query.label)
        self.query_label.setToolTip(
            "" if query.path is None or query.pasted_file else display_path(query.path)
        )
        self.count_label.setText("Searching…")
        self._show_query_icon()
        self.refresh()

    def _show_query_icon(self) -> None:
        # An image from outside the library is decoded by the library (`render`);
        # pasted pixels come with a small copy made off the GUI thread.
        query = self.query
        if query is None:
            return
        if query.pasted is not None:
            self.query_icon.setPixmap(
                QPixmap.fromImage(query.pasted.preview).scaled(
                    _QUERY_ICON,
                    _QUERY_ICON,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )
        elif query.path is not None:
            self.query_icon.setPixmap(
                self._loader.thumbnail(
                    query.path, _QUERY_ICON, render=query.photo_id is None
                )
            )

    def _apply_hits(self, shown: Sequence[SearchHit]) -> None:
        # The library applied the band cut and the folder scope.
        self.model.set_hits(shown)
        if shown:
            self.view.scrollToTop()
        noun = "photo" if len(shown) == 1 else "photos"
        self.count_label.setText(f"{len(shown)} similar {noun}")
        self.results_ready.emit(list(shown))

    def _add_scope(self, path: Path, *, depth: int) -> None:
        name = display_path(path.name or path)
        self.scope_combo.addItem("    " * depth + name, path)
        self.scope_combo.setItemData(
            self.scope_combo.count() - 1,
            display_path(path),
            Qt.ItemDataRole.ToolTipRole,
        )

    def _on_band_combo_current_index_changed(self, _index: int) -> None:
        self._debounce.start()

    def _on_scope_combo_current_index_changed(self, _index: int) -> None:
        self._debounce.start()

    def _on_debounce_timeout(self) -> None:
        self.refresh()

    def _on_loader_thumbnail_changed(self, path: str, size: int) -> None:
        if (
            self.query is not None
            and self.query.path is not None
            and size == _QUERY_ICON
            and path == str(self.query.path)
        ):
            self._show_query_icon()

    def _on_loader_thumbnails_reset(self) -> None:
        self._show_query_icon()
