"""`GalleryModel`: the library's photos as a flat Qt list model (a thin adapter).

Wraps a sorted `list[Photo]`; thumbnails come from a `ThumbnailLoader` and arrive through
`dataChanged` for the affected row. Sorting 100k photos happens in a worker
(`sort_photos`), never here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    Slot,
)

from sscq_desktop.ui.library_backend import Photo
from sscq_desktop.ui.settings import GallerySort
from sscq_desktop.ui.signals import emit
from sscq_desktop.ui.thumbnail_loader import ThumbnailLoader

PHOTO_ROLE = Qt.ItemDataRole.UserRole + 1
"""data(index, PHOTO_ROLE) returns the row's `Photo` (or `Hit` in the results model)."""

_Index = QModelIndex | QPersistentModelIndex


def sort_photos(photos: Sequence[Photo], key: GallerySort) -> list[Photo]:
    """Photos in gallery order: newest first, by file name, or by folder then name."""
    if key == "date":
        return sorted(photos, key=lambda p: (-p.mtime, p.path.name.lower()))
    if key == "name":
        return sorted(photos, key=lambda p: (p.path.name.lower(), str(p.path)))
    return sorted(photos, key=lambda p: (str(p.folder), str(p.path).lower()))


class GalleryModel(QAbstractListModel):
    """Every indexed photo, one row each, with a lazily loaded thumbnail."""

    def __init__(self, loader: ThumbnailLoader, *, thumbnail_size: int = 160) -> None:
        super().__init__()
        self._loader = loader
        self._photos: list[Photo] = []
        self._rows: dict[str, int] = {}
        self.thumbnail_size = thumbnail_size
        loader.thumbnail_ready.connect(self._on_loader_thumbnail_ready)

    @property
    def photos(self) -> list[Photo]:
        return self._photos

    def set_photos(self, photos: list[Photo]) -> None:
        """Replace the rows (already sorted, see `sort_photos`)."""
        self.beginResetModel()
        self._photos = photos
        self._rows = {str(p.path): i for i, p in enumerate(photos)}
        self.endResetModel()

    def photo_at(self, row: int) -> Photo:
        return self._photos[row]

    def row_of(self, path: Path) -> int | None:
        return self._rows.get(str(path))

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._photos)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._photos):
            return None
        photo = self._photos[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return photo.path.name
        if role == Qt.ItemDataRole.DecorationRole:
            pix = self._loader.pixmap(photo.path, self.thumbnail_size)
            return (
                pix
                if pix is not None
                else self._loader.placeholder(self.thumbnail_size)
            )
        if role == Qt.ItemDataRole.ToolTipRole:
            return str(photo.path)
        if role == Qt.ItemDataRole.SizeHintRole:
            return QSize(self.thumbnail_size + 16, self.thumbnail_size + 28)
        if role == PHOTO_ROLE:
            return photo
        return None

    @Slot(str, int)
    def _on_loader_thumbnail_ready(self, path: str, size: int) -> None:
        row = self._rows.get(path)
        if row is not None and size == self.thumbnail_size:
            index = self.index(row)
            emit(self.dataChanged, index, index, [Qt.ItemDataRole.DecorationRole])
