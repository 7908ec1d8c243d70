"""`IngestDecoder`: the ingest pipeline's per-file step, run in a decoder worker process.

One work item: stat, content key, one decode, every target model's input, the perceptual
hashes and the thumbnail (written by the worker), all from the same upright pixels. What
goes back to the pipeline is small: the model inputs, the hashes and the file's facts
(`DecodedItem`), never the decoded image. Files are untrusted: a
per-file failure is recorded in the result, never raised; a decode that hangs or
crashes its worker is the pool's business (`decode_pool`). It does not encode, touch
the catalog or schedule work (`ingest.IngestPipeline` does); no Qt.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from sscq_desktop.library.catalog.reader import WorkItem
from sscq_desktop.library.images.content_key import content_key
from sscq_desktop.library.images.image_loader import ImageLoadError, load_image
from sscq_desktop.library.images.perceptual_hash import perceptual_hashes
from sscq_desktop.library.images.thumbnails import THUMBNAIL_SIZE, write_thumbnail
from sscq_desktop.model.preprocessing import ResizePolicy, to_model_input

logger = logging.getLogger(__name__)


@dataclass
class DecodedItem:
    """What the decoding step made of one work item (it crosses the process boundary).

    Attributes:
        item: The work item.
        size: File size seen when it was read.
        mtime_ns: Modification time seen when it was read.
        key: Content key, if the file could be read.
        width: Upright width of the original, in pixels (0 on error).
        height: Upright height of the original, in pixels (0 on error).
        taken_at: EXIF capture date as ISO 8601 text, or None.
        inputs: Model input per model id.
        hashes: ``(dhash, phash)`` as stored (`perceptual_hash`), if decoded.
        error: Why the file failed, or None.

    Shape:
        inputs: each ``(S, S, 3)`` uint8.
    """

    item: WorkItem
    size: int = 0
    mtime_ns: int = 0
    key: str | None = None
    width: int = 0
    height: int = 0
    taken_at: str | None = None
    inputs: dict[str, npt.NDArray[np.uint8]] = field(default_factory=dict)
    hashes: tuple[bytes, bytes] | None = None
    error: str | None = None


@dataclass(frozen=True)
class IngestDecoder:
    """Decode one work item into model inputs and a thumbnail (picklable; any process).

    Attributes:
        targets: Input size and resize policy per model id.
        thumbnails_dir: Where thumbnails go; None writes none.
        thumbnail_size: Longest side of thumbnails.
        max_pixels: Pixel-count cap for decoding.
    """

    targets: Mapping[str, tuple[int, ResizePolicy]]
    thumbnails_dir: Path | None
    thumbnail_size: int | None
    max_pixels: int

    def __call__(self, item: WorkItem) -> DecodedItem:
        """Stat, content key, decode, model inputs, perceptual hashes, thumbnail.

        Args:
            item: The image and the models it must be encoded with.

        Returns:
            The decoded item; `DecodedItem.error` says why a file failed.
        """
        out = DecodedItem(item)
        try:
            st = item.path.stat()
            out.size, out.mtime_ns = st.st_size, st.st_mtime_ns
            out.key = content_key(item.path)
            loaded = load_image(
                item.path,
                targets=[self.targets[m] for m in item.model_ids],
                thumbnail_size=self.thumbnail_size if self.thumbnails_dir else None,
                max_pixels=self.max_pixels,
            )
            for model_id in item.model_ids:
                size, policy = self.targets[model_id]
                out.inputs[model_id] = to_model_input(
                    loaded.image, size=size, policy=policy
                )
            out.hashes = perceptual_hashes(loaded.image).to_bytes()
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
        out.width, out.height, out.taken_at = (
            loaded.width,
            loaded.height,
            loaded.taken_at,
        )
        if self.thumbnails_dir is not None and out.key is not None:
            try:
                write_thumbnail(
                    loaded.image,
                    self.thumbnails_dir,
                    out.key,
                    size=self.thumbnail_size or THUMBNAIL_SIZE,
                )
            except OSError as exc:  # a full cache disk must not lose the codes
                logger.warning("cannot write the thumbnail of %s: %s", item.path, exc)
        return out
