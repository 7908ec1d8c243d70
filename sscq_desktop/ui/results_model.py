"""`ResultsModel`: search hits as a Qt list model, ranked, each with its similarity band.

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
from sscq_desktop.library.records import SearchHit, SimilarityBand
from sscq_desktop.ui.gallery_model import PHOTO_ROLE
from sscq_desktop.ui.thumbnail_list_model import ThumbnailListModel
from sscq_desktop.ui.thumbnail_loader import ThumbnailLoader

_Index = QModelIndex | QPersistentModelIndex


BAND_MEANING: dict[SimilarityBand | None, str] = {
    SimilarityBand.COPY: "the same photo, resized or re-encoded",
    SimilarityBand.NEAR_COPY: "the same photo, edited (brightness, contrast, a small crop)",
    SimilarityBand.VERY_SIMILAR: (
        "likely the same kind of photo (a same-kind probability of 50% or more)"
    ),
    SimilarityBand.RELATED: (
        "possibly the same kind of photo (a same-kind probability of 20% or more)"
    ),
    None: "farther than related photos",
}
"""What each band means, in the words of the tooltips."""

PROBABILITY_MEANING = (
    "the share of results this close that were the same kind of photo as the query, "
    "measured on labeled test photos; in your library it can be higher or lower, "
    "depending on how alike your photos are"
)
"""What the percentage means, in the words of the tooltips."""


def band_label(band: SimilarityBand | None) -> str:
    """The band as shown under a result: ``"Near copy"``, or ``"Less similar"``."""
    return "Less similar" if band is None else band.value


def format_score(score: float) -> str:
    """A probability as a percentage: ``0.934`` -> ``"93%"``."""
    return f"{round(100 * max(0.0, min(1.0, score)))}%"


def result_caption(hit: SearchHit) -> str:
    """One line for a result: its band and its same-kind probability."""
    return f"{band_label(hit.band)} · same kind {format_score(hit.score)}"


def result_tooltip(hit: SearchHit) -> str:
    """What a result's band and percentage mean, honestly, for its tooltip."""
    return (
        f"{band_label(hit.band)}: {BAND_MEANING[hit.band]}.\n"
        f"Same kind {format_score(hit.score)}: {PROBABILITY_MEANING}.\n"
        f"Distance {hit.distance:.3f} (the model's distance between the two photos)"
    )


class ResultsModel(ThumbnailListModel):
    """Search results, best first: thumbnail, file name and similarity band."""

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
            return f"{display_path(hit.path.name)}\n{band_label(hit.band)}"
        if role == Qt.ItemDataRole.DecorationRole:
            return self._thumbnail(hit.path)
        if role == Qt.ItemDataRole.ToolTipRole:
            return (
                f"{display_path(hit.path)}\n{result_tooltip(hit)}"
                f"{_OFFLINE_NOTE if hit.offline else ''}"
                f"{self._thumbnail_note(hit.path)}"
            )
        if role == Qt.ItemDataRole.SizeHintRole:
            return QSize(self.thumbnail_size + 16, self.thumbnail_size + 44)
        if role == PHOTO_ROLE:
            return hit
        return None


_OFFLINE_NOTE = "\nIts folder is offline: the photo cannot be opened until it is back"
