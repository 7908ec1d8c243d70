"""`FailedPhotosModel`: photos that could not be indexed, as a Qt table (name, folder, reason).

A thin adapter over the ``(path, reason)`` pairs of `Library.errors`; rows are replaced with a model reset, and only
when they changed, so a view keeps its selection and scroll position across refreshes.
Sorting is the view's (a `QSortFilterProxyModel` over it). Reads nothing itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)

from sscq_desktop.library.images.failure_explanations import explain_failure
from sscq_desktop.library.path_text import display_path

_Index = QModelIndex | QPersistentModelIndex

FAILED_PHOTO_ROLE = Qt.ItemDataRole.UserRole + 1
"""Data role holding a row's ``(path, reason)`` pair."""

COLUMNS = ("Name", "Folder", "Reason")


def failure_details(path: Path, reason: str) -> str:
    """A failed photo told whole: its path, why in plain words, and the technical reason."""
    return f"{display_path(path)}\n{explain_failure(reason)}\nDetails: {reason}"


class FailedPhotosModel(QAbstractTableModel):
    """Failed photos, one per row: file name, folder and why it could not be read."""

    def __init__(self) -> None:
        super().__init__()
        self._photos: list[tuple[Path, str]] = []

    @property
    def photos(self) -> list[tuple[Path, str]]:
        """The rows' ``(path, reason)`` pairs, in model order (never edited in place)."""
        return self._photos

    def set_photos(self, photos: Sequence[tuple[Path, str]]) -> bool:
        """Show `photos`; returns False (and keeps the view as it is) when unchanged."""
        photos = list(photos)
        if photos == self._photos:
            return False
        self.beginResetModel()
        self._photos = photos
        self.endResetModel()
        return True

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._photos)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(COLUMNS)
        ):
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._photos):
            return None
        path, reason = self._photos[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                display_path(path.name),
                display_path(path.parent),
                explain_failure(reason),
            )[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return failure_details(path, reason)
        if role == FAILED_PHOTO_ROLE:
            return path, reason
        return None
