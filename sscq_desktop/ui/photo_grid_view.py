"""`PhotoGridView`: a QListView in icon mode for large photo grids, with the photo menu.

Uniform item sizes and batched layout keep it smooth with 100k rows. Its context menu
offers Find similar, Open, Show in folder and Copy path on any photo row (a
`PhotoRecord` or a `SearchHit` under `PHOTO_ROLE`).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QModelIndex, QPoint, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QContextMenuEvent, QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QListView, QMenu, QWidget

from sscq_desktop.ui.gallery_model import PHOTO_ROLE


class PhotoGridView(QListView):
    """A grid of photo thumbnails.

    Signals:
        find_similar_requested(object): a `PhotoRecord` or `SearchHit` to search from.
        preview_requested(object): a photo was double-clicked or Enter was pressed.
    """

    find_similar_requested = Signal(object)
    preview_requested = Signal(object)

    def __init__(
        self,
        *,
        thumbnail_size: int = 160,
        caption_lines: int = 1,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(2000)
        self.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setSpacing(4)
        self._caption_lines = caption_lines
        self.set_thumbnail_size(thumbnail_size)
        self.activated.connect(self._on_self_activated)
        self.doubleClicked.connect(self._on_self_activated)

    def set_thumbnail_size(self, size: int) -> None:
        self.setIconSize(QSize(size, size))
        line = self.fontMetrics().height()
        self.setGridSize(QSize(size + 16, size + 12 + line * self._caption_lines))

    def photo_at(self, index: QModelIndex) -> object | None:
        return index.data(PHOTO_ROLE) if index.isValid() else None

    def context_menu_for(self, index: QModelIndex) -> QMenu | None:
        """The photo menu for `index`, or None off the items (tests trigger its actions)."""
        photo = self.photo_at(index)
        if photo is None:
            return None
        path: Path = photo.path  # type: ignore[attr-defined]
        menu = QMenu(self)
        find = menu.addAction("Find similar")
        find.setObjectName("find_similar_action")
        find.triggered.connect(lambda: self.find_similar_requested.emit(photo))
        menu.addSeparator()
        menu.addAction("Open").triggered.connect(lambda: open_file(path))
        menu.addAction("Show in folder").triggered.connect(lambda: show_in_folder(path))
        menu.addAction("Copy path").triggered.connect(lambda: copy_path(path))
        preview = menu.addAction("Preview")
        preview.triggered.connect(lambda: self.preview_requested.emit(photo))
        return menu

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = self.context_menu_for(self.indexAt(event.pos()))
        if menu is not None:
            menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            menu.popup(self.viewport().mapToGlobal(QPoint(event.pos())))

    def _on_self_activated(self, index: QModelIndex) -> None:
        photo = self.photo_at(index)
        if photo is not None:
            self.preview_requested.emit(photo)


def open_file(path: Path) -> None:
    """Open `path` in the system's default viewer."""
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


def show_in_folder(path: Path) -> None:
    """Reveal `path` in the file manager (argument lists only, never a shell string)."""
    if sys.platform == "win32":
        subprocess.Popen(["explorer", f"/select,{path}"])
    elif sys.platform == "darwin":
        subprocess.Popen(["open", "-R", str(path)])
    else:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent)))


def copy_path(path: Path) -> None:
    """Put `path` on the clipboard as text."""
    QGuiApplication.clipboard().setText(str(path))
