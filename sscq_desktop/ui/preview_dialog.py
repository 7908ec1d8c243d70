"""`PreviewDialog`: a larger view of one photo, decoded off the GUI thread.

Shows the image scaled to fit, its path and (for a search result) its similarity score.
"""

from __future__ import annotations

from pathlib import Path

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from sscq_desktop.ui.errors import user_message
from sscq_desktop.ui.results_model import format_score
from sscq_desktop.ui.signals import emit
from sscq_desktop.ui.tasks import Task, TaskContext, TaskRunner
from sscq_desktop.ui.thumbnail_loader import decode_thumbnail

_PREVIEW_SIZE = 1600


class PreviewDialog(QDialog):
    """One photo, large.

    Signals:
        image_loaded(): the image is decoded and shown.
        find_similar_requested(): the user clicked Find similar.
    """

    image_loaded = Signal()
    find_similar_requested = Signal()

    def __init__(
        self,
        path: Path,
        runner: TaskRunner,
        *,
        score: float | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.path = path
        self._pixmap: QPixmap | None = None
        self.setWindowTitle(path.name)
        self.resize(900, 700)
        self.image_label = QLabel("Loading…")
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_label.setMinimumSize(200, 200)
        caption = (
            str(path)
            if score is None
            else f"{path}    similarity {format_score(score)}"
        )
        info = QLabel(caption)
        info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        find = QPushButton("Find similar")
        close = QPushButton("Close")
        bottom = QHBoxLayout()
        bottom.addWidget(info, 1)
        bottom.addWidget(find)
        bottom.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.image_label, 1)
        layout.addLayout(bottom)
        find.clicked.connect(self.find_similar_requested)
        close.clicked.connect(self.close)

        def fn(ctx: TaskContext) -> QImage:
            image = decode_thumbnail(str(path), _PREVIEW_SIZE)
            if image is None:
                raise OSError(f"cannot open {path.name}: not a readable image")
            return image

        Task(fn).on_success(self._on_task_image_decoded).on_failure(
            self._on_task_failed
        ).start(runner)

    def _on_task_image_decoded(self, image: QImage) -> None:
        if not shiboken6.isValid(self):  # closed before the image arrived
            return
        self._pixmap = QPixmap.fromImage(image)
        self._rescale()
        emit(self.image_loaded)

    def _on_task_failed(self, exc: BaseException) -> None:
        if shiboken6.isValid(self):
            self.image_label.setText(user_message(exc))

    def _rescale(self) -> None:
        if self._pixmap is not None:
            self.image_label.setPixmap(
                self._pixmap.scaled(
                    self.image_label.size(),
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._rescale()
