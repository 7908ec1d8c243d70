"""`LossPlot`: a live line plot of the training losses, painted by hand (no matplotlib).

Holds a few short series (step, value) and repaints when a point is added; autoscales
both axes and draws a small legend. Cheap enough to update on every trainer event.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

_COLORS = (
    QColor(31, 119, 180),
    QColor(255, 127, 14),
    QColor(44, 160, 44),
    QColor(214, 39, 40),
    QColor(148, 103, 189),
    QColor(140, 86, 75),
    QColor(227, 119, 194),
)
_MAX_POINTS = 2000


class LossPlot(QWidget):
    """Training losses against the step number; the first series ("total") is drawn bold."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series: dict[str, list[tuple[float, float]]] = {}
        self.setMinimumSize(320, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(480, 240)

    def clear(self) -> None:
        self.series.clear()
        self.update()

    def add_point(self, step: float, losses: Mapping[str, float]) -> None:
        """Append one value per named loss (non-finite values are skipped)."""
        for name, value in losses.items():
            if isinstance(value, int | float) and math.isfinite(value):
                points = self.series.setdefault(name, [])
                points.append((float(step), float(value)))
                if len(points) > _MAX_POINTS:
                    del points[::2]  # keep the shape, halve the points
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), self.palette().base())
        fm = painter.fontMetrics()
        margin_l = fm.horizontalAdvance("0.000e+00") + 8
        plot = QRectF(
            margin_l,
            10,
            self.width() - margin_l - 10,
            self.height() - 10 - fm.height() - 12,
        )
        text_pen = QPen(self.palette().text().color())
        painter.setPen(QPen(self.palette().mid().color()))
        painter.drawRect(plot)
        points = [p for series in self.series.values() for p in series]
        if not points or plot.width() < 10 or plot.height() < 10:
            painter.setPen(text_pen)
            painter.drawText(
                plot, Qt.AlignmentFlag.AlignCenter, "Losses appear here during training"
            )
            painter.end()
            return
        x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
        y0, y1 = min(p[1] for p in points), max(p[1] for p in points)
        if x1 <= x0:
            x1 = x0 + 1
        if y1 <= y0:
            y0, y1 = y0 - 0.5, y1 + 0.5
        pad = 0.05 * (y1 - y0)
        y0 = max(0.0, y0 - pad) if y0 >= 0 else y0 - pad  # losses >= 0 keep a 0 floor
        y1 = y1 + pad

        def to_px(x: float, y: float) -> QPointF:
            return QPointF(
                plot.left() + (x - x0) / (x1 - x0) * plot.width(),
                plot.bottom() - (y - y0) / (y1 - y0) * plot.height(),
            )

        painter.setPen(text_pen)
        for frac in (0.0, 0.5, 1.0):
            y = y0 + frac * (y1 - y0)
            py = plot.bottom() - frac * plot.height()
            painter.drawText(
                QRectF(0, py - fm.height() / 2, margin_l - 4, fm.height()),
                Qt.AlignmentFlag.AlignRight,
                f"{y:.3g}",
            )
        painter.drawText(
            QRectF(plot.left(), plot.bottom() + 4, plot.width(), fm.height()),
            Qt.AlignmentFlag.AlignLeft,
            f"step {x0:.0f}",
        )
        painter.drawText(
            QRectF(plot.left(), plot.bottom() + 4, plot.width(), fm.height()),
            Qt.AlignmentFlag.AlignRight,
            f"step {x1:.0f}",
        )
        legend_y = plot.top() + 4
        for i, (name, series) in enumerate(self.series.items()):
            color = _COLORS[i % len(_COLORS)]
            pen = QPen(color, 2.4 if i == 0 else 1.4)
            painter.setPen(pen)
            path = QPainterPath(to_px(*series[0]))
            for x, y in series[1:]:
                path.lineTo(to_px(x, y))
            painter.drawPath(path)
            painter.drawLine(
                QPointF(plot.right() - 110, legend_y + fm.height() / 2),
                QPointF(plot.right() - 92, legend_y + fm.height() / 2),
            )
            painter.setPen(text_pen)
            painter.drawText(
                QRectF(plot.right() - 88, legend_y, 84, fm.height()),
                Qt.AlignmentFlag.AlignLeft,
                name,
            )
            legend_y += fm.height() + 2
        painter.end()
