"""Whether the library's root folders can be read now: online, or offline and kept.

An unplugged drive, an unmounted share (an empty mount point), a deleted root or one that
permission denies is *offline* (`scanner.root_problem`): the catalog records when it went
(`FolderRecord.offline_since`) and keeps its photos; nothing is deleted until the user
removes the folder. Jobs call `check_root` before they trust a root's listing; status
displays call `folder_problems` (or `folder_overviews`), which only read; searches ask a
`RootProbeCache`, so
their hits are marked offline as soon as a drive is unplugged, before any scan.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from sscq_desktop.library.catalog.catalog import Catalog
from sscq_desktop.library.catalog.reader import CatalogReader
from sscq_desktop.library.folders.scanner import root_problem
from sscq_desktop.library.path_text import display_path
from sscq_desktop.library.records import FolderId, FolderOverview, FolderRecord

logger = logging.getLogger(__name__)

ROOT_PROBE_TTL_S = 2.0
"""How long a `RootProbeCache` answer is reused (searches typed in a row share one)."""


def check_root(catalog: Catalog, folder: FolderRecord) -> tuple[bool, bool]:
    """Look at a root now and record it offline or back online.

    The catalog is written only when the state differs from `folder`'s (the watcher
    calls this every few seconds per root: an unchanged root costs no write
    transaction), so `folder` should be freshly read. The probe is a ``stat`` and one
    ``scandir`` entry of the root, on the calling thread: on a network share whose
    server stopped answering (a "hard" NFS mount) these may block until the kernel
    gives up, and the caller with them; they are not run with a timeout.

    Args:
        catalog: The catalog writer.
        folder: The root folder, as the catalog holds it.

    Returns:
        ``(online, changed)``: whether it can be read, and whether that changed its
        recorded state (searches then see the new marking).
    """
    problem = root_problem(
        folder.path, expect_photos=catalog.reader.folder_has_photos(folder.id)
    )
    offline = problem is not None
    if offline == folder.offline:
        return not offline, False
    changed = catalog.set_folder_offline(folder.id, offline)
    if changed and problem is not None:
        logger.warning(
            "%s is offline: %s; its photos are kept", display_path(folder.path), problem
        )
    elif changed:
        logger.info("%s is back online", display_path(folder.path))
    return problem is None, changed


def folder_problems(reader: CatalogReader) -> dict[FolderId, str]:
    """Root folders that cannot be read now, with the reason; looks at the disk.

    Args:
        reader: A catalog reader of the calling thread.

    Returns:
        ``folder id -> reason`` for each offline root; empty when all are online.
    """
    problems: dict[FolderId, str] = {}
    for folder in reader.folders():
        problem = root_problem(
            folder.path, expect_photos=reader.folder_has_photos(folder.id)
        )
        if problem is not None:
            problems[folder.id] = problem
    return problems


def folder_overviews(reader: CatalogReader) -> list[FolderOverview]:
    """Each root folder with its indexed photo count and why it is offline, if it is.

    Looks at the disk now (`folder_problems`): a drive unplugged since the last scan
    shows as offline at once; one the last scan found offline stays so until a scan
    or the watcher sees it back.

    Args:
        reader: A catalog reader of the calling thread.

    Returns:
        The roots, by id.
    """
    problems = folder_problems(reader)
    out = []
    for folder in reader.folders():
        problem = problems.get(folder.id)
        if problem is None and folder.offline:
            problem = "could not be read at the last scan"
        count = reader.count_indexed_under(folder.path)
        out.append(FolderOverview(folder.id, folder.path, count, problem))
    return out


class RootProbeCache:
    """Whether root folders cannot be read now, each probed at most once per `ttl_s`.

    For marking search hits at query time: the catalog's offline flag is only set by a
    scan or the watcher, while a drive can be unplugged between two searches. Only
    reads the disk (``root_problem``); thread-safe.

    Args:
        ttl_s: How long one probe's answer is reused.
    """

    def __init__(self, ttl_s: float = ROOT_PROBE_TTL_S) -> None:
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._seen: dict[Path, tuple[float, bool]] = {}

    def offline(self, root: Path) -> bool:
        """Whether `root`, a root holding photos in the catalog, cannot be read now.

        Args:
            root: A library root folder with photos (an empty one reads as offline:
                an unmounted drive's mount point).

        Returns:
            True if it is gone, not a folder, unreadable or empty.
        """
        now = time.monotonic()
        with self._lock:
            seen = self._seen.get(root)
        if seen is not None and now - seen[0] < self._ttl_s:
            return seen[1]
        offline = root_problem(root, expect_photos=True) is not None
        with self._lock:
            self._seen[root] = (now, offline)
        return offline
