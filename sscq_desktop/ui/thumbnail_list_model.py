"""`ThumbnailListModel`: the thumbnail plumbing shared by the gallery and the results.

Rows are photos keyed by path; the thumbnail is the one the library made, read by the
shared `ThumbnailLoader` off the GUI thread (a placeholder until it arrives, another one
if it cannot be made), and its arrival repaints just that row through `dataChanged`.
Subclasses own their rows and the other roles.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QAbstractListModel, Qt, Slot
from PySide6.QtGui import QPixmap

from sscq_desktop.ui.thumbnail_loader import ThumbnailLoader

_THUMBNAIL_ROLES = [Qt.ItemDataRole.DecorationRole, Qt.ItemDataRole.ToolTipRole]


class ThumbnailListModel(QAbstractListModel):
    """A list model whose rows show lazily loaded thumbnails; emits `dataChanged`."""

    def __init__(self, loader: ThumbnailLoader, *, thumbnail_size: int) -> None:
        super().__init__()
        self._loader = loader
        self._rows: dict[str, int] = {}  # str(path) -> row, kept by subclasses
        self.thumbnail_size = thumbnail_size
        loader.thumbnail_changed.connect(self._on_loader_thumbnail_changed)
        loader.thumbnails_reset.connect(self._on_loader_thumbnails_reset)

    def _thumbnail(self, path: Path) -> QPixmap:
        """The thumbnail of `path`, or the placeholder of its state (pending or failed)."""
        return self._loader.thumbnail(path, self.thumbnail_size)

    def _thumbnail_note(self, path: Path) -> str:
        """A tooltip line saying why `path` shows no thumbnail ("" when it does)."""
        state = self._loader.state(path, self.thumbnail_size)
        if state == "failed":
            reason = self._loader.reason(path, self.thumbnail_size)
            return f"\nNo thumbnail: {reason}" if reason else "\nNo thumbnail"
        if state == "pending":
            return "\nThe thumbnail is not made yet"
        return ""

    @Slot(str, int)
    def _on_loader_thumbnail_changed(self, path: str, size: int) -> None:
        row = self._rows.get(path)
        if row is not None and size == self.thumbnail_size:
            index = self.index(row)
            self.dataChanged.emit(index, index, _THUMBNAIL_ROLES)

    @Slot()
    def _on_loader_thumbnails_reset(self) -> None:
        # The views ask again for the rows they show; hidden rows cost nothing.
        count = self.rowCount()
        if count:
            self.dataChanged.emit(
                self.index(0), self.index(count - 1), _THUMBNAIL_ROLES
            )
