"""`IngestDecoder`: the ingest pipeline's per-file step, run on its decoding threads.

One work item: stat, content key, one decode, every target model's input, the thumbnail,
inside a crash marker (`decode_markers`). Files are untrusted: a per-file failure is
recorded in the result, never raised. It does not encode, touch the catalog or schedule
threads (`ingest.IngestPipeline` does); no Qt.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from sscq_desktop.library.content_key import content_key
from sscq_desktop.library.decode_markers import DecodeMarkers
from sscq_desktop.library.encoding_reader import WorkItem
from sscq_desktop.library.image_loader import (
    DEFAULT_MAX_PIXELS,
    ImageLoadError,
    LoadedImage,
)
from sscq_desktop.library.thumbnails import THUMBNAIL_SIZE, write_thumbnail
from sscq_desktop.model.preprocessing import ResizePolicy, to_model_input

logger = logging.getLogger(__name__)


class ImageLoader(Protocol):
    """The signature of `sscq_desktop.library.image_loader.load_image` (a seam for tests)."""

    def __call__(
        self,
        path: str | os.PathLike[str],
        *,
        targets: Sequence[tuple[int, ResizePolicy]] = (),
        thumbnail_size: int | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> LoadedImage:
        """Decode one file."""
        ...


@dataclass
class DecodedItem:
    """What the decoding step made of one work item.

    Attributes:
        item: The work item.
        size: File size seen when it was read.
        mtime_ns: Modification time seen when it was read.
        key: Content key, if the file could be read.
        loaded: The decoded image; None on error.
        inputs: Model input per model id.
        error: Why the file failed, or None.

    Shape:
        inputs: each ``(S, S, 3)`` uint8.
    """

    item: WorkItem
    size: int = 0
    mtime_ns: int = 0
    key: str | None = None
    loaded: LoadedImage | None = None
    inputs: dict[str, npt.NDArray[np.uint8]] = field(default_factory=dict)
    error: str | None = None


class IngestDecoder:
    """Decode one work item into model inputs and a thumbnail; safe to call from threads.

    Args:
        targets: Input size and resize policy per model id.
        loader: The image loader (tests inject fakes).
        thumbnails_dir: Where thumbnails go; None writes none.
        thumbnail_size: Longest side of thumbnails.
        max_pixels: Pixel-count cap for decoding.
        markers: Where each thread marks the file it decodes, so that a decode that
            crashes the process is known at the next start; None marks nothing.
    """

    def __init__(
        self,
        targets: Mapping[str, tuple[int, ResizePolicy]],
        *,
        loader: ImageLoader,
        thumbnails_dir: Path | None,
        thumbnail_size: int | None,
        max_pixels: int,
        markers: DecodeMarkers | None = None,
    ) -> None:
        self._targets = dict(targets)
        self._loader = loader
        self._thumbnails_dir = thumbnails_dir
        self._thumbnail_size = thumbnail_size
        self._max_pixels = max_pixels
        self._markers = markers

    def __call__(self, item: WorkItem, started: dict[str, float]) -> DecodedItem:
        """Stat, content key, decode, model inputs, thumbnail (on a worker thread).

        Args:
            item: The image and the models it must be encoded with.
            started: Receives ``"t"``, the `time.monotonic` start, so the caller can
                time the decode out.

        Returns:
            The decoded item; `DecodedItem.error` says why a file failed.
        """
        started["t"] = time.monotonic()
        if self._markers is None:
            return self._decode(item)
        self._markers.begin(item.photo_id, item.path)
        try:
            return self._decode(item)
        finally:
            self._markers.end()

    def _decode(self, item: WorkItem) -> DecodedItem:
        out = DecodedItem(item)
        try:
            st = item.path.stat()
            out.size, out.mtime_ns = st.st_size, st.st_mtime_ns
            out.key = content_key(item.path)
            targets = [self._targets[m] for m in item.model_ids]
            loaded = self._loader(
                item.path,
                targets=targets,
                thumbnail_size=self._thumbnail_size if self._thumbnails_dir else None,
                max_pixels=self._max_pixels,
            )
            for model_id in item.model_ids:
                size, policy = self._targets[model_id]
                out.inputs[model_id] = to_model_input(
                    loaded.image, size=size, policy=policy
                )
            out.loaded = loaded
        except ImageLoadError as exc:
            out.error = str(exc)
            return out
        except FileNotFoundError:
            out.error = "file not found"
            return out
        except OSError as exc:
            out.error = f"cannot read file: {exc.strerror or exc}"
            return out
        except Exception as exc:  # untrusted input: never let one file stop the run
            logger.exception("unexpected failure on %s", item.path)
            out.error = f"cannot decode: {type(exc).__name__}: {exc}"
            return out
        if self._thumbnails_dir is not None and out.key is not None:
            try:
                write_thumbnail(
                    loaded.image,
                    self._thumbnails_dir,
                    out.key,
                    size=self._thumbnail_size or THUMBNAIL_SIZE,
                )
            except OSError as exc:  # a full cache disk must not lose the codes
                logger.warning("cannot write the thumbnail of %s: %s", item.path, exc)
        return out
