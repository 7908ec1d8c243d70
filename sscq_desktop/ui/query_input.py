"""`QueryInput`: turns dropped, pasted and chosen images into `MainWindow` queries.

A pasted or dropped image that is not a file comes in one of two forms. Encoded bytes
(a PNG or JPEG another app offers) are written as they came to a temporary file, off the
GUI thread: the library decodes untrusted files in its worker processes, with its pixel
cap and timeout (the GUI never decodes them), and it reads files. That file lives until
the next query replaces it or `close()`. Pixels Qt already holds (an image copied in
this process, or a platform bitmap Qt decoded) go to the library as pixels
(`Library.similar_to_image`), with no file. Never searches itself: it emits
`file_ready` or `image_ready` and the window runs the query.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QMimeData, QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QFileDialog, QWidget

from sscq_desktop.library.images.image_loader import SUPPORTED_SUFFIXES
from sscq_desktop.paths import browse_start_dir
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

PREVIEW_SIDE = 256
"""Longest side of the small copy of a pasted image that the results panel shows."""


@dataclass(frozen=True)
class PastedImage:
    """Pixels pasted from the clipboard, as the library and the results panel take them.

    Attributes:
        pixels: Upright 8-bit RGB (`Library.similar_to_image`).
        preview: The same image fitted in `PREVIEW_SIDE`, for the query's icon.

    Shape:
        pixels: ``(H, W, 3)`` uint8.
    """

    pixels: npt.NDArray[np.uint8]
    preview: QImage


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


PASTED_KEPT = 30
"""Pasted images kept on disk at most (the newest): as many as the search history holds."""


class QueryInput(QObject):
    """Reads query images from drops, the clipboard and the file dialog.

    Signals:
        file_ready(object): a `Path` to search with; for pasted encoded bytes, a
            temporary file (`is_pasted`) kept while it may still be searched again
            (the last `PASTED_KEPT` pastes: back through the search history) or until
            `close`.
        image_ready(object): a `PastedImage` to search with (pixels Qt held).

    Args:
        runner: writes pasted bytes and converts pasted pixels, off the GUI thread.
        parent: the window that the file dialog and error messages open over.
    """

    file_ready = Signal(object)
    image_ready = Signal(object)

    def __init__(self, runner: TaskRunner, *, parent: QWidget) -> None:
        super().__init__(parent)
        self._runner = runner
        self._widget = parent
        self._pasted_dir: Path | None = None
        self._pasted: deque[Path] = deque()  # the last pasted files, oldest first

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
            self._widget,
            "Search by image",
            str(browse_start_dir()),
            f"Images ({patterns});;All files (*)",
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
            self._search_written(*encoded)
            return True
        # Only an image without an encoded format is left: one copied in this process
        # (application/x-qt-image), or a platform bitmap such as Windows' CF_DIB, which
        # Qt's clipboard decodes into a QImage right here, on the GUI thread, with its
        # own DIB reader (not the library's capped, timed decoder).
        if mime.hasImage():
            image = QImage(mime.imageData())
            if image.isNull():
                return False
            self._search_pixels(image)
            return True
        return False

    def is_pasted(self, path: Path) -> bool:
        """Whether `path` is a temporary file holding pasted image bytes."""
        return path in self._pasted

    def close(self) -> None:
        """Delete the pasted files and their folder; pastes still being written are lost."""
        self._pasted.clear()
        if self._pasted_dir is not None:
            shutil.rmtree(self._pasted_dir, ignore_errors=True)
            self._pasted_dir = None

    def _search_written(self, data: bytes, suffix: str) -> None:
        """Write pasted bytes to a temporary file off the GUI thread, then search it."""
        if self._pasted_dir is None:
            self._pasted_dir = Path(tempfile.mkdtemp(prefix="sscq-pasted-"))
        folder = self._pasted_dir

        def fn(ctx: TaskContext) -> Path:
            fd, name = tempfile.mkstemp(prefix="pasted-", suffix=suffix, dir=folder)
            os.close(fd)
            try:
                Path(name).write_bytes(data)
            except BaseException:
                Path(name).unlink(missing_ok=True)
                raise
            return Path(name)

        def success(path: Path) -> None:
            if self._pasted_dir is None:  # the window closed meanwhile
                path.unlink(missing_ok=True)
                return
            self._pasted.append(path)  # kept: the filters and Back re-run it
            if len(self._pasted) > PASTED_KEPT:
                self._pasted.popleft().unlink(missing_ok=True)
            self.file_ready.emit(path)

        Task(fn).on_success(success).on_failure(
            lambda exc: show_exception(self._widget, exc)
        ).start(self._runner)

    def _search_pixels(self, image: QImage) -> None:
        """Convert pixels Qt holds to RGB off the GUI thread, then search them."""

        def fn(ctx: TaskContext) -> PastedImage:
            preview = image.scaled(
                PREVIEW_SIDE,
                PREVIEW_SIDE,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
            return PastedImage(rgb_pixels(image), preview)

        Task(fn).on_success(self.image_ready.emit).on_failure(
            lambda exc: show_exception(self._widget, exc)
        ).start(self._runner)


def rgb_pixels(image: QImage) -> npt.NDArray[np.uint8]:
    """A copy of `image`'s pixels as 8-bit RGB (alpha dropped); any thread.

    Shape:
        Returns ``(image.height(), image.width(), 3)`` uint8, C-contiguous.
    """
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w = rgb.height(), rgb.width()
    rows = np.frombuffer(rgb.constBits(), np.uint8, count=h * rgb.bytesPerLine())
    return rows.reshape(h, rgb.bytesPerLine())[:, : 3 * w].reshape(h, w, 3).copy()
