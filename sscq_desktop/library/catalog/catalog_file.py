"""The catalog file itself: atomic creation, and telling a damaged file from a new one.

Several processes may start on a fresh home at once (the app, ``sscq-desktop`` in a
script): the catalog is built complete under a private name, then hard-linked into place,
so no process ever sees a half-created file, and every process uses the one that won.
Hence a catalog of 0 bytes is never ours in the making: like a file SQLite cannot read,
it is damaged (`CatalogDamagedError`), never silently replaced by an empty library.
`rebuild` sets a damaged file aside and rebuilds. No Qt.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from pathlib import Path

from sscq_desktop.library.catalog.connection import CatalogError
from sscq_desktop.library.catalog.schema import connect, migrate

logger = logging.getLogger(__name__)

REBUILD_HINT = (
    "run `sscq-desktop doctor --rebuild-catalog` to move it aside (it is kept) "
    "and rebuild the library from its folders"
)
"""What a user can do about a damaged catalog (shown with `CatalogDamagedError`)."""

_DAMAGE_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


class CatalogDamagedError(CatalogError):
    """The catalog file exists but cannot be read as a catalog.

    Args:
        path: The catalog file.
        reason: What is wrong with it (SQLite's message, or "empty file").

    Attributes:
        path: The catalog file.
        reason: What is wrong with it.
    """

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"the catalog {path} is damaged ({reason}); {REBUILD_HINT}")
        self.path = path
        self.reason = reason


def is_catalog_damage(exc: BaseException) -> bool:
    """Whether an exception says the SQLite file is corrupt or not a database.

    Args:
        exc: Any exception.

    Returns:
        True for `CatalogDamagedError` and for SQLite's CORRUPT and NOTADB errors.
    """
    if isinstance(exc, CatalogDamagedError):
        return True
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return (
            code & 0xFF in _DAMAGE_CODES
        )  # extended codes keep the primary in the low byte
    text = str(exc)
    return "malformed" in text or "not a database" in text


def open_catalog_file(path: Path) -> sqlite3.Connection:
    """Open the catalog for writing, creating it atomically if missing, migrated.

    Args:
        path: The catalog file; its folder is created (mode 0700) if needed.

    Returns:
        A writable connection (`schema.connect`) on an up-to-date catalog.

    Raises:
        CatalogDamagedError: if the file is empty or not a readable SQLite catalog.
        CatalogVersionError: if the file was written by a newer app.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        _create(path)
    else:
        if size == 0:
            raise CatalogDamagedError(path, "empty file, 0 bytes")
    conn: sqlite3.Connection | None = None
    try:
        conn = connect(path, same_thread=False)
        # Reading the schema page finds a file that is not a database, or a broken header.
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        migrate(conn)
    except sqlite3.DatabaseError as exc:
        if conn is not None:
            conn.close()
        if is_catalog_damage(exc):
            raise CatalogDamagedError(path, str(exc)) from exc
        raise
    except BaseException:
        if conn is not None:
            conn.close()
        raise
    return conn


def fold_log(conn: sqlite3.Connection) -> None:
    """Fold the write-ahead log into the catalog file (on close).

    After a clean exit ``catalog.sqlite3`` alone holds every committed row, so a backup
    that copies only that file is complete. Idle readers do not block this; one in a
    long read is waited for at most a second (the log then stays, and SQLite folds it in
    at the next open). Never raises: closing must go on.

    Args:
        conn: The writer's connection, with no transaction open.
    """
    try:
        conn.execute("PRAGMA busy_timeout=1000")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    except sqlite3.ProgrammingError:
        pass  # closed already
    except sqlite3.Error as exc:
        logger.warning("could not fold the catalog's log into the file: %s", exc)


def _create(path: Path) -> None:
    """Build a complete catalog under a private name, then link it into place.

    The loser of a race to create it keeps the winner's file (link fails on an existing
    name, never replaces it).
    """
    draft = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.new")
    try:
        conn = connect(draft)
        try:
            migrate(conn)
        finally:
            conn.close()  # the last connection: SQLite folds the WAL into the file
        if os.name == "posix":
            os.chmod(draft, 0o600)
        try:
            os.link(draft, path)
        except FileExistsError:
            logger.debug("another process created the catalog %s first", path)
        except OSError:
            # No hard links on this file system (FAT, some network shares): rename
            # if the name is still free (two first starts at once are not guarded).
            if not path.exists():
                os.replace(draft, path)
    finally:
        for leftover in (draft, Path(f"{draft}-wal"), Path(f"{draft}-shm")):
            with contextlib.suppress(OSError):
                leftover.unlink()
