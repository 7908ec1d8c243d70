"""The catalog's one writer: `Catalog` creates, migrates and changes the SQLite file.

It owns the only write connection, and every method that changes rows runs as one
transaction under the connection's lock, so writes are serialised even if it is shared
between threads (the app uses it from its single writer lane). Reads are not its own:
it holds a `CatalogReader` over that same connection (``catalog.reader.photos()``), so
the writer's thread sees its own writes and every read query lives in one class
(`reader`). A kill at any moment leaves the last committed batch: nothing half-written,
and pending work is derived from the rows (images lacking codes for a model), so
restarting resumes.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self

from sscq_desktop.library.catalog.catalog_file import fold_log, open_catalog_file
from sscq_desktop.library.catalog.connection import CatalogConnection, CatalogError
from sscq_desktop.library.catalog.reader import (
    ACTIVE_MODEL_KEY,
    PENDING_MODEL_KEY,
    CatalogReader,
)
from sscq_desktop.library.catalog.reconciliation import Reconciliation
from sscq_desktop.library.path_text import from_catalog, to_catalog
from sscq_desktop.library.records import (
    FolderId,
    FolderRecord,
    ModelRecord,
    ModelSource,
    PhotoId,
)

_WRITE_CHUNK = 2000  # rows per transaction when applying a large reconciliation


NO_HASHES = (b"", b"")
"""`IngestRecord.hashes` of an indexed photo whose hashes could not be computed (its
backfill decode failed): stored as empty blobs, so it is neither retried on every run nor
failed; near duplicates leave it out."""


@dataclass(frozen=True)
class IngestRecord:
    """The outcome of decoding and encoding one image, as the writer stores it.

    Attributes:
        photo_id: The image.
        size: File size seen when it was read.
        mtime_ns: Modification time seen when it was read.
        content_key: Content key computed when it was read, if readable.
        width: Upright width, None on error.
        height: Upright height, None on error.
        taken_at: EXIF capture date.
        error: Why it failed, or None on success.
        encodings: ``model_id -> (codes bytes, float16 embedding bytes)`` on success.
        hashes: ``(dhash, phash)``, 8 bytes each (`perceptual_hash`), on success.
    """

    photo_id: PhotoId
    size: int
    mtime_ns: int
    content_key: str | None
    width: int | None = None
    height: int | None = None
    taken_at: str | None = None
    error: str | None = None
    encodings: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)
    hashes: tuple[bytes, bytes] | None = None


class Catalog:
    """The catalog's one writer; creates and migrates the file on open.

    Every mutating method is one transaction under the connection's lock: the app keeps
    a single `Catalog` and funnels writes through it (one writer lane). Its reads go
    through `reader`, on the same connection.

    Args:
        path: The catalog file; created (with its folder) if missing.

    Attributes:
        path: The catalog file.
        reader: Every read of the catalog, through the writer's connection.

    Raises:
        CatalogDamagedError: if the file is empty or not a readable SQLite catalog.
        CatalogVersionError: if the file was written by a newer app.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = CatalogConnection(path, open_catalog_file(path))
        if os.name == "posix":
            os.chmod(path, 0o600)
        self.reader = CatalogReader(self._db)

    def close(self) -> None:
        """Fold the write-ahead log into the file (`fold_log`), then close."""
        with self._db.lock:
            fold_log(self._db.sqlite)
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run statements in one ``BEGIN IMMEDIATE`` transaction under the writer lock."""
        conn = self._db.sqlite
        with self._db.lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # --- folders ------------------------------------------------------------------------

    def add_folder(self, path: Path) -> FolderRecord:
        """Add a library root folder (absolute, resolved).

        A folder inside an existing root is that root; a folder containing existing roots
        absorbs them (their photos move under the new root, keeping their codes).

        Returns:
            The root folder that now covers `path`.
        """
        folder = path.expanduser().resolve()
        with self.transaction() as conn:
            for fid, stored, offline in conn.execute(
                "SELECT id, path, offline_since FROM folders"
            ):
                existing = from_catalog(stored)
                if folder.is_relative_to(existing):
                    return FolderRecord(FolderId(fid), existing, offline)
            cur = conn.execute(
                "INSERT INTO folders (path, added_at) VALUES (?, ?)",
                (to_catalog(folder), _now()),
            )
            new_id = FolderId(int(cur.lastrowid or 0))
            for fid, existing in conn.execute(
                "SELECT id, path FROM folders WHERE id != ?", (new_id,)
            ).fetchall():
                if from_catalog(existing).is_relative_to(folder):
                    conn.execute(
                        "UPDATE images SET folder_id = ? WHERE folder_id = ?",
                        (new_id, fid),
                    )
                    conn.execute("DELETE FROM folders WHERE id = ?", (fid,))
        return FolderRecord(new_id, folder)

    def set_folder_offline(self, folder_id: FolderId, offline: bool) -> bool:
        """Mark a root folder offline (unreadable now) or back online.

        Returns:
            True if that changed the folder's state.
        """
        with self.transaction() as conn:
            if offline:
                cur = conn.execute(
                    "UPDATE folders SET offline_since = ? "
                    "WHERE id = ? AND offline_since IS NULL",
                    (_now(), folder_id),
                )
            else:
                cur = conn.execute(
                    "UPDATE folders SET offline_since = NULL "
                    "WHERE id = ? AND offline_since IS NOT NULL",
                    (folder_id,),
                )
            return cur.rowcount > 0

    def remove_folder(self, folder_id: FolderId) -> list[str]:
        """Forget a folder and its photos (files on disk are untouched).

        Returns:
            Content keys no longer used by any photo (their thumbnails can go).
        """
        with self.transaction() as conn:
            rows = conn.execute(
                "SELECT id, content_key FROM images WHERE folder_id = ?", (folder_id,)
            ).fetchall()
            self._delete_images(conn, [r[0] for r in rows])
            conn.execute("DELETE FROM folders WHERE id = ?", (folder_id,))
            return self._unused_keys(conn, [r[1] for r in rows if r[1]])

    # --- reconciliation and ingest ------------------------------------------------------

    def apply_reconciliation(self, rec: Reconciliation) -> list[str]:
        """Write a scanner `Reconciliation`, in transactions of bounded size.

        Deleted photos lose their rows and codes; moved ones get their new path and keep
        id and codes; changed ones go back to ``pending`` and lose their codes; new ones
        are inserted as ``pending``.

        Returns:
            Content keys no longer used by any photo (their thumbnails can go).
        """
        unused: list[str] = []
        for start in range(0, len(rec.deleted), _WRITE_CHUNK):
            chunk = rec.deleted[start : start + _WRITE_CHUNK]
            with self.transaction() as conn:
                self._delete_images(conn, [k.id for k in chunk])
                unused += self._unused_keys(
                    conn, [k.content_key for k in chunk if k.content_key]
                )
        for start in range(0, len(rec.moved), _WRITE_CHUNK):
            with self.transaction() as conn:
                conn.executemany(
                    "UPDATE images SET path = ?, folder_id = ?, size = ?, mtime_ns = ? WHERE id = ?",
                    [
                        (to_catalog(f.path), f.folder_id, f.size, f.mtime_ns, pid)
                        for pid, f in rec.moved[start : start + _WRITE_CHUNK]
                    ],
                )
        for start in range(0, len(rec.changed), _WRITE_CHUNK):
            chunk2 = rec.changed[start : start + _WRITE_CHUNK]
            with self.transaction() as conn:
                self._delete_encodings(conn, [pid for pid, _ in chunk2])
                conn.executemany(
                    "UPDATE images SET size = ?, mtime_ns = ?, status = 'pending', error = NULL, "
                    "content_key = NULL, dhash = NULL, phash = NULL WHERE id = ?",
                    [(f.size, f.mtime_ns, pid) for pid, f in chunk2],
                )
        for start in range(0, len(rec.new), _WRITE_CHUNK):
            with self.transaction() as conn:
                conn.executemany(
                    "INSERT INTO images (folder_id, path, size, mtime_ns, content_key) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT(path) DO NOTHING",
                    [
                        (f.folder_id, to_catalog(f.path), f.size, f.mtime_ns, key)
                        for f, key in rec.new[start : start + _WRITE_CHUNK]
                    ],
                )
        return unused

    def record_ingest(self, records: Sequence[IngestRecord]) -> None:
        """Store a batch of decode/encode outcomes in one transaction.

        Outcomes for photos deleted meanwhile are dropped (no orphan codes).
        """
        keys = {
            m.model_id: self.reader.model_key(m.model_id) for m in self.reader.models()
        }
        with self.transaction() as conn:
            for r in records:
                if r.hashes == NO_HASHES and r.error is None:
                    conn.execute(
                        "UPDATE images SET dhash = ?, phash = ? "
                        "WHERE id = ? AND status = 'ok'",
                        (*NO_HASHES, r.photo_id),
                    )
                    continue
                if r.error is not None:
                    conn.execute(
                        "UPDATE images SET status = 'error', error = ?, size = ?, mtime_ns = ?, "
                        "content_key = coalesce(?, content_key) WHERE id = ?",
                        (r.error, r.size, r.mtime_ns, r.content_key, r.photo_id),
                    )
                    continue
                cur = conn.execute(
                    "UPDATE images SET status = 'ok', error = NULL, "
                    "size = ?, mtime_ns = ?, content_key = ?, width = ?, height = ?, "
                    "taken_at = ?, dhash = ?, phash = ? WHERE id = ?",
                    (
                        r.size,
                        r.mtime_ns,
                        r.content_key,
                        r.width,
                        r.height,
                        r.taken_at,
                        *(r.hashes or (None, None)),
                        r.photo_id,
                    ),
                )
                if cur.rowcount == 0:
                    continue
                conn.executemany(
                    "INSERT OR REPLACE INTO encodings (model, image_id, codes, embedding) "
                    "VALUES (?, ?, ?, ?)",
                    [(keys[m], r.photo_id, c, e) for m, (c, e) in r.encodings.items()],
                )

    def forget_photos(self, photo_ids: Sequence[PhotoId]) -> list[str]:
        """Forget photos whose files are gone (moved to the trash): rows and codes.

        Returns:
            Content keys no longer used by any photo (their thumbnails can go).
        """
        with self.transaction() as conn:
            keys = [
                row[0]
                for pid in photo_ids
                for row in conn.execute(
                    "SELECT content_key FROM images WHERE id = ?", (pid,)
                )
                if row[0]
            ]
            self._delete_images(conn, list(photo_ids))
            return self._unused_keys(conn, keys)

    def retry_errors(self) -> int:
        """Put every failed image back to ``pending``; returns how many."""
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE images SET status = 'pending', error = NULL "
                "WHERE status != 'ok' AND status = 'error'"
            )
            return cur.rowcount

    # --- models and settings ------------------------------------------------------------

    def register_model(
        self,
        *,
        model_id: str,
        path: Path,
        source: ModelSource,
        M: int,
        K: int,
        L: int,
    ) -> ModelRecord:
        """Register a model, or update the path and source of one already registered."""
        now = _now()
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO models (model_id, path, source, registered_at, M, K, L) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(model_id) DO UPDATE SET "
                "path = excluded.path, source = excluded.source",
                (model_id, str(path), source, now, M, K, L),
            )
        record = self.reader.model(model_id)
        if record is None:  # pragma: no cover - the insert above guarantees a row
            raise CatalogError(f"model {model_id!r} was not registered")
        return record

    def set_setting(self, key: str, value: str | None) -> None:
        """Store a setting; None deletes it."""
        with self.transaction() as conn:
            if value is None:
                conn.execute("DELETE FROM settings WHERE key = ?", (key,))
            else:
                conn.execute(
                    "INSERT INTO settings (key, value) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )

    def complete_switch(self, model_id: str) -> bool:
        """Make `model_id` active if every image that can be encoded has its codes.

        A switch away from another model also drops the codes and embeddings of every
        model but these two (the old active one stays for a one-step rollback) and a
        pending one, so retraining does not pile up encodings; the models stay
        registered. A switch to another model that is pending stays pending: only
        `model_id`'s own is done. All in one transaction: readers see either the old
        active model with its codes or the new.

        Returns:
            True when `model_id` is now active (it may have been already).
        """
        key = self.reader.model_key(model_id)
        with self.transaction() as conn:
            lacking = conn.execute(
                "SELECT 1 FROM images i WHERE status != 'error' AND NOT EXISTS "
                "(SELECT 1 FROM encodings e WHERE e.model = ? AND e.image_id = i.id) LIMIT 1",
                (key,),
            ).fetchone()
            if lacking is not None:
                return False
            previous = conn.execute(
                "SELECT m.id FROM settings s JOIN models m ON m.model_id = s.value "
                "WHERE s.key = ?",
                (ACTIVE_MODEL_KEY,),
            ).fetchone()
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (ACTIVE_MODEL_KEY, model_id),
            )
            conn.execute(
                "DELETE FROM settings WHERE key = ? AND value = ?",
                (PENDING_MODEL_KEY, model_id),
            )
            if previous is not None and previous[0] != key:  # a pending model's stay
                conn.execute(
                    "DELETE FROM encodings WHERE model NOT IN (?, ?) AND model NOT IN "
                    "(SELECT m.id FROM settings s JOIN models m ON m.model_id = s.value "
                    "WHERE s.key = ?)",
                    (key, previous[0], PENDING_MODEL_KEY),
                )
        return True

    # --- helpers --------------------------------------------------------------------------

    def _delete_encodings(self, conn: sqlite3.Connection, ids: Sequence[int]) -> None:
        models = [r[0] for r in conn.execute("SELECT id FROM models")]
        conn.executemany(
            "DELETE FROM encodings WHERE model = ? AND image_id = ?",
            [(m, pid) for m in models for pid in ids],
        )

    def _delete_images(self, conn: sqlite3.Connection, ids: Sequence[int]) -> None:
        self._delete_encodings(conn, ids)
        conn.executemany("DELETE FROM images WHERE id = ?", [(pid,) for pid in ids])

    def _unused_keys(self, conn: sqlite3.Connection, keys: Iterable[str]) -> list[str]:
        return [
            k
            for k in set(keys)
            if conn.execute(
                "SELECT 1 FROM images WHERE content_key = ? LIMIT 1", (k,)
            ).fetchone()
            is None
        ]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
