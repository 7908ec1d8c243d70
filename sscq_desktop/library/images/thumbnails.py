"""Thumbnail files in the cache dir, named by content key and made from an already-decoded image.

A thumbnail is a JPEG whose longest side is `THUMBNAIL_SIZE`, written atomically (temporary
file, then rename) under ``thumbnails/<first two hex digits>/<key>.jpg``. Naming by
content key means moved and renamed photos keep their thumbnail, and identical copies
share one. The ingest pipeline calls `write_thumbnail` with the image it decoded for the
encoder, so a photo is never decoded twice. No catalog access here.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PIL import Image

THUMBNAIL_SIZE = 256
"""Longest side of a thumbnail, in pixels."""

_QUALITY = 85


def thumbnail_path(thumbnails_dir: Path, content_key: str) -> Path:
    """Where the thumbnail of a content key lives (the file may not exist).

    Args:
        thumbnails_dir: The cache folder, `AppPaths.thumbnails_dir`.
        content_key: A key from `sscq_desktop.library.images.content_key.content_key`.

    Returns:
        The thumbnail's path.
    """
    size, _, digest = content_key.partition(":")
    name = f"{digest}-{size}.jpg" if digest else f"{content_key}.jpg"
    return thumbnails_dir / name[:2] / name


def write_thumbnail(
    image: Image.Image,
    thumbnails_dir: Path,
    content_key: str,
    *,
    size: int = THUMBNAIL_SIZE,
) -> Path:
    """Write the thumbnail of a decoded, upright RGB image, unless it already exists.

    Args:
        image: The decoded image (not modified).
        thumbnails_dir: The cache folder.
        content_key: The photo's content key; names the file.
        size: Longest side of the thumbnail.

    Returns:
        The thumbnail's path.

    Raises:
        OSError: if the file cannot be written.
    """
    dest = thumbnail_path(thumbnails_dir, content_key)
    if dest.exists():
        return dest
    thumb = image.copy() if max(image.size) > size else image
    if thumb is not image:
        thumb.thumbnail((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    rgb = thumb if thumb.mode == "RGB" else thumb.convert("RGB")
    dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".thumb-", suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            rgb.save(handle, format="JPEG", quality=_QUALITY)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


def remove_thumbnail(thumbnails_dir: Path, content_key: str) -> None:
    """Delete the thumbnail of a content key if it exists."""
    thumbnail_path(thumbnails_dir, content_key).unlink(missing_ok=True)
