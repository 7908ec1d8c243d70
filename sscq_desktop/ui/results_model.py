"""`ResultsModel`: search hits as a Qt list model, ranked, each with its similarity score.

A thin adapter over `list[SearchHit]` and the shared thumbnail cache; rows are replaced with a
model reset and thumbnails arrive through `dataChanged`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
)

from sscq_desktop.library.path_text import display_path
from sscq_desktop.library.records import SearchHit
from sscq_desktop.ui.gallery_model import PHOTO_ROLE
from sscq_desktop.ui.thumbnail_list_model import ThumbnailListModel
from sscq_desktop.ui.thumbnail_loader import ThumbnailLoader

_Index = QModelIndex | QPersistentModelIndex


SCORE_MEANING = (
    "100% is the query's own code (a copy), 50% as close as the closest 1% of "
    "random pairs in your library, 0% as far apart as two typical photos"
)
"""What the similarity percentage means, in the words of the tooltips."""


def format_score(score: float) -> str:
    """A similarity score as a percentage: ``0.934`` -> ``"93%"``."""
    return f"{round(100 * max(0.0, min(1.0, score)))}%"


class ResultsModel(ThumbnailListModel):
    """Search results, best first: thumbnail, file name and similarity score."""

    def __init__(self, loader: ThumbnailLoader, *, thumbnail_size: int = 160) -> None:
        super().__init__(loader, thumbnail_size=thumbnail_size)
        self._hits: list[SearchHit] = []

    @property
    def hits(self) -> list[SearchHit]:
        return self._hits

    def set_hits(self, hits: Sequence[SearchHit]) -> None:
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
            return f"{display_path(hit.path.name)}\n{format_score(hit.score)} similar"
        if role == Qt.ItemDataRole.DecorationRole:
            return self._thumbnail(hit.path)
        if role == Qt.ItemDataRole.ToolTipRole:
            return (
                f"{display_path(hit.path)}\nSimilarity {format_score(hit.score)} "
                f"({SCORE_MEANING}); code distance {hit.distance:.3f}"
                f"{_OFFLINE_NOTE if hit.offline else ''}"
                f"{self._thumbnail_note(hit.path)}"
            )
        if role == Qt.ItemDataRole.SizeHintRole:
            return QSize(self.thumbnail_size + 16, self.thumbnail_size + 44)
        if role == PHOTO_ROLE:
            return hit
        return None


_OFFLINE_NOTE = "\nIts folder is offline: the photo cannot be opened until it is back"
