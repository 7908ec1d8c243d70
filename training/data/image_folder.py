"""Unlabeled image folders: recursive listing, robust decoding, cached uint8 pixels.

Reads every format the app reads (jpg/jpeg/png/webp/tiff/bmp/gif), applies the EXIF
orientation, skips and counts broken files, and resizes with the app's one resize
definition (`sscq_desktop.model.preprocessing.to_model_input`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps

from sscq_desktop.model.preprocessing import (
    ResizePolicy,
    check_resize_policy,
    draft_request,
    to_model_input,
)
from training.data.cache import cache_key, cache_root, load_array, save_array

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif"}
)
MAX_PIXELS = 80_000_000  # decompression-bomb cap, as the app's


def list_images(root: str | Path) -> list[Path]:
    """All image files under `root`, recursively, hidden entries skipped, sorted.

    Raises:
        FileNotFoundError: if `root` is not a folder.
    """
    base = Path(root)
    if not base.is_dir():
        raise FileNotFoundError(f"image folder not found: {base}")
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if (
                not name.startswith(".")
                and Path(name).suffix.lower() in IMAGE_EXTENSIONS
            ):
                found.append(Path(dirpath) / name)
    return sorted(found)


def load_image(
    path: Path, *, size: int, policy: ResizePolicy
) -> npt.NDArray[np.uint8] | None:
    """Decode one file upright and resize it; None if the file is broken.

    Shape:
        Output: (size, size, 3) uint8.
    """
    try:
        with Image.open(path) as img:
            if img.width * img.height > MAX_PIXELS:
                raise ValueError(f"{img.width}x{img.height} exceeds the pixel cap")
            if img.format == "JPEG":
                img.draft(
                    "RGB",
                    draft_request(img.width, img.height, size=size, policy=policy),
                )
            upright = ImageOps.exif_transpose(img)
            return to_model_input(upright, size=size, policy=policy)
    except Exception as exc:  # any decoder error means: skip the file
        logger.warning("skipping unreadable image %s: %s", path, exc)
        return None


@dataclass(frozen=True)
class DecodedImages:
    """Pixels of the readable files, in the order of `paths`.

    Shape:
        pixels: (N, S, S, 3) uint8.
    """

    paths: list[Path]
    pixels: npt.NDArray[np.uint8]
    n_broken: int


def decode_images(
    paths: Sequence[Path], *, size: int, policy: str, cache_dir: str = ""
) -> DecodedImages:
    """Decode `paths` to S x S pixels once, caching the result by paths, mtimes and size.

    Broken files are dropped (and counted); `paths` of the result lists the kept ones.
    """
    resize = check_resize_policy(policy)
    stats = [(str(p), _mtime(p)) for p in paths]
    key = cache_key("folder-v1", size, resize, *stats)
    root = cache_root(cache_dir)
    pix_file, keep_file = (
        root / f"folder-{key}-pixels.npy",
        root / f"folder-{key}-keep.npy",
    )
    pixels, keep = load_array(pix_file), load_array(keep_file)
    if pixels is None or keep is None:
        workers = max(1, min(8, os.cpu_count() or 1))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            decoded = list(
                pool.map(lambda p: load_image(p, size=size, policy=resize), paths)
            )
        keep = np.array([d is not None for d in decoded], dtype=bool)
        good = [d for d in decoded if d is not None]
        pixels = np.stack(good) if good else np.zeros((0, size, size, 3), np.uint8)
        save_array(pix_file, pixels)
        save_array(keep_file, keep)
        logger.info("decoded %d of %d images into %s", len(good), len(paths), root)
    kept = [p for p, k in zip(paths, np.asarray(keep, dtype=bool), strict=True) if k]
    return DecodedImages(
        paths=kept,
        pixels=np.asarray(pixels, dtype=np.uint8),
        n_broken=len(paths) - len(kept),
    )


def class_of(path: Path, root: Path) -> str:
    """The first-level subfolder of `root` holding `path` (its class in labeled folders)."""
    rel = path.relative_to(root)
    return rel.parts[0] if len(rel.parts) > 1 else ""


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1
