"""Where decoded pixels are cached: never inside the repository.

``$SSCQ_TRAINING_CACHE`` or a config value overrides the default
``~/.cache/sscq-desktop-data``. Arrays are written atomically as ``.npy`` files and read
back memory-mapped, so a 50,000-image set costs no decode time on the next run.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt

CACHE_ENV = "SSCQ_TRAINING_CACHE"


def cache_root(configured: str = "") -> Path:
    """The cache folder: `configured`, else ``$SSCQ_TRAINING_CACHE``, else the default."""
    root = configured or os.environ.get(CACHE_ENV, "") or "~/.cache/sscq-desktop-data"
    path = Path(root).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_key(*parts: object) -> str:
    """Short stable hash of `parts` (paths, sizes, mtimes, policies)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8"))
    return digest.hexdigest()[:16]


def save_array(path: Path, array: npt.NDArray[np.generic]) -> None:
    """Write `array` to `path` through a temporary file (no half-written caches)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npy")
    np.save(tmp, array)
    os.replace(tmp, path)


def load_array(path: Path) -> npt.NDArray[np.generic] | None:
    """Memory-map a cached array, or None when absent or unreadable."""
    try:
        array: npt.NDArray[np.generic] = np.load(path, mmap_mode="r")
        return array
    except (OSError, ValueError):
        return None
