"""`ThumbnailLoader`: the thumbnails the library made, read off the GUI thread.

The GUI never decodes a photo (ARCHITECTURE.md, trust boundaries): for a library photo
it shows the small file the ingest wrote (`Library.thumbnail_status`), and for an image
from outside the library (a query) pixels the library decoded with its pixel cap and
timeout (`Library.render_image`). Requests are served newest first (what the user
scrolled to), old pending requests are dropped, and a bounded LRU cache keeps recent
pixmaps. A photo without a thumbnail gets a placeholder saying whether it is still to
come (pending) or cannot be made (failed); `retry_unavailable` asks again for the
pending ones, and a photo that changed is asked for afresh (`forget`).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import (
    QObject,
    QRunnable,
    Qt,
    QThreadPool,
    Signal,
    SignalInstance,
    Slot,
)
from PySide6.QtGui import QColor, QImage, QImageReader, QPainter, QPen, QPixmap

from sscq_desktop.ui.errors import user_message

if TYPE_CHECKING:
    from sscq_desktop.library.library import Library

logger = logging.getLogger(__name__)

_MAX_PENDING = 400
_IN_FLIGHT = 3

ThumbnailState = Literal["ready", "loading", "pending", "failed"]
_Key = tuple[str, int]


@dataclass(frozen=True)
class _Loaded:
    """What a worker made of one request: an image, or why there is none."""

    image: QImage | None
    state: Literal["ready", "pending", "failed"]
    reason: str | None = None
    rendered: bool = False  # an image from outside the library: ingest cannot help


class ThumbnailLoader(QObject):
    """Loads the library's thumbnails off the GUI thread; never decodes a photo.

    Signals:
        thumbnail_changed(str, int): (path, size) is now cached, or known to have
            failed (its placeholder changed; a pending one looks as while loading).
        thumbnails_reset(): pending thumbnails were forgotten: ask again.

    Args:
        library: says where each thumbnail is (or makes it), renders outside images.
        cache_size: pixmaps kept.
        sync: load inline, on the calling thread (tests).
        parent: the owner.
    """

    thumbnail_changed = Signal(str, int)
    thumbnails_reset = Signal()
    _loaded = Signal(str, int, object)

    def __init__(
        self,
        library: Library,
        *,
        cache_size: int = 2000,
        sync: bool = False,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._library = library
        self.sync = sync
        self._cache: OrderedDict[_Key, QPixmap] = OrderedDict()
        self._cache_size = cache_size
        self._pending: OrderedDict[_Key, bool] = OrderedDict()  # key -> render
        self._in_flight: set[_Key] = set()
        self._unavailable: dict[_Key, _Loaded] = {}
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)
        self._loaded.connect(self._on_worker_loaded, Qt.ConnectionType.QueuedConnection)
        self._placeholders: dict[tuple[int, bool], QPixmap] = {}

    def pixmap(
        self, path: Path | str, size: int, *, render: bool = False
    ) -> QPixmap | None:
        """The cached thumbnail, or None after queueing a load (newest first).

        Args:
            path: The photo.
            size: Longest side wanted; thumbnails are never enlarged.
            render: For an image that is not a library photo (a query from outside),
                show pixels the library decodes; a library photo always shows the
                thumbnail ingest made.
        """
        key = (str(path), size)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        if key in self._unavailable or key in self._in_flight:
            return None
        self._pending[key] = self._pending.get(key, False) or render
        self._pending.move_to_end(key)
        while len(self._pending) > _MAX_PENDING:
            self._pending.popitem(last=False)  # the user scrolled past these
        self._pump()
        return self._cache.get(key)  # loaded already when `sync`

    def thumbnail(
        self, path: Path | str, size: int, *, render: bool = False
    ) -> QPixmap:
        """The thumbnail if cached, else (after queueing it) the placeholder of its state."""
        pix = self.pixmap(path, size, render=render)
        if pix is not None:
            return pix
        return self.placeholder(size, failed=self.state(path, size) == "failed")

    def state(self, path: Path | str, size: int) -> ThumbnailState:
        """Whether (path, size) is shown, loading, still to be made, or cannot be."""
        key = (str(path), size)
        if key in self._cache:
            return "ready"
        known = self._unavailable.get(key)
        if known is None:
            return "loading"
        return "failed" if known.state == "failed" else "pending"

    def reason(self, path: Path | str, size: int) -> str | None:
        """Why (path, size) has no thumbnail, when the library said."""
        known = self._unavailable.get((str(path), size))
        return None if known is None else known.reason

    def placeholder(self, size: int, *, failed: bool = False) -> QPixmap:
        """A square shown instead of a thumbnail.

        Pending (or loading): a faint grey square. Failed: an outlined square with a
        cross, so a photo that cannot be shown does not look like one still loading.
        """
        pix = self._placeholders.get((size, failed))
        if pix is None:
            pix = QPixmap(size, size)
            pix.fill(QColor(0, 0, 0, 0))
            painter = QPainter(pix)
            if failed:
                painter.fillRect(4, 4, size - 8, size - 8, QColor(190, 60, 60, 35))
                pen = QPen(QColor(170, 60, 60, 200))
                pen.setWidth(max(1, size // 48))
                painter.setPen(pen)
                painter.drawRect(4, 4, size - 9, size - 9)
                lo, hi = size * 3 // 8, size * 5 // 8
                painter.drawLine(lo, lo, hi, hi)
                painter.drawLine(lo, hi, hi, lo)
            else:
                painter.fillRect(4, 4, size - 8, size - 8, QColor(128, 128, 128, 60))
            painter.end()
            self._placeholders[(size, failed)] = pix
        return pix

    def retry_unavailable(self) -> None:
        """Forget the pending thumbnails of library photos: ingest may have made them.

        Emits `thumbnails_reset` when there were any, so views ask again for what
        they show. A failed one stays failed: asking again could remake (and hang) its
        decode on every refresh; a photo that changed is forgotten whole (`forget`).
        """
        kept = {k: v for k, v in self._unavailable.items() if v.state != "pending"}
        if len(kept) < len(self._unavailable):
            self._unavailable = kept
            self.thumbnails_reset.emit()

    def forget(self, paths: Iterable[Path | str]) -> None:
        """Drop what is known of these photos (they changed: their thumbnail may too)."""
        names = {str(p) for p in paths}
        if not names:
            return
        for table in (self._cache, self._unavailable, self._pending):
            for key in [k for k in table if k[0] in names]:
                del table[key]

    def clear_pending(self) -> None:
        """Forget queued requests (e.g. when the gallery is replaced)."""
        self._pending.clear()

    def wait_for_done(self, timeout_ms: int = 10_000) -> bool:
        return self._pool.waitForDone(timeout_ms)

    def _pump(self) -> None:
        while self._pending and len(self._in_flight) < _IN_FLIGHT:
            key, render = self._pending.popitem(last=True)  # newest request first
            self._in_flight.add(key)
            if self.sync:
                loaded = _load_safely(self._library, key, render=render)
                self._on_worker_loaded(key[0], key[1], loaded)
            else:
                self._pool.start(
                    _LoadRunnable(self._library, key, render, self._loaded)
                )

    @Slot(str, int, object)
    def _on_worker_loaded(self, path: str, size: int, loaded: object) -> None:
        key = (path, size)
        self._in_flight.discard(key)
        assert isinstance(loaded, _Loaded)
        if loaded.image is not None and not loaded.image.isNull():
            self._cache[key] = QPixmap.fromImage(loaded.image)  # GUI thread only
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        else:
            self._unavailable[key] = loaded
            if loaded.state == "pending":  # looks as it did while loading
                self._pump()
                return
        self.thumbnail_changed.emit(path, size)
        self._pump()


def read_cached_thumbnail(path: Path, size: int) -> QImage | None:
    """Read a thumbnail file the library wrote, fitted in `size` x `size`.

    Only for the library's own cache (small JPEGs it wrote, already upright), never
    for a photo: those the library decodes (`Library.render_image`).
    """
    reader = QImageReader(str(path))
    reader.setAutoTransform(False)
    image = reader.read()
    if image.isNull():
        logger.warning(
            "cannot read the cached thumbnail %s: %s", path, reader.errorString()
        )
        return None
    if image.width() > size or image.height() > size:
        image = image.scaled(
            size,
            size,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
    return image


def qimage_from_rgb(pixels: npt.NDArray[np.uint8]) -> QImage:
    """A QImage holding its own copy of RGB pixels the library decoded.

    Shape:
        pixels: ``(H, W, 3)`` uint8.

    Raises:
        ValueError: for any other shape or dtype.
    """
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(
            f"expected (H, W, 3) uint8 pixels, got {pixels.shape} {pixels.dtype}"
        )
    h, w, _ = pixels.shape
    data = np.ascontiguousarray(pixels)
    return QImage(data.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def _load(library: Library, key: _Key, *, render: bool) -> _Loaded:
    """Ask the library for one thumbnail and read it (on a worker thread)."""
    path, size = Path(key[0]), key[1]
    status = library.thumbnail_status(path)
    if status.state == "ready" and status.path is not None:
        image = read_cached_thumbnail(status.path, size)
        if image is None:
            return _Loaded(None, "failed", "its cached thumbnail cannot be read")
        return _Loaded(image, "ready")
    if status.state == "unknown" and render:
        rendered = library.render_image(path, max_side=size)
        return _Loaded(qimage_from_rgb(rendered.pixels), "ready")
    return _Loaded(
        None, "pending" if status.state == "pending" else "failed", status.reason
    )


def _load_safely(library: Library, key: _Key, *, render: bool) -> _Loaded:
    try:
        return _load(library, key, render=render)
    except Exception as exc:  # an unreadable file is a missing thumbnail, never a crash
        logger.debug("no thumbnail for %s", key[0], exc_info=True)
        return _Loaded(None, "failed", user_message(exc), rendered=render)


class _LoadRunnable(QRunnable):
    def __init__(
        self, library: Library, key: _Key, render: bool, done: SignalInstance
    ) -> None:
        super().__init__()
        self._library = library
        self._key = key
        self._render = render
        self._done = done

    def run(self) -> None:
        loaded = _load_safely(self._library, self._key, render=self._render)
        self._done.emit(self._key[0], self._key[1], loaded)
