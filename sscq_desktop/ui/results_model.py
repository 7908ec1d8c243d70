"""`ResultsModel`: search hits as a Qt list model, ranked, each with its similarity score.

A thin adapter over `list[Hit]` and the shared thumbnail cache; rows are replaced with a
model reset and thumbnails arrive through `dataChanged`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    Slot,
)

from sscq_desktop.ui.gallery_model import PHOTO_ROLE
from sscq_desktop.ui.library_backend import Hit
from sscq_desktop.ui.signals import emit
from sscq_desktop.ui.thumbnail_loader import ThumbnailLoader

_Index = QModelIndex | QPersistentModelIndex


SCORE_MEANING = "0% is as far apart as two random photos of your library"
"""What the similarity percentage means, in the words of the tooltips."""


def format_score(score: float) -> str:
    """A similarity score as a percentage: ``0.934`` -> ``"93%"``."""
    return f"{round(100 * max(0.0, min(1.0, score)))}%"


class ResultsModel(QAbstractListModel):
    """Search results, best first: thumbnail, file name and similarity score."""

    def __init__(self, loader: ThumbnailLoader, *, thumbnail_size: int = 160) -> None:
        super().__init__()
        self._loader = loader
        self._hits: list[Hit] = []
        self._rows: dict[str, int] = {}
        self.thumbnail_size = thumbnail_size
        loader.thumbnail_ready.connect(self._on_loader_thumbnail_ready)

    @property
    def hits(self) -> list[Hit]:
        return self._hits

    def set_hits(self, hits: Sequence[Hit]) -> None:
        self.beginResetModel()
        self._hits = list(hits)
        self._rows = {str(h.path): i for i, h in enumerate(self._hits)}
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._hits)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._hits):
            return None
        hit = self._hits[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{hit.path.name}\n{format_score(hit.score)} similar"
        if role == Qt.ItemDataRole.DecorationRole:
            pix = self._loader.pixmap(hit.path, self.thumbnail_size)
            return (
                pix
                if pix is not None
                else self._loader.placeholder(self.thumbnail_size)
            )
        if role == Qt.ItemDataRole.ToolTipRole:
            return (
                f"{hit.path}\nSimilarity {format_score(hit.score)} "
                f"({SCORE_MEANING}); code distance {hit.distance:.3f}"
            )
        if role == Qt.ItemDataRole.SizeHintRole:
            return QSize(self.thumbnail_size + 16, self.thumbnail_size + 44)
        if role == PHOTO_ROLE:
            return hit
        return None

    @Slot(str, int)
    def _on_loader_thumbnail_ready(self, path: str, size: int) -> None:
        row = self._rows.get(path)
        if row is not None and size == self.thumbnail_size:
            index = self.index(row)
            emit(self.dataChanged, index, index, [Qt.ItemDataRole.DecorationRole])
