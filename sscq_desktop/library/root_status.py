"""Whether the library's root folders can be read now: online, or offline and kept.

An unplugged drive, an unmounted share (an empty mount point), a deleted root or one that
permission denies is *offline* (`scanner.root_problem`): the catalog records when it went
(`FolderRecord.offline_since`) and keeps its photos; nothing is deleted until the user
removes the folder. Jobs call `check_root` before they trust a root's listing; status
displays call `folder_problems`, which only reads.
"""

from __future__ import annotations

import logging

from sscq_desktop.library.catalog import Catalog
from sscq_desktop.library.catalog_reader import CatalogReader
from sscq_desktop.library.path_text import display_path
from sscq_desktop.library.records import FolderId, FolderRecord
from sscq_desktop.library.scanner import root_problem

logger = logging.getLogger(__name__)


def check_root(catalog: Catalog, folder: FolderRecord) -> tuple[bool, bool]:
    """Look at a root now and record it offline or back online.

    Args:
        catalog: The catalog writer.
        folder: The root folder, as the catalog holds it.

    Returns:
        ``(online, changed)``: whether it can be read, and whether that changed its
        recorded state (searches then see the new marking).
    """
    problem = root_problem(
        folder.path, expect_photos=catalog.folder_has_photos(folder.id)
    )
    changed = catalog.set_folder_offline(folder.id, problem is not None)
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
