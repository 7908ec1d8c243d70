"""The CIFAR-10 archive of ../data (cifar10-jpeg.tar.gz): official train/test split.

Extracted at run time into the cache folder (never the repository) and decoded once into
uint8 ``.npy`` arrays. Labels follow the official order airplane..truck = 0..9.
"""

from __future__ import annotations

import logging
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from training.data.archives import shared_data_dir
from training.data.cache import cache_key, cache_root, load_array, save_array

logger = logging.getLogger(__name__)

DEFAULT_ARCHIVE = shared_data_dir() / "cifar10-jpeg.tar.gz"
CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip


@dataclass(frozen=True)
class Cifar10:
    """The decoded data set.

    Shape:
        train_x: (50000, 32, 32, 3) uint8; train_y: (50000,) int64;
        test_x: (10000, 32, 32, 3) uint8; test_y: (10000,) int64.
    """

    train_x: npt.NDArray[np.uint8]
    train_y: npt.NDArray[np.int64]
    test_x: npt.NDArray[np.uint8]
    test_y: npt.NDArray[np.int64]


def load_cifar10(archive: str | Path = "", *, cache_dir: str = "") -> Cifar10:
    """Load CIFAR-10, extracting and decoding the archive on first use.

    Args:
        archive: The ``cifar10-jpeg.tar.gz`` file; empty means the shared copy.
        cache_dir: Cache folder (see `training.data.cache.cache_root`).

    Raises:
        FileNotFoundError: if the archive is missing.
    """
    src = Path(archive) if archive else DEFAULT_ARCHIVE
    if not src.is_file():
        raise FileNotFoundError(f"CIFAR-10 archive not found: {src}")
    root = cache_root(cache_dir)
    key = cache_key(
        "cifar10-v1", src.resolve(), src.stat().st_size, src.stat().st_mtime_ns
    )
    arrays = {}
    for split in ("train", "test"):
        x, y = (
            load_array(root / f"cifar10-{key}-{split}-x.npy"),
            load_array(root / f"cifar10-{key}-{split}-y.npy"),
        )
        if x is None or y is None:
            x, y = _decode_split(src, root / f"cifar10-{key}", split)
            save_array(root / f"cifar10-{key}-{split}-x.npy", x)
            save_array(root / f"cifar10-{key}-{split}-y.npy", y)
        arrays[split] = (np.asarray(x, dtype=np.uint8), np.asarray(y, dtype=np.int64))
    return Cifar10(*arrays["train"], *arrays["test"])


def _decode_split(
    archive: Path, dest: Path, split: str
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Extract (once) and decode one split in a fixed order: class, then file name."""
    if not (dest / "cifar10").is_dir():
        logger.info("extracting %s into %s", archive, dest)
        dest.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive) as tar:
            tar.extractall(dest, filter="data")
    images: list[npt.NDArray[np.uint8]] = []
    labels: list[int] = []
    for label, name in enumerate(CLASSES):
        folder = dest / "cifar10" / split / name
        if not folder.is_dir():
            raise FileNotFoundError(f"CIFAR-10 archive lacks {split}/{name}")
        for path in sorted(folder.iterdir()):
            with Image.open(path) as img:
                images.append(np.asarray(img.convert("RGB"), dtype=np.uint8))
            labels.append(label)
    logger.info("decoded %d CIFAR-10 %s images", len(images), split)
    return np.stack(images), np.asarray(labels, dtype=np.int64)
