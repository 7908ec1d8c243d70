"""`ThumbnailListModel`: the thumbnail plumbing shared by the gallery and the results.

Rows are photos keyed by path; the thumbnail comes from the shared `ThumbnailLoader`
(a placeholder until it is decoded off the GUI thread) and its arrival repaints just
that row through `dataChanged`. Subclasses own their rows and the other roles.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QAbstractListModel, Qt, Slot
from PySide6.QtGui import QPixmap

from sscq_desktop.ui.signals import emit
from sscq_desktop.ui.thumbnail_loader import ThumbnailLoader


class ThumbnailListModel(QAbstractListModel):
    """A list model whose rows show lazily loaded thumbnails; emits `dataChanged`."""

    def __init__(self, loader: ThumbnailLoader, *, thumbnail_size: int) -> None:
        super().__init__()
        self._loader = loader
        self._rows: dict[str, int] = {}  # str(path) -> row, kept by subclasses
        self.thumbnail_size = thumbnail_size
        loader.thumbnail_ready.connect(self._on_loader_thumbnail_ready)

    def _thumbnail(self, path: Path) -> QPixmap:
        """The thumbnail of `path`, or a placeholder while it loads."""
        pix = self._loader.pixmap(path, self.thumbnail_size)
        return pix if pix is not None else self._loader.placeholder(self.thumbnail_size)

    @Slot(str, int)
    def _on_loader_thumbnail_ready(self, path: str, size: int) -> None:
        row = self._rows.get(path)
        if row is not None and size == self.thumbnail_size:
            index = self.index(row)
            emit(self.dataChanged, index, index, [Qt.ItemDataRole.DecorationRole])
