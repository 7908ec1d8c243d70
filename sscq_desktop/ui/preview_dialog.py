"""`PreviewDialog`: a larger view of a photo, decoded by the library off the GUI thread.

Shows the image scaled to fit, its path and (for a search result) its similarity band;
Previous / Next (or the Left / Right keys) step through the photos it was opened from
(the gallery's order, or the results').
The GUI never decodes the photo: the library's cached thumbnail comes first (at once),
then the photo itself as the library decodes it (`Library.render_image`, with its pixel
cap and timeout). If the library cannot decode it, the thumbnail stays, with why.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QKeyEvent, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from sscq_desktop.library.records import PhotoRecord, SearchHit
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
    """One photo, large, and the photos beside it.

    Signals:
        thumbnail_shown(): the library's cached thumbnail is shown while the photo loads.
        image_loaded(): the photo, as the library decoded it, is shown.
        load_failed(str): the library could not decode the photo (the reason); its
            thumbnail stays if it was shown.
        find_similar_requested(object): the user clicked Find similar: the photo shown
            (a `PhotoRecord` or a `SearchHit`; a `Path` for a bare path).

    Args:
        photos: What Previous / Next step through: `PhotoRecord`s, `SearchHit`s or paths.
        index: The one shown first.
        runner: Runs the decodes.
        library: Decodes (and holds the cached thumbnails).
    """

    thumbnail_shown = Signal()
    image_loaded = Signal()
    load_failed = Signal(str)
    find_similar_requested = Signal(object)

    def __init__(
        self,
        photos: Sequence[PhotoRecord | SearchHit | Path],
        index: int,
        runner: TaskRunner,
        library: Library,
        *,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        if not 0 <= index < len(photos):
            raise IndexError(f"index {index} is outside the {len(photos)} photos")
        self._photos = list(photos)
        self._runner = runner
        self._library = library
        self.index = index
        self.path = Path()
        self._shown = 0  # generation of the photo shown: stale decodes are dropped
        self._tasks: list[Task[QImage | None]] = []  # the decodes of the photo shown
        self._pixmap: QPixmap | None = None
        self._full = False  # the photo itself is shown, not its thumbnail
        self._failure: str | None = None  # why the library could not decode it
        self.resize(900, 700)
        self.image_label = QLabel("Loading…")
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_label.setMinimumSize(200, 200)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.info_label = QLabel()
        self.info_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.previous_button = QPushButton("‹ Previous")
        self.previous_button.setToolTip("The photo before this one (Left arrow)")
        self.next_button = QPushButton("Next ›")
        self.next_button.setToolTip("The photo after this one (Right arrow)")
        find = QPushButton("Find similar")
        close = QPushButton("Close")
        for button in (self.previous_button, self.next_button, find):
            button.setAutoDefault(False)
        bottom = QHBoxLayout()
        bottom.addWidget(self.previous_button)
        bottom.addWidget(self.next_button)
        bottom.addWidget(self.info_label, 1)
        bottom.addWidget(find)
        bottom.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.image_label, 1)
        layout.addWidget(self.status_label)
        layout.addLayout(bottom)
        self.previous_button.clicked.connect(self.show_previous)
        self.next_button.clicked.connect(self.show_next)
        find.clicked.connect(self._on_find_clicked)
        close.clicked.connect(self.close)
        self._show(index)

    @property
    def photo(self) -> PhotoRecord | SearchHit | Path:
        """The photo shown."""
        return self._photos[self.index]

    def show_previous(self) -> None:
        """Show the photo before this one (none before the first)."""
        if self.index > 0:
            self._show(self.index - 1)

    def show_next(self) -> None:
        """Show the photo after this one (none after the last)."""
        if self.index < len(self._photos) - 1:
            self._show(self.index + 1)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Left:
            self.show_previous()
        elif event.key() == Qt.Key.Key_Right:
            self.show_next()
        else:
            super().keyPressEvent(event)

    def _show(self, index: int) -> None:
        self.index = index
        photo = self._photos[index]
        path = self.path = photo if isinstance(photo, Path) else photo.path
        hit = photo if isinstance(photo, SearchHit) else None
        self._shown += 1
        shown = self._shown
        self._pixmap, self._full, self._failure = None, False, None
        self.image_label.clear()
        self.image_label.setText("Loading…")
        self.status_label.hide()
        self.setWindowTitle(path.name)
        place = (
            f"{index + 1} of {len(self._photos)}    " if len(self._photos) > 1 else ""
        )
        caption = str(path) if hit is None else f"{path}    {result_caption(hit)}"
        self.info_label.setText(place + caption)
        self.info_label.setToolTip("" if hit is None else result_tooltip(hit))
        self.previous_button.setEnabled(index > 0)
        self.next_button.setEnabled(index < len(self._photos) - 1)
        self.previous_button.setVisible(len(self._photos) > 1)
        self.next_button.setVisible(len(self._photos) > 1)
        library = self._library
        for task in self._tasks:  # stepping on: the photo left needs no decode
            task.cancel()

        def thumbnail_fn(ctx: TaskContext) -> QImage | None:
            ctx.check_cancelled()
            status = library.thumbnail_status(path)
            if status.state != "ready" or status.path is None:
                return None
            return read_cached_thumbnail(status.path, _THUMBNAIL_SIDE)

        def photo_fn(ctx: TaskContext) -> QImage | None:
            ctx.check_cancelled()
            rendered = library.render_image(path, max_side=PREVIEW_SIZE)
            return qimage_from_rgb(rendered.pixels)

        thumbnail: Task[QImage | None] = Task(thumbnail_fn)
        thumbnail.on_success(lambda image: self._on_thumbnail_task_done(shown, image))
        thumbnail.start(self._runner)  # only a head start: a failure changes nothing
        full: Task[QImage | None] = Task(photo_fn)
        full.on_success(lambda image: self._on_photo_task_done(shown, image))
        full.on_failure(lambda exc: self._on_photo_task_failed(shown, exc))
        full.start(self._runner)
        self._tasks = [thumbnail, full]

    def _current(self, shown: int) -> bool:
        """Whether a decode for generation `shown` is still wanted."""
        return shiboken6.isValid(self) and shown == self._shown

    def _on_find_clicked(self) -> None:
        self.find_similar_requested.emit(self.photo)

    def _on_thumbnail_task_done(self, shown: int, image: QImage | None) -> None:
        if image is None or not self._current(shown) or self._full:
            return
        self._pixmap = QPixmap.fromImage(image)
        self._rescale()
        if self._failure is not None:
            self._show_failure_under_thumbnail(self._failure)
        self.thumbnail_shown.emit()

    def _on_photo_task_done(self, shown: int, image: QImage | None) -> None:
        if image is None or not self._current(shown):  # closed, or stepped on
            return
        self._full = True
        self._pixmap = QPixmap.fromImage(image)
        self._rescale()
        self.image_loaded.emit()

    def _on_photo_task_failed(self, shown: int, exc: BaseException) -> None:
        if not self._current(shown):
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
