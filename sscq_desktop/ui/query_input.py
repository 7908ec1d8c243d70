"""`QueryInput`: turns dropped, pasted and chosen images into `MainWindow` queries.

A pasted or dropped image that is not a file is written to a temporary file off the GUI
thread: its encoded bytes as they came (the library decodes them, with its pixel cap,
like any query file; the GUI never does), or a PNG of pixels Qt already holds (an image
copied inside this process). It lives until the next query replaces it or `close()`.
Never searches itself: it emits `file_ready` and the window runs the query.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QMimeData, QObject, Signal
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QFileDialog, QWidget

from sscq_desktop.library.image_loader import SUPPORTED_SUFFIXES
from sscq_desktop.ui.errors import show_exception
from sscq_desktop.ui.tasks import Task, TaskContext, TaskRunner

ENCODED_IMAGE_TYPES = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "image/heif": ".heif",
    "image/avif": ".avif",
    "image/tiff": ".tiff",
    "image/gif": ".gif",
    "image/bmp": ".bmp",
}
"""Encoded image data a drop or paste may carry, and the suffix of its temporary file."""


def encoded_image_from_mime(mime: QMimeData) -> tuple[bytes, str] | None:
    """The first encoded image in dropped or pasted data, as (bytes, suffix); not decoded."""
    for mime_type, suffix in ENCODED_IMAGE_TYPES.items():
        if mime.hasFormat(mime_type):
            data = mime.data(mime_type).data()
            if data:
                return bytes(data), suffix
    return None


def image_path_from_mime(mime: QMimeData) -> Path | None:
    """The first local image file named by dropped or pasted data, if any."""
    if not mime.hasUrls():
        return None
    for url in mime.urls():
        if url.isLocalFile():
            path = Path(url.toLocalFile())
            if path.suffix.lower() in SUPPORTED_SUFFIXES:
                return path
    return None


class QueryInput(QObject):
    """Reads query images from drops, the clipboard and the file dialog.

    Signals:
        file_ready(object): a `Path` to search with; for a pasted image, a temporary
            PNG that stays on disk until `forget_pasted` replaces it or `close`.

    Args:
        runner: runs the PNG encoding of pasted images.
        parent: the window that the file dialog and error messages open over.
    """

    file_ready = Signal(object)

    def __init__(self, runner: TaskRunner, *, parent: QWidget) -> None:
        super().__init__(parent)
        self._runner = runner
        self._widget = parent
        self._pasted_dir: Path | None = None
        self._pasted: Path | None = None  # the pasted image of the current query

    def accepts(self, mime: QMimeData) -> bool:
        """Whether dragged data holds an image (a local image file or pixels)."""
        return (
            image_path_from_mime(mime) is not None
            or any(mime.hasFormat(t) for t in ENCODED_IMAGE_TYPES)
            or mime.hasImage()
        )

    def choose_file(self) -> None:
        """Ask for an image file and search with it (File > Search by image…)."""
        patterns = " ".join(f"*{s}" for s in sorted(SUPPORTED_SUFFIXES))
        chosen, _ = QFileDialog.getOpenFileName(
            self._widget, "Search by image", "", f"Images ({patterns});;All files (*)"
        )
        if chosen:
            self.file_ready.emit(Path(chosen))

    def paste(self) -> bool:
        """Search with the clipboard's image, or the image file it names.

        Returns:
            False when the clipboard holds no image.
        """
        return self.search_mime(QGuiApplication.clipboard().mimeData())

    def search_mime(self, mime: QMimeData | None) -> bool:
        """Start a search from dropped or pasted data; False when it holds no image."""
        if mime is None:
            return False
        path = image_path_from_mime(mime)
        if path is not None:
            self.file_ready.emit(path)
            return True
        encoded = encoded_image_from_mime(mime)
        if encoded is not None:  # decoded by the library, not by Qt on this thread
            data, suffix = encoded
            self._search_written(lambda name: Path(name).write_bytes(data), suffix)
            return True
        # Only an image without an encoded format is left: one copied in this process
        # (application/x-qt-image), or a platform bitmap such as Windows' CF_DIB, which
        # Qt's clipboard decodes into a QImage right here, on the GUI thread, with its
        # own DIB reader (not the library's capped, timed decoder).
        if mime.hasImage():
            image = QImage(mime.imageData())
            if image.isNull():
                return False
            self._search_written(lambda name: _save_png(image, name), ".png")
            return True
        return False

    def forget_pasted(self, keep: Path | None = None) -> None:
        """Delete the last pasted image once a query other than `keep` replaces it."""
        if self._pasted is not None and self._pasted != keep:
            self._pasted.unlink(missing_ok=True)
            self._pasted = None

    def close(self) -> None:
        """Delete the pasted images and their folder; pastes still encoding are lost."""
        self.forget_pasted()
        if self._pasted_dir is not None:
            shutil.rmtree(self._pasted_dir, ignore_errors=True)
            self._pasted_dir = None

    def _search_written(self, write: Callable[[str], object], suffix: str) -> None:
        """Write a pasted image to a temporary file off the GUI thread, then search it."""
        if self._pasted_dir is None:
            self._pasted_dir = Path(tempfile.mkdtemp(prefix="sscq-pasted-"))
        folder = self._pasted_dir

        def fn(ctx: TaskContext) -> Path:
            fd, name = tempfile.mkstemp(prefix="pasted-", suffix=suffix, dir=folder)
            os.close(fd)
            try:
                write(name)
            except BaseException:
                Path(name).unlink(missing_ok=True)
                raise
            return Path(name)

        def success(path: Path) -> None:
            if self._pasted_dir is None:  # the window closed meanwhile
                path.unlink(missing_ok=True)
                return
            self.file_ready.emit(path)
            self._pasted = path  # kept while it is the query: the slider re-runs it

        Task(fn).on_success(success).on_failure(
            lambda exc: show_exception(self._widget, exc)
        ).start(self._runner)


def _save_png(image: QImage, name: str) -> None:
    """Encode pixels Qt holds as a PNG (encoding: a task's work, never the GUI thread's)."""
    if not image.save(name):  # PNG, from the suffix
        raise OSError(f"cannot write the pasted image to {name}")
