"""`Renderer`: the images the GUI shows, so that the GUI never decodes an image file.

Library photos are shown from the thumbnails ingest wrote (`thumbnails`); a thumbnail
lost from the cache is made again here. Larger views (the preview) and images from
outside the library (a dropped or pasted query) are decoded here too, and so are the
photos that check a retrained model (`Retrainer`). Every decode has ingest's safety
(ARCHITECTURE.md, trust boundaries): `image_loader.load_image` with the pixel cap and
the decode budget, in a worker process of the renderer's own `DecodePool` (started on
the first decode), killed past the timeout; a decode that hangs or crashes costs that
one render, which fails with the reason. Thread-safe; writes no catalog rows; no Qt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

import numpy as np
import numpy.typing as npt
from PIL import Image

from sscq_desktop.library.images.content_key import content_key
from sscq_desktop.library.images.decode_pool import (
    DECODER_FAILURES,
    DecodePool,
    failure_reason,
)
from sscq_desktop.library.images.image_loader import ImageLoadError, load_image
from sscq_desktop.library.images.thumbnails import thumbnail_path, write_thumbnail
from sscq_desktop.library.records import PhotoRecord
from sscq_desktop.model.preprocessing import ResizePolicy, to_model_input

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

RENDER_TIMEOUT_S = 30.0
"""A display decode running longer has its worker killed and is reported."""

RENDER_WORKERS = 2
"""Worker processes for display decodes (previews, lost thumbnails, outside images)."""

ThumbnailState = Literal["ready", "pending", "failed", "unknown"]


@dataclass(frozen=True)
class ThumbnailStatus:
    """Where a photo's thumbnail stands.

    Attributes:
        state: ``"ready"`` (`path` is the cached file), ``"pending"`` (ingest has not
            read the photo yet, or it changed since), ``"failed"`` (it cannot be read:
            `reason` says why) or ``"unknown"`` (not a photo of the library).
        path: The thumbnail file, a small JPEG written by this library.
        reason: Why there is none, for display.
    """

    state: ThumbnailState
    path: Path | None = None
    reason: str | None = None


@dataclass(frozen=True)
class RenderedImage:
    """Pixels to show, decoded by the library.

    Attributes:
        pixels: Upright 8-bit RGB, no larger than the size asked for.
        width: Upright width of the original file, in pixels.
        height: Upright height of the original file, in pixels.

    Shape:
        pixels: ``(H, W, 3)`` uint8, C-contiguous.
    """

    pixels: npt.NDArray[np.uint8]
    width: int
    height: int


class Renderer:
    """Thumbnails and display renditions of one library's photos (any thread).

    Args:
        thumbnails_dir: The thumbnail cache (`AppPaths.thumbnails_dir`).
        max_pixels: Pixel-count cap, as for ingest; read each call (the library's
            ingest options may change).
        thumbnail_size: Longest side of a remade thumbnail; read each call.
        timeout_s: Seconds a decode may take before its worker is killed.
        workers: Worker processes.
    """

    def __init__(
        self,
        *,
        thumbnails_dir: Path,
        max_pixels: Callable[[], int],
        thumbnail_size: Callable[[], int],
        timeout_s: float = RENDER_TIMEOUT_S,
        workers: int = RENDER_WORKERS,
    ) -> None:
        self._thumbnails_dir = thumbnails_dir
        self._max_pixels = max_pixels
        self._thumbnail_size = thumbnail_size
        self._pool = DecodePool(workers, timeout_s=timeout_s)

    def close(self) -> None:
        """Stop the worker processes; later renders fail with `ImageLoadError`."""
        self._pool.close()

    def thumbnail(self, record: PhotoRecord | None) -> ThumbnailStatus:
        """The thumbnail of a catalog photo; one lost from the cache is made again now.

        A photo indexed fine whose thumbnail file is gone (the cache was purged, or the
        write failed) is decoded again, with ingest's safety, if the file still has the
        content the catalog knows; otherwise it is pending (the next scan re-indexes it).

        Args:
            record: The photo's catalog record; None for a file not in the library.

        Returns:
            The thumbnail's state, and its file when ready.
        """
        if record is None:
            return ThumbnailStatus("unknown", reason="not a photo of the library")
        if record.status == "error":
            return ThumbnailStatus("failed", reason=record.error or "cannot be read")
        if record.status != "ok" or record.content_key is None:
            return ThumbnailStatus("pending")
        path = thumbnail_path(self._thumbnails_dir, record.content_key)
        if path.is_file():
            return ThumbnailStatus("ready", path)
        return self._remake(record)

    def render(self, path: Path, *, max_side: int) -> RenderedImage:
        """Decode an image to show it, fitted in `max_side` x `max_side`.

        Args:
            path: Any image file (untrusted).
            max_side: Longest side of the result; smaller images keep their size.

        Returns:
            The pixels and the original's size.

        Raises:
            ValueError: if `max_side` is not positive.
            ImageLoadError: if the file cannot be decoded, or its decoder hangs or
                crashes.
        """
        if max_side < 1:
            raise ValueError(f"max_side must be positive, got {max_side}")
        return self._wait(
            path, self._submit(_render, path, max_side, self._max_pixels())
        )

    def model_input(
        self, path: Path, *, size: int, policy: ResizePolicy
    ) -> npt.NDArray[np.uint8]:
        """Decode an image file into a model's input (a query from outside).

        Args:
            path: Any image file (untrusted).
            size: The model's input side S.
            policy: The model's resize policy.

        Returns:
            The model input.

        Shape:
            ``(S, S, 3)`` uint8.

        Raises:
            ImageLoadError: if the file cannot be decoded, or its decoder hangs or
                crashes.
        """
        return self._wait(
            path, self._submit(_model_input, path, size, policy, self._max_pixels())
        )

    def _remake(self, record: PhotoRecord) -> ThumbnailStatus:
        key = record.content_key
        assert key is not None
        try:
            if content_key(record.path) != key:
                return ThumbnailStatus("pending")  # changed on disk: ingest redoes it
            future = self._submit(
                _remake_thumbnail,
                record.path,
                self._thumbnails_dir,
                key,
                self._thumbnail_size(),
                self._max_pixels(),
            )
            path = self._wait(record.path, future)
        except ImageLoadError as exc:
            return ThumbnailStatus("failed", reason=str(exc))
        except FileNotFoundError:
            return ThumbnailStatus("failed", reason="file not found")
        except OSError as exc:
            return ThumbnailStatus(
                "failed", reason=f"cannot read file: {exc.strerror or exc}"
            )
        logger.info("remade the lost thumbnail of %s", record.path)
        return ThumbnailStatus("ready", path)

    def _submit(self, fn: Callable[..., _T], *args: object) -> Future[_T]:
        try:
            return self._pool.submit(fn, *args)
        except RuntimeError as exc:  # closed with the library
            raise ImageLoadError(str(exc)) from None

    def _wait(self, path: Path, future: Future[_T]) -> _T:
        """The worker's result; a hung or crashed decoder becomes `ImageLoadError`."""
        try:
            return future.result()
        except BrokenProcessPool:  # the next submit starts a new pool
            raise ImageLoadError("the decoder pool failed") from None
        except DECODER_FAILURES as exc:
            reason = failure_reason(exc, self._pool.timeout_s)
        logger.warning("decoding %s for display: %s", path, reason)
        raise ImageLoadError(reason)


def _render(path: Path, max_side: int, max_pixels: int) -> RenderedImage:
    """Decode and fit an image (in a worker process)."""
    loaded = load_image(path, thumbnail_size=max_side, max_pixels=max_pixels)
    image = loaded.image
    if max(image.size) > max_side:
        image = image.copy()
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    pixels = np.ascontiguousarray(np.asarray(image, dtype=np.uint8))
    return RenderedImage(pixels, loaded.width, loaded.height)


def _model_input(
    path: Path, size: int, policy: ResizePolicy, max_pixels: int
) -> npt.NDArray[np.uint8]:
    """Decode an image into a model input (in a worker process)."""
    loaded = load_image(path, targets=[(size, policy)], max_pixels=max_pixels)
    return to_model_input(loaded.image, size=size, policy=policy)


def _remake_thumbnail(
    path: Path, thumbnails_dir: Path, key: str, size: int, max_pixels: int
) -> Path:
    """Decode a photo and write its thumbnail (in a worker process)."""
    loaded = load_image(path, thumbnail_size=size, max_pixels=max_pixels)
    return write_thumbnail(loaded.image, thumbnails_dir, key, size=size)
