"""Lazy thumbnails: decode to QImage on worker threads, turn into QPixmap on the GUI thread.

Requests are served newest first (what the user scrolled to), old pending requests are
dropped, and a bounded LRU cache keeps recent pixmaps. The GUI thread never decodes.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import (
    QObject,
    QRunnable,
    QSize,
    Qt,
    QThreadPool,
    Signal,
    SignalInstance,
    Slot,
)
from PySide6.QtGui import QColor, QImage, QImageReader, QPainter, QPixmap

from sscq_desktop.ui.signals import emit

logger = logging.getLogger(__name__)

_MAX_PENDING = 400
_IN_FLIGHT = 3


class ThumbnailLoader(QObject):
    """Loads thumbnails of image files off the GUI thread.

    Signals:
        thumbnail_ready(str, int): the thumbnail of (path, size) is now in the cache.
    """

    thumbnail_ready = Signal(str, int)
    _image_decoded = Signal(str, int, object)

    def __init__(
        self,
        *,
        cache_size: int = 2000,
        sync: bool = False,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.sync = sync
        self._cache: OrderedDict[tuple[str, int], QPixmap] = OrderedDict()
        self._cache_size = cache_size
        self._pending: OrderedDict[tuple[str, int], None] = OrderedDict()
        self._in_flight: set[tuple[str, int]] = set()
        self._failed: set[tuple[str, int]] = set()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)
        self._image_decoded.connect(
            self._on_worker_image_decoded, Qt.ConnectionType.QueuedConnection
        )
        self._placeholders: dict[int, QPixmap] = {}

    def pixmap(self, path: Path | str, size: int) -> QPixmap | None:
        """The cached thumbnail, or None after queueing a load (newest first)."""
        key = (str(path), size)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        if key in self._failed or key in self._in_flight:
            return None
        self._pending[key] = None
        self._pending.move_to_end(key)
        while len(self._pending) > _MAX_PENDING:
            self._pending.popitem(last=False)  # the user scrolled past these
        self._pump()
        return None

    def placeholder(self, size: int) -> QPixmap:
        """A neutral square shown until the thumbnail arrives."""
        pix = self._placeholders.get(size)
        if pix is None:
            pix = QPixmap(size, size)
            pix.fill(QColor(0, 0, 0, 0))
            painter = QPainter(pix)
            painter.fillRect(4, 4, size - 8, size - 8, QColor(128, 128, 128, 60))
            painter.end()
            self._placeholders[size] = pix
        return pix

    def clear_pending(self) -> None:
        """Forget queued requests (e.g. when the gallery is replaced)."""
        self._pending.clear()

    def wait_for_done(self, timeout_ms: int = 10_000) -> bool:
        return self._pool.waitForDone(timeout_ms)

    @property
    def busy(self) -> bool:
        return bool(self._pending or self._in_flight)

    def _pump(self) -> None:
        while self._pending and len(self._in_flight) < _IN_FLIGHT:
            key, _ = self._pending.popitem(last=True)  # newest request first
            self._in_flight.add(key)
            if self.sync:
                self._on_worker_image_decoded(key[0], key[1], decode_thumbnail(*key))
            else:
                self._pool.start(_DecodeRunnable(key, self._image_decoded))

    @Slot(str, int, object)
    def _on_worker_image_decoded(self, path: str, size: int, image: object) -> None:
        key = (path, size)
        self._in_flight.discard(key)
        if isinstance(image, QImage) and not image.isNull():
            self._cache[key] = QPixmap.fromImage(image)  # GUI thread only
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
            emit(self.thumbnail_ready, path, size)
        else:
            self._failed.add(key)
        self._pump()


def decode_thumbnail(path: str, size: int) -> QImage | None:
    """Decode `path` scaled to fit `size` x `size` (EXIF-upright); safe off the GUI thread."""
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    full = reader.size()
    if full.isValid() and full.width() > 0 and full.height() > 0:
        # Scaled decoding: libjpeg decodes at 1/2, 1/4, 1/8 directly, much faster.
        scaled = full.scaled(QSize(size, size), Qt.AspectRatioMode.KeepAspectRatio)
        if full.width() > size or full.height() > size:
            reader.setScaledSize(scaled)
    image = reader.read()
    if image.isNull():
        logger.debug("cannot decode %s: %s", path, reader.errorString())
        return None
    if image.width() > size or image.height() > size:
        image = image.scaled(
            size,
            size,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
    return image


class _DecodeRunnable(QRunnable):
    def __init__(self, key: tuple[str, int], done: SignalInstance) -> None:
        super().__init__()
        self._key = key
        self._done = done

    def run(self) -> None:
        try:
            image = decode_thumbnail(*self._key)
        except Exception:  # an unreadable file is a missing thumbnail, never a crash
            logger.debug("thumbnail failed for %s", self._key[0], exc_info=True)
            image = None
        emit(self._done, self._key[0], self._key[1], image)
