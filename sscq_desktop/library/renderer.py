"""`Renderer`: the images the GUI shows, so that the GUI never decodes an image file.

Library photos are shown from the thumbnails ingest wrote (`thumbnails`); a thumbnail
lost from the cache is made again here. Larger views (the preview) and images from
outside the library (a dropped or pasted query) are decoded here too, and so are the
photos that check a retrained model (`decode`, for `Retrainer`). Every decode has
ingest's safety (ARCHITECTURE.md, trust boundaries): `image_loader.load_image` with the
pixel cap and the shared decode budget, on a daemon thread abandoned after a timeout,
under a crash marker when the file is a library photo (`decode_markers`, so that a file
that kills the process is quarantined at the next ingest). Thread-safe; writes no
catalog rows; no Qt.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
from PIL import Image

from sscq_desktop.library.content_key import content_key
from sscq_desktop.library.decode_markers import DecodeMarkers
from sscq_desktop.library.image_loader import ImageLoadError, LoadedImage, load_image
from sscq_desktop.library.records import PhotoRecord
from sscq_desktop.library.thumbnails import thumbnail_path, write_thumbnail

logger = logging.getLogger(__name__)

RENDER_TIMEOUT_S = 30.0
"""A display decode running longer is abandoned (its thread is a daemon) and reported."""

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
        markers_folder: Where crash markers go (`decode_markers.markers_dir`).
        max_pixels: Pixel-count cap, as for ingest; read each call (the library's
            ingest options may change).
        thumbnail_size: Longest side of a remade thumbnail; read each call.
        timeout_s: Seconds a decode may take before it is abandoned.
    """

    def __init__(
        self,
        *,
        thumbnails_dir: Path,
        markers_folder: Path,
        max_pixels: Callable[[], int],
        thumbnail_size: Callable[[], int],
        timeout_s: float = RENDER_TIMEOUT_S,
    ) -> None:
        self._thumbnails_dir = thumbnails_dir
        self._markers_folder = markers_folder
        self._max_pixels = max_pixels
        self._thumbnail_size = thumbnail_size
        self.timeout_s = timeout_s

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

    def render(
        self, path: Path, *, max_side: int, photo_id: int | None = None
    ) -> RenderedImage:
        """Decode an image to show it, fitted in `max_side` x `max_side`.

        Args:
            path: Any image file (untrusted).
            max_side: Longest side of the result; smaller images keep their size.
            photo_id: The file's catalog id, if it is a library photo: its decode is
                then marked, so that a crash is blamed on it at the next ingest.

        Returns:
            The pixels and the original's size.

        Raises:
            ValueError: if `max_side` is not positive.
            ImageLoadError: if the file cannot be decoded, or not within the timeout.
        """
        if max_side < 1:
            raise ValueError(f"max_side must be positive, got {max_side}")
        loaded = self.decode(path, max_side=max_side, photo_id=photo_id)
        image = loaded.image
        if max(image.size) > max_side:
            image = image.copy()
            image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        pixels = np.ascontiguousarray(np.asarray(image, dtype=np.uint8))
        return RenderedImage(pixels, loaded.width, loaded.height)

    def _remake(self, record: PhotoRecord) -> ThumbnailStatus:
        key = record.content_key
        assert key is not None
        try:
            if content_key(record.path) != key:
                return ThumbnailStatus("pending")  # changed on disk: ingest redoes it
            size = self._thumbnail_size()
            loaded = self.decode(record.path, max_side=size, photo_id=int(record.id))
            path = write_thumbnail(loaded.image, self._thumbnails_dir, key, size=size)
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

    def decode(
        self, path: Path, *, max_side: int, photo_id: int | None = None
    ) -> LoadedImage:
        """`load_image` on a daemon thread, under a crash marker, within the timeout.

        The safe decode behind `render` and `thumbnail`, for other readers of library
        photos too (the check of a retrained model).

        Args:
            path: Any image file (untrusted).
            max_side: Longest side the caller needs (`load_image`'s `thumbnail_size`:
                the decode may keep somewhat more).
            photo_id: The file's catalog id, if it is a library photo (crash marker).

        Returns:
            The upright decoded image and the original's size.

        Raises:
            ImageLoadError: if the file cannot be decoded, or not within the timeout.
        """
        result: list[LoadedImage] = []
        error: list[BaseException] = []
        max_pixels = self._max_pixels()
        markers = DecodeMarkers(self._markers_folder) if photo_id is not None else None

        def work() -> None:
            if markers is not None and photo_id is not None:
                markers.begin(photo_id, path)
            try:
                result.append(
                    load_image(path, thumbnail_size=max_side, max_pixels=max_pixels)
                )
            except BaseException as exc:  # handed to the waiting thread
                error.append(exc)
            finally:
                if markers is not None:
                    markers.end()

        thread = threading.Thread(target=work, name="sscq-render", daemon=True)
        thread.start()
        thread.join(self.timeout_s)
        if markers is not None:
            markers.close()  # a decode still running keeps its marker until it ends
        if thread.is_alive():
            logger.warning(
                "decoding %s took over %.0f s; abandoned",
                path,
                self.timeout_s,
            )
            raise ImageLoadError(
                f"decoder did not finish within {self.timeout_s:.0f} s"
            )
        if error:
            raise error[0]
        return result[0]
