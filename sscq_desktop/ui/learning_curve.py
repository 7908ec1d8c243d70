"""`LearningCurve`: one live line of how training is going, painted by hand (no matplotlib).

The retrain dialog feeds it the trainer's total loss at each step it reports; a person
sees one curve that goes down while the model learns ("lower is better"), against the
photos seen so far, not the loss terms' names. Repaints when a point is added; cheap
enough to update on every trainer event.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

_COLOR = QColor(31, 119, 180)
_MAX_POINTS = 2000
PLACEHOLDER = "How the model is learning appears here once training starts."


class LearningCurve(QWidget):
    """Training loss (lower is better) against the number of photos seen."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.points: list[tuple[float, float]] = []
        """(photos seen, loss), oldest first; thinned to at most `_MAX_POINTS`."""
        self.setMinimumSize(320, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip(
            "The training loss: how poorly the model still tells your photos apart "
            "from their edited copies. It goes down while the model learns; lower is "
            "better."
        )

    def sizeHint(self) -> QSize:
        return QSize(480, 220)

    def clear(self) -> None:
        """Forget every point (a new training run)."""
        self.points.clear()
        self.update()

    def add_point(self, photos_seen: float, loss: float | None) -> None:
        """Append one point; a missing or non-finite loss is skipped."""
        if loss is None or not math.isfinite(loss):
            return
        self.points.append((float(photos_seen), float(loss)))
        if len(self.points) > _MAX_POINTS:
            del self.points[::2]  # keep the shape, halve the points
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), self.palette().base())
        fm = painter.fontMetrics()
        line = fm.height()
        plot = QRectF(10, 10 + line, self.width() - 20, self.height() - 24 - 2 * line)
        text_pen = QPen(self.palette().text().color())
        painter.setPen(QPen(self.palette().mid().color()))
        painter.drawRect(plot)
        painter.setPen(text_pen)
        if not self.points or plot.width() < 10 or plot.height() < 10:
            painter.drawText(
                plot,
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                PLACEHOLDER,
            )
            painter.end()
            return
        painter.drawText(
            QRectF(plot.left(), 4, plot.width(), line),
            Qt.AlignmentFlag.AlignLeft,
            "Learning (lower is better)",
        )
        xs = [p[0] for p in self.points]
        ys = [p[1] for p in self.points]
        x0, x1 = min(xs), max(xs)
        y0, y1 = min(ys), max(ys)
        if x1 <= x0:
            x1 = x0 + 1
        if y1 <= y0:
            y0, y1 = y0 - 0.5, y1 + 0.5
        pad = 0.05 * (y1 - y0)
        y0, y1 = y0 - pad, y1 + pad

        def to_px(x: float, y: float) -> QPointF:
            return QPointF(
                plot.left() + (x - x0) / (x1 - x0) * plot.width(),
                plot.bottom() - (y - y0) / (y1 - y0) * plot.height(),
            )

        below = QRectF(plot.left(), plot.bottom() + 4, plot.width(), line)
        painter.drawText(below, Qt.AlignmentFlag.AlignLeft, f"{x0:,.0f} photos seen")
        painter.drawText(below, Qt.AlignmentFlag.AlignRight, f"{x1:,.0f} photos seen")
        painter.setPen(QPen(_COLOR, 2.4))
        path = QPainterPath(to_px(*self.points[0]))
        for x, y in self.points[1:]:
            path.lineTo(to_px(x, y))
        painter.drawPath(path)
        painter.end()
