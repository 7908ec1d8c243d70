"""`GalleryModel`: the library's photos as a flat Qt list model (a thin adapter).

Wraps a sorted `list[PhotoRecord]`; thumbnails (the library's, read by a `ThumbnailLoader`)
arrive through `dataChanged` for the affected row. Sorting 100k photos and working out what changed
(`sort_photos`, `plan_gallery_update`) happen in a worker, never here: the GUI thread only
applies the few row insertions and removals, so the view keeps its scroll position and
selection while photos arrive or leave.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
)

from sscq_desktop.library.path_text import display_path
from sscq_desktop.library.records import FolderId, PhotoRecord
from sscq_desktop.ui.settings import GallerySort
from sscq_desktop.ui.thumbnail_list_model import ThumbnailListModel
from sscq_desktop.ui.thumbnail_loader import ThumbnailLoader

PHOTO_ROLE = Qt.ItemDataRole.UserRole + 1
"""data(index, PHOTO_ROLE): the row's `PhotoRecord` (a `SearchHit` in the results)."""

_Index = QModelIndex | QPersistentModelIndex

MAX_EDITS = 64
"""Past this many separate runs of inserted or removed rows, one reset is cheaper."""


@dataclass(frozen=True)
class GalleryUpdate:
    """How to turn the rows `base` into `photos`: removals, then insertions.

    Attributes:
        base: The row list the plan was made from (compared by identity when applied).
        photos: The new rows, sorted.
        rows: Row of each path in `photos`.
        removals: ``(first, last)`` row ranges of `base` to remove, bottom-up.
        insertions: ``(row, photos)`` runs to insert, top-down, at their final rows.
        reset: Replace everything at once instead (a new sort order, or many edits).
        dropped: Paths of the rows of `base` that left or changed (their thumbnails
            may have changed too).
    """

    base: list[PhotoRecord]
    photos: list[PhotoRecord]
    rows: dict[str, int]
    removals: list[tuple[int, int]] = field(default_factory=list)
    insertions: list[tuple[int, list[PhotoRecord]]] = field(default_factory=list)
    reset: bool = False
    dropped: list[Path] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.reset or self.removals or self.insertions)


def plan_gallery_update(
    base: list[PhotoRecord], photos: list[PhotoRecord]
) -> GalleryUpdate:
    """The row edits from `base` to `photos` (both in gallery order); worker-thread safe.

    A photo whose record changed (say, its modification time: the file was edited) is
    removed and inserted at its new place. Falls back to a reset when the kept rows changed order or the edits
    are too scattered to be cheaper than one.
    """
    rows = {str(p.path): i for i, p in enumerate(photos)}
    if not base:
        return GalleryUpdate(base, photos, rows, reset=bool(photos))
    wanted = set(photos)
    removals: list[tuple[int, int]] = []
    kept: list[PhotoRecord] = []
    dropped: list[Path] = []
    for i, photo in enumerate(base):
        if photo in wanted:
            kept.append(photo)
            continue
        dropped.append(photo.path)
        if removals and removals[-1][1] == i - 1:
            removals[-1] = (removals[-1][0], i)
        else:
            removals.append((i, i))
    removals.reverse()  # bottom-up: earlier rows keep their numbers
    insertions: list[tuple[int, list[PhotoRecord]]] = []
    j = 0
    for i, photo in enumerate(photos):
        if j < len(kept) and kept[j] == photo:
            j += 1
        elif insertions and insertions[-1][0] + len(insertions[-1][1]) == i:
            insertions[-1][1].append(photo)
        else:
            insertions.append((i, [photo]))
    in_order = j == len(kept)  # else a kept photo moved: the sort order changed
    if not in_order or len(removals) + len(insertions) > MAX_EDITS:
        return GalleryUpdate(base, photos, rows, reset=True, dropped=dropped)
    return GalleryUpdate(base, photos, rows, removals, insertions, dropped=dropped)


def photo_date_ns(photo: PhotoRecord) -> int:
    """When `photo` was taken (EXIF ``DateTimeOriginal``), else its modification time.

    In nanoseconds since the epoch; the EXIF date, which has no time zone, is read as
    local time, as the modification time is shown. A copied photo keeps its date taken.
    """
    if photo.taken_at:
        try:
            return int(datetime.fromisoformat(photo.taken_at).timestamp() * 1e9)
        except (ValueError, OverflowError, OSError):
            pass  # not a date this platform can place: fall back to the file's
    return photo.mtime_ns


def sort_photos(
    photos: Sequence[PhotoRecord],
    key: GallerySort,
    *,
    roots: Mapping[FolderId, Path],
) -> list[PhotoRecord]:
    """Photos in gallery order: newest first, by file name, or by folder then path.

    "Newest" is by date taken, for photos without one by modification time
    (`photo_date_ns`).

    Args:
        photos: The library's photos.
        key: The order.
        roots: Each library root folder's path, by id ("folder" sorts by root).
    """
    if key == "date":
        return sorted(photos, key=lambda p: (-photo_date_ns(p), p.path.name.lower()))
    if key == "name":
        return sorted(photos, key=lambda p: (p.path.name.lower(), str(p.path)))
    return sorted(
        photos,
        key=lambda p: (str(roots.get(p.folder_id, p.path.parent)), str(p.path).lower()),
    )


def photos_below(photos: Sequence[PhotoRecord], folder: Path) -> list[PhotoRecord]:
    """The photos at any depth below `folder`, in their order; worker-thread safe."""
    prefix = os.path.join(folder, "")  # "folder/": a sibling "folder2" does not match
    return [p for p in photos if os.fspath(p.path).startswith(prefix)]


class GalleryModel(ThumbnailListModel):
    """Every indexed photo, one row each, with a lazily loaded thumbnail."""

    def __init__(self, loader: ThumbnailLoader, *, thumbnail_size: int = 160) -> None:
        super().__init__(loader, thumbnail_size=thumbnail_size)
        self._photos: list[PhotoRecord] = []

    @property
    def photos(self) -> list[PhotoRecord]:
        return self._photos

    def set_photos(self, photos: list[PhotoRecord]) -> None:
        """Replace the rows (already sorted, see `sort_photos`)."""
        self.beginResetModel()
        self._photos = photos
        self._rows = {str(p.path): i for i, p in enumerate(photos)}
        self.endResetModel()

    def apply_update(self, update: GalleryUpdate) -> None:
        """Apply a `plan_gallery_update` plan; a reset if the rows changed since it."""
        self._loader.forget(update.dropped)
        if update.base is not self._photos or update.reset:
            self.beginResetModel()
            self._photos, self._rows = update.photos, update.rows
            self.endResetModel()
            return
        # Edit a copy: the old list may be the base of a plan being made in a worker.
        rows = self._photos = list(self._photos)
        for first, last in update.removals:
            self.beginRemoveRows(QModelIndex(), first, last)
            del rows[first : last + 1]
            self.endRemoveRows()
        for row, photos in update.insertions:
            self.beginInsertRows(QModelIndex(), row, row + len(photos) - 1)
            rows[row:row] = photos
            self.endInsertRows()
        self._photos, self._rows = update.photos, update.rows

    def photo_at(self, row: int) -> PhotoRecord:
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
            return display_path(photo.path.name)
        if role == Qt.ItemDataRole.DecorationRole:
            return self._thumbnail(photo.path)
        if role == Qt.ItemDataRole.ToolTipRole:
            return display_path(photo.path) + self._thumbnail_note(photo.path)
        if role == Qt.ItemDataRole.SizeHintRole:
            return QSize(self.thumbnail_size + 16, self.thumbnail_size + 28)
        if role == PHOTO_ROLE:
            return photo
        return None
