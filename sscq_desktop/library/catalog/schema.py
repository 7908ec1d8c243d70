"""The catalog's SQLite schema, its version (``PRAGMA user_version``) and migrations.

Each migration is a list of statements applied in one transaction together with the new
version number, so a kill mid-migration leaves the previous version intact. A catalog
written by a newer app (a higher version than `SCHEMA_VERSION`) is refused, never
downgraded. Connection settings (WAL, synchronous, busy timeout) live here too.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000

_V1 = [
    """CREATE TABLE folders (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        added_at TEXT NOT NULL
    )""",
    """CREATE TABLE images (
        id INTEGER PRIMARY KEY,
        folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
        path TEXT NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        content_key TEXT,
        width INTEGER,
        height INTEGER,
        taken_at TEXT,
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ok', 'error')),
        error TEXT
    )""",
    "CREATE INDEX images_folder ON images(folder_id)",
    "CREATE INDEX images_content_key ON images(content_key)",
    """CREATE TABLE models (
        id INTEGER PRIMARY KEY,
        model_id TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,
        source TEXT NOT NULL CHECK (source IN ('default', 'imported', 'trained')),
        registered_at TEXT NOT NULL,
        M INTEGER NOT NULL,
        K INTEGER NOT NULL,
        L INTEGER NOT NULL
    )""",
    # Codes (M bytes) and float16 embeddings (2*M*L bytes) per (model, image). No foreign
    # key on image_id: the catalog deletes encodings itself, through the primary key.
    """CREATE TABLE encodings (
        model INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        image_id INTEGER NOT NULL,
        codes BLOB NOT NULL,
        embedding BLOB NOT NULL,
        PRIMARY KEY (model, image_id)
    ) WITHOUT ROWID""",
    "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
]

_V2 = [
    # A per-folder "poll it" flag that nothing ever set; no longer read or written (the
    # watcher polls network file systems by itself). Kept: migrations never change.
    "ALTER TABLE folders ADD COLUMN polling INTEGER NOT NULL DEFAULT 0",
    "CREATE INDEX images_status ON images(status) WHERE status != 'ok'",
]

_V3 = [
    # Decodes that killed the process (the former crash quarantine). No longer read
    # or written: decoding runs in worker processes, and a crash fails that file at
    # once. Kept: migrations never change.
    "ALTER TABLE images ADD COLUMN decode_crashes INTEGER NOT NULL DEFAULT 0",
    "CREATE INDEX images_crashed ON images(id) WHERE decode_crashes > 0",
]

_V4 = [
    # A root folder that cannot be read (unplugged drive, unmounted share, permission
    # denied) is offline since this ISO time: its photos are kept, never deleted.
    "ALTER TABLE folders ADD COLUMN offline_since TEXT",
]

_V5 = [
    # Perceptual hashes (dHash and pHash, 8 big-endian bytes each) of the decoded photo,
    # for near-duplicates. NULL until computed: photos ingested before this version get
    # them on the next ingest run, which decodes them again without re-encoding
    # (`CatalogReader.missing_work`).
    "ALTER TABLE images ADD COLUMN dhash BLOB",
    "ALTER TABLE images ADD COLUMN phash BLOB",
    # The photos still to hash: the backfill's work list reads this index, not the table.
    "CREATE INDEX images_unhashed ON images(id) WHERE status = 'ok' AND phash IS NULL",
]

MIGRATIONS: tuple[list[str], ...] = (_V1, _V2, _V3, _V4, _V5)
"""``MIGRATIONS[i]`` takes a catalog from version ``i`` to ``i + 1``."""

SCHEMA_VERSION = len(MIGRATIONS)


class CatalogVersionError(RuntimeError):
    """The catalog was written by a newer version of the app."""


def connect(
    path: Path, *, readonly: bool = False, same_thread: bool = True
) -> sqlite3.Connection:
    """Open the catalog with the app's connection settings.

    Args:
        path: The SQLite file.
        readonly: Open read-only (``mode=ro``); such connections never write.
        same_thread: Let only the creating thread use the connection (sqlite3's check).

    Returns:
        A connection in autocommit mode; transactions are opened explicitly with BEGIN.
    """
    if readonly:
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro",
            uri=True,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=same_thread,
        )
    else:
        conn = sqlite3.connect(
            path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=same_thread,
        )
        conn.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a killed process loses nothing committed; only a power cut can
        # drop the last transactions, never corrupt the file.
        conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def schema_version(conn: sqlite3.Connection) -> int:
    """The catalog's ``user_version``."""
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(conn: sqlite3.Connection, *, target: int = SCHEMA_VERSION) -> int:
    """Bring the catalog up to `target`, one transaction per migration.

    Args:
        conn: A writable connection in autocommit mode.
        target: The version to reach (tests use lower targets to build old catalogs).

    Returns:
        The version reached.

    Raises:
        CatalogVersionError: if the catalog is newer than this app.
    """
    current = schema_version(conn)
    _refuse_newer(current)
    while current < min(target, SCHEMA_VERSION):  # up to date: no write lock taken
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Read under the write lock: another process (two first starts at once) may
            # have migrated while this one waited, and a migration must run only once.
            current = schema_version(conn)
            _refuse_newer(current)
            if current >= min(target, SCHEMA_VERSION):
                conn.execute("COMMIT")
                break
            logger.info("migrating catalog from version %d to %d", current, current + 1)
            for statement in MIGRATIONS[current]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version={current + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        current += 1
    return schema_version(conn)


def _refuse_newer(version: int) -> None:
    if version > SCHEMA_VERSION:
        raise CatalogVersionError(
            f"the catalog has schema version {version}, newer than this app's "
            f"{SCHEMA_VERSION}; update SSCQ Desktop"
        )
