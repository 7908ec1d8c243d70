"""`PreviewDialog`: a larger view of one photo, decoded by the library off the GUI thread.

Shows the image scaled to fit, its path and (for a search result) its similarity band.
The GUI never decodes the photo: the library's cached thumbnail comes first (at once),
then the photo itself as the library decodes it (`Library.render_image`, with its pixel
cap and timeout). If the library cannot decode it, the thumbnail stays, with why.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

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

from sscq_desktop.library.records import SearchHit
from sscq_desktop.ui.errors import user_message
from sscq_desktop.ui.results_model import result_caption, result_tooltip
from sscq_desktop.ui.tasks import Task, TaskContext, TaskRunner
from sscq_desktop.ui.thumbnail_loader import qimage_from_rgb, read_cached_thumbnail

if TYPE_CHECKING:
    from sscq_desktop.library.library import Library

PREVIEW_SIZE = 1600
"""Longest side of the preview, in pixels (the library decodes no larger)."""

_THUMBNAIL_SIDE = 1024  # the cached thumbnail is smaller: shown at its own size


class PreviewDialog(QDialog):
    """One photo, large.

    Signals:
        thumbnail_shown(): the library's cached thumbnail is shown while the photo loads.
        image_loaded(): the photo, as the library decoded it, is shown.
        load_failed(str): the library could not decode the photo (the reason); its
            thumbnail stays if it was shown.
        find_similar_requested(): the user clicked Find similar.
    """

    thumbnail_shown = Signal()
    image_loaded = Signal()
    load_failed = Signal(str)
    find_similar_requested = Signal()

    def __init__(
        self,
        path: Path,
        runner: TaskRunner,
        library: Library,
        *,
        hit: SearchHit | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.path = path
        self._pixmap: QPixmap | None = None
        self._full = False  # the photo itself is shown, not its thumbnail
        self._failure: str | None = None  # why the library could not decode it
        self.setWindowTitle(path.name)
        self.resize(900, 700)
        self.image_label = QLabel("Loading…")
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_label.setMinimumSize(200, 200)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.hide()
        caption = str(path) if hit is None else f"{path}    {result_caption(hit)}"
        info = QLabel(caption)
        if hit is not None:
            info.setToolTip(result_tooltip(hit))
        info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        find = QPushButton("Find similar")
        close = QPushButton("Close")
        bottom = QHBoxLayout()
        bottom.addWidget(info, 1)
        bottom.addWidget(find)
        bottom.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.image_label, 1)
        layout.addWidget(self.status_label)
        layout.addLayout(bottom)
        find.clicked.connect(self.find_similar_requested)
        close.clicked.connect(self.close)

        def thumbnail_fn(ctx: TaskContext) -> QImage | None:
            status = library.thumbnail_status(path)
            if status.state != "ready" or status.path is None:
                return None
            return read_cached_thumbnail(status.path, _THUMBNAIL_SIDE)

        def photo_fn(ctx: TaskContext) -> QImage:
            rendered = library.render_image(path, max_side=PREVIEW_SIZE)
            return qimage_from_rgb(rendered.pixels)

        Task(thumbnail_fn).on_success(self._on_thumbnail_task_done).on_failure(
            self._on_thumbnail_task_failed
        ).start(runner)
        Task(photo_fn).on_success(self._on_photo_task_done).on_failure(
            self._on_photo_task_failed
        ).start(runner)

    def _on_thumbnail_task_done(self, image: QImage | None) -> None:
        if image is None or not shiboken6.isValid(self) or self._full:
            return
        self._pixmap = QPixmap.fromImage(image)
        self._rescale()
        if self._failure is not None:
            self._show_failure_under_thumbnail(self._failure)
        self.thumbnail_shown.emit()

    def _on_thumbnail_task_failed(self, exc: BaseException) -> None:
        pass  # only a head start: the photo itself is on its way

    def _on_photo_task_done(self, image: QImage) -> None:
        if not shiboken6.isValid(self):  # closed before the image arrived
            return
        self._full = True
        self._pixmap = QPixmap.fromImage(image)
        self._rescale()
        self.image_loaded.emit()

    def _on_photo_task_failed(self, exc: BaseException) -> None:
        if not shiboken6.isValid(self):
            return
        message = self._failure = user_message(exc)
        if self._pixmap is None:
            self.image_label.setText(message)
        else:
            self._show_failure_under_thumbnail(message)
        self.load_failed.emit(message)

    def _show_failure_under_thumbnail(self, message: str) -> None:
        self.status_label.setText(
            f"Showing the thumbnail: the photo itself cannot be opened. {message}"
        )
        self.status_label.show()

    def _rescale(self) -> None:
        if self._pixmap is None:
            return
        target = self.image_label.size()
        if not self._full:  # a thumbnail is small: never blown up past twice its size
            target = target.boundedTo(self._pixmap.size() * 2)
        self.image_label.setPixmap(
            self._pixmap.scaled(
                target,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._rescale()
