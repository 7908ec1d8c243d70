"""`GalleryPanel`: the Library tab of `MainWindow`, the photo grid and its sort box.

A view over `GalleryModel`: it holds no library state and starts no work; the window
refreshes the model, tells it the counts and reacts to the sort box. A library without
folders shows a hint instead of an empty grid.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from sscq_desktop.library.path_text import display_path
from sscq_desktop.ui.gallery_model import GalleryModel
from sscq_desktop.ui.photo_count import photo_count
from sscq_desktop.ui.photo_grid_view import PhotoGridView
from sscq_desktop.ui.settings import GALLERY_SORTS, GallerySort
from sscq_desktop.ui.thumbnail_loader import ThumbnailLoader

EMPTY_HINT = "No folders yet. Add a folder to start: File > Add folder…"
"""What the Library tab says while the library has no folder."""


class GalleryPanel(QWidget):
    """Shows the library's photos (all, or one folder's) in a grid, in the sort box's order.

    Attributes:
        model: the `GalleryModel` of the grid.
        view: the `PhotoGridView` (its signals ask for searches and previews).
        sort_combo: the order, one item per `GALLERY_SORTS` key (the item's data).
        count_label: a line above the grid: how many photos it shows.
        hint_label: shown instead of the grid while the library has no folder.

    Args:
        loader: reads the library's thumbnails off the GUI thread.
        thumbnail_size: the thumbnails' side, in pixels.
        sort: the order shown first.
        parent: the parent widget.
    """

    def __init__(
        self,
        loader: ThumbnailLoader,
        *,
        thumbnail_size: int,
        sort: GallerySort,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = GalleryModel(loader, thumbnail_size=thumbnail_size)
        self.view = PhotoGridView(thumbnail_size=thumbnail_size)
        self.view.setObjectName("gallery_view")
        self.view.setModel(self.model)
        self.sort_combo = QComboBox()
        for key in GALLERY_SORTS:
            self.sort_combo.addItem(f"Sort by {key}", key)
        self.sort_combo.setCurrentIndex(GALLERY_SORTS.index(sort))
        self.count_label = QLabel("")
        self.hint_label = QLabel(EMPTY_HINT)
        self.hint_label.setObjectName("gallery_hint")
        self.hint_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint_label.setWordWrap(True)
        self._pages = QStackedWidget()
        self._pages.addWidget(self.view)
        self._pages.addWidget(self.hint_label)
        top = QHBoxLayout()
        top.addWidget(self.count_label, 1)
        top.addWidget(self.sort_combo)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self._pages, 1)

    def show_count(
        self, count: int, *, has_folders: bool, folder: Path | None = None
    ) -> None:
        """Say how many photos the grid shows; without folders, show the hint instead.

        Args:
            count: The grid's rows.
            has_folders: Whether the library has a folder.
            folder: The folder whose photos the grid shows; None: all photos.
        """
        text = photo_count(count) if has_folders else ""
        if text and folder is not None:
            text += f" in {display_path(folder.name or folder)}"
            self.count_label.setToolTip(
                f"Photos in {display_path(folder)} and the folders below it; "
                "choose All photos in Folders to see every photo."
            )
        else:
            self.count_label.setToolTip("")
        self.count_label.setText(text)
        self._pages.setCurrentWidget(self.view if has_folders else self.hint_label)

    def current_sort(self) -> GallerySort:
        """The order chosen in the sort box ("date" if it holds none)."""
        key = self.sort_combo.currentData()
        return key if key in GALLERY_SORTS else "date"
