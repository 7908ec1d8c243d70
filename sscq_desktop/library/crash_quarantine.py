"""Crash quarantine: count decodes that killed the process, skip files that did it twice.

Run at the start of every ingest (`ingest.IngestPipeline.run`, so the GUI and the CLI's
``index`` and ``watch`` all get it), on the writer's thread: it turns the markers that
a dead process left (`decode_markers`) into ``images.decode_crashes``, so one poisonous
file cannot crash the app again and again. It decodes nothing.
"""

from __future__ import annotations

import logging
import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sscq_desktop.library.decode_markers import collect_leftovers
from sscq_desktop.library.path_text import to_catalog
from sscq_desktop.library.records import PhotoId

logger = logging.getLogger(__name__)

CRASH_LIMIT = 2
"""Crashes on one file before it is skipped; one alone may be a user killing the app."""

CRASH_ERROR = (
    "the image decoder crashed on this file twice; skipped "
    "(retry failed photos, or change the file, to try again)"
)
"""The error recorded on a quarantined file (status displays show it)."""


class CrashLedger(Protocol):
    """What the review needs of the catalog (`catalog.Catalog`, which imports this module).

    Typed as a protocol so that this module need not import `catalog`: the catalog takes
    `CRASH_LIMIT` from here.
    """

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction under the writer lock."""
        ...

    def crash_suspects(self) -> frozenset[PhotoId]:
        """Images with a crash on record and not set aside."""
        ...


@dataclass(frozen=True)
class CrashReview:
    """What `review_crashed_decodes` found.

    Attributes:
        quarantined: Files skipped from now on (their second crash).
        suspects: Images with one crash on record, still to be decoded: the pipeline
            decodes each alone, so that a crash then blames that file only, not the
            files other threads happened to be decoding.
    """

    quarantined: list[Path]
    suspects: frozenset[PhotoId]


def review_crashed_decodes(catalog: CrashLedger, folder: Path) -> CrashReview:
    """Count the decodes that dead processes left in `folder`; quarantine repeat offenders.

    Each leftover adds one to its image's ``decode_crashes`` (the marker's path must
    still be the image's, so a reused id is never blamed). An image reaching
    `CRASH_LIMIT` gets status ``error`` with `CRASH_ERROR`, and ingest skips it until
    `Catalog.retry_errors` (which leaves it one crash from the limit) or a change of the
    file (which resets the count). The markers are deleted before the catalog is
    written: a crash in between loses a count rather than doubling one. Without
    leftovers (the usual case) nothing is written.

    Args:
        catalog: The catalog writer (call from its thread).
        folder: The marker folder (`decode_markers.markers_dir` of the catalog).

    Returns:
        The files quarantined now and the remaining suspects.
    """
    leftovers = collect_leftovers(folder)
    quarantined: list[Path] = []
    if leftovers:
        with catalog.transaction() as conn:
            for leftover in leftovers:
                if _count_crash(conn, leftover.photo_id, leftover.path):
                    quarantined.append(leftover.path)
    return CrashReview(quarantined, catalog.crash_suspects())


def _count_crash(conn: sqlite3.Connection, photo_id: PhotoId, path: Path) -> bool:
    """Add one crash to an image; True if that set it aside (inside a transaction)."""
    cur = conn.execute(
        "UPDATE images SET decode_crashes = decode_crashes + 1 WHERE id = ? AND path = ?",
        (photo_id, to_catalog(path)),
    )
    if cur.rowcount == 0:
        return False  # gone or renamed since: nothing left to protect
    (crashes,) = conn.execute(
        "SELECT decode_crashes FROM images WHERE id = ?", (photo_id,)
    ).fetchone()
    if crashes < CRASH_LIMIT:
        logger.warning(
            "the previous run stopped while decoding %s; it will be tried again, alone",
            path,
        )
        return False
    conn.execute(
        "UPDATE images SET status = 'error', error = ? WHERE id = ?",
        (CRASH_ERROR, photo_id),
    )
    logger.warning(
        "the image decoder crashed %d times on %s; skipped until failed photos "
        "are retried or the file changes",
        crashes,
        path,
    )
    return True
