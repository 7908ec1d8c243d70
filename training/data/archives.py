"""The shared data sets (../shared/data beside the checkout, or $SSCQ_SHARED_DATA).

Archives are extracted at run time into the cache folder (never the repository), once:
into a temporary folder that is renamed when complete, so a killed extraction is redone.
"""

from __future__ import annotations

import logging
import os
import shutil
import tarfile
from pathlib import Path

from training.data.cache import cache_key, cache_root

logger = logging.getLogger(__name__)

SHARED_DATA_ENV = "SSCQ_SHARED_DATA"


def shared_data_dir() -> Path:
    """``$SSCQ_SHARED_DATA``, else ``../shared/data`` beside the checkout."""
    configured = os.environ.get(SHARED_DATA_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "shared" / "data"


def extracted_folder(archive: Path, inner: str, *, cache_dir: str = "") -> Path:
    """``inner`` inside `archive`, extracted into the cache on first use.

    Raises:
        FileNotFoundError: if the archive is missing or lacks `inner`.
    """
    if not archive.is_file():
        raise FileNotFoundError(
            f"data archive not found: {archive} (set {SHARED_DATA_ENV})"
        )
    stat = archive.stat()
    key = cache_key("extract-v1", archive.resolve(), stat.st_size, stat.st_mtime_ns)
    dest = cache_root(cache_dir) / f"extracted-{archive.name}-{key}"
    if not dest.is_dir():
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        logger.info("extracting %s into %s", archive, dest)
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        os.replace(tmp, dest)
    folder = dest / inner
    if not folder.is_dir():
        raise FileNotFoundError(f"{archive} has no folder {inner}")
    return folder
