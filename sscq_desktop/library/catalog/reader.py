"""`CatalogReader`: every read of the SQLite catalog, through one connection.

A reader opens a read-only connection of its own (`CatalogReader.open`), bound to the
thread that opened it (open one per thread: `thread_readers`); in WAL mode it never
blocks the writer and sees only committed rows. The writer (`catalog.Catalog`) holds a
reader too, over its own connection (``catalog.reader``): the writer's thread reads
its own writes there. Reads only: folders and photos, models, the work still to encode
and the stored encodings, settings and counts.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import numpy as np
import numpy.typing as npt

from sscq_desktop.library.catalog.connection import CatalogConnection, CatalogError
from sscq_desktop.library.catalog.reconciliation import KnownFile
from sscq_desktop.library.path_text import from_catalog, to_catalog
from sscq_desktop.library.records import (
    FolderId,
    FolderRecord,
    ModelRecord,
    PhotoId,
    PhotoRecord,
)

logger = logging.getLogger(__name__)

ACTIVE_MODEL_KEY = "active_model"
PENDING_MODEL_KEY = "pending_model"
_PHOTO_COLUMNS = "id, folder_id, path, size, mtime_ns, content_key, width, height, taken_at, status, error"

_ONLINE = "i.folder_id NOT IN (SELECT id FROM folders WHERE offline_since IS NOT NULL)"
"""SQL condition: the image's root folder is online (`FolderRecord.offline`)."""
_UNHASHED = "(i.status = 'ok' AND i.phash IS NULL)"
"""SQL condition: an indexed image without perceptual hashes (ingested before V5)."""


@dataclass(frozen=True)
class WorkItem:
    """An image that lacks codes for at least one target model, or its perceptual hashes.

    Attributes:
        photo_id: The image.
        path: Its path.
        model_ids: The models it must be encoded with; empty for a photo that only
            lacks its hashes (ingested before the catalog stored them).
    """

    photo_id: PhotoId
    path: Path
    model_ids: tuple[str, ...]


@dataclass(frozen=True)
class CatalogStats:
    """Counts for status displays.

    Attributes:
        folders: Library root folders.
        images: Image files known.
        ok: Decoded successfully.
        pending: Not decoded yet.
        errors: Failed to decode.
        encoded: Images with codes, per model id.
        active_model: Model id answering searches, if any.
        pending_model: Model id being switched to, if any.
    """

    folders: int
    images: int
    ok: int
    pending: int
    errors: int
    encoded: dict[str, int]
    active_model: str | None
    pending_model: str | None


class CatalogReader:
    """Reads the catalog through one connection.

    Args:
        connection: The connection to read through: one of its own (`open`) or the
            writer's (`catalog.Catalog.reader`).

    Attributes:
        path: The catalog file.
    """

    def __init__(self, connection: CatalogConnection) -> None:
        self.path = connection.path
        self._db = connection

    @classmethod
    def open(cls, path: Path) -> CatalogReader:
        """A reader with a read-only connection of its own, for the calling thread.

        Args:
            path: The catalog file (must exist: the writer creates it).

        Returns:
            The reader; `close` it when done.

        Raises:
            CatalogError: if there is no catalog at `path`.
        """
        return cls(CatalogConnection.open_readonly(path))

    def close(self) -> None:
        """Close the connection (a reader of its own; `Catalog.close` closes the writer's)."""
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

    # --- folders and photos -----------------------------------------------------------

    def folders(self) -> list[FolderRecord]:
        """The library root folders, by id."""
        rows = self._db.rows("SELECT id, path, offline_since FROM folders ORDER BY id")
        return [FolderRecord(FolderId(r[0]), from_catalog(r[1]), r[2]) for r in rows]

    def photo(self, photo_id: PhotoId) -> PhotoRecord | None:
        """One photo by id, or None."""
        row = self._db.one(
            f"SELECT {_PHOTO_COLUMNS} FROM images WHERE id = ?", (photo_id,)
        )
        return None if row is None else _photo(row)

    def photo_by_path(self, path: Path) -> PhotoRecord | None:
        """One photo by absolute path, or None."""
        row = self._db.one(
            f"SELECT {_PHOTO_COLUMNS} FROM images WHERE path = ?", (to_catalog(path),)
        )
        return None if row is None else _photo(row)

    def photos(
        self, *, status: str | None = None, limit: int = -1, offset: int = 0
    ) -> list[PhotoRecord]:
        """Photos by id, optionally only those with a given status."""
        where = "" if status is None else "WHERE status = ?"
        params: list[Any] = [] if status is None else [status]
        rows = self._db.rows(
            f"SELECT {_PHOTO_COLUMNS} FROM images {where} ORDER BY id LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return [_photo(r) for r in rows]

    def paths_of(self, photo_ids: Iterable[int]) -> dict[PhotoId, Path]:
        """Paths of the given photos (missing ids are left out)."""
        ids = list(photo_ids)
        out: dict[PhotoId, Path] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for pid, path in self._db.rows(
                f"SELECT id, path FROM images WHERE id IN ({marks})", chunk
            ):
                out[PhotoId(pid)] = from_catalog(path)
        return out

    def known_files(self, *, under: Sequence[Path] | None = None) -> list[KnownFile]:
        """Rows as the scanner needs them: all, or those at or below the given paths."""
        sql = "SELECT id, path, size, mtime_ns, content_key FROM images"
        if under is None:
            rows = self._db.rows(sql)
        else:
            rows = []
            for base in under:
                lo, hi = _prefix_range(base)
                rows += self._db.rows(
                    f"{sql} WHERE path = ? OR (path >= ? AND path < ?)",
                    (to_catalog(base), lo, hi),
                )
        return [
            KnownFile(PhotoId(r[0]), from_catalog(r[1]), r[2], r[3], r[4]) for r in rows
        ]

    def folder_has_photos(self, folder_id: FolderId) -> bool:
        """Whether the catalog holds any photo of this root folder."""
        return (
            self._db.one(
                "SELECT 1 FROM images WHERE folder_id = ? LIMIT 1", (folder_id,)
            )
            is not None
        )

    def count_indexed_under(self, folder: Path) -> int:
        """Photos at or below `folder` that were read and indexed (failed ones excluded)."""
        lo, hi = _prefix_range(folder)
        row = self._db.one(
            "SELECT count(*) FROM images WHERE path >= ? AND path < ? AND status = 'ok'",
            (lo, hi),
        )
        return int(row[0]) if row else 0

    def ids_under(self, folders: Sequence[Path]) -> npt.NDArray[np.int64]:
        """Ids of photos at or below any of `folders`, sorted.

        Shape:
            Returns ``(n,)`` int64.
        """
        found: list[int] = []
        for base in folders:
            lo, hi = _prefix_range(base)
            found += [
                r[0]
                for r in self._db.rows(
                    "SELECT id FROM images WHERE path >= ? AND path < ?", (lo, hi)
                )
            ]
        return np.unique(np.asarray(found, dtype=np.int64))

    def errors(self, *, limit: int = 100) -> list[tuple[Path, str]]:
        """Files that failed to decode, with their reason."""
        rows = self._db.rows(
            "SELECT path, error FROM images WHERE status = 'error' ORDER BY path LIMIT ?",
            (limit,),
        )
        return [(from_catalog(p), str(e)) for p, e in rows]

    def count_errors(self) -> int:
        """How many files failed to decode (cheap: reads the ``images_status`` index)."""
        # `status != 'ok'` lets SQLite use the partial index; `stats` counts every row.
        return int(
            self._db.one(
                "SELECT count(*) FROM images WHERE status != 'ok' AND status = 'error'"
            )[0]
        )

    # --- models -----------------------------------------------------------------------

    def models(self) -> list[ModelRecord]:
        """Registered models, by registration order."""
        rows = self._db.rows(f"SELECT {_MODEL_COLUMNS} FROM models ORDER BY id")
        return [_model_record(r) for r in rows]

    def model(self, model_id: str) -> ModelRecord | None:
        """A registered model, or None."""
        row = self._db.one(
            f"SELECT {_MODEL_COLUMNS} FROM models WHERE model_id = ?", (model_id,)
        )
        return None if row is None else _model_record(row)

    def _registered(self, model_id: str) -> tuple[int, ModelRecord]:
        """The catalog key and record of a registered model (one query)."""
        row = self._db.one(
            f"SELECT id, {_MODEL_COLUMNS} FROM models WHERE model_id = ?", (model_id,)
        )
        if row is None:
            raise CatalogError(f"model {model_id!r} is not registered")
        return int(row[0]), _model_record(row[1:])

    def model_key(self, model_id: str) -> int:
        """The catalog's key of a registered model (``encodings.model`` holds it).

        Raises:
            CatalogError: if `model_id` is not registered.
        """
        row = self._db.one("SELECT id FROM models WHERE model_id = ?", (model_id,))
        if row is None:
            raise CatalogError(f"model {model_id!r} is not registered")
        return int(row[0])

    # --- work and encodings -----------------------------------------------------------

    def count_missing(self, model_ids: Sequence[str]) -> int:
        """Images (not failed, not offline) lacking codes for one of `model_ids`, or hashes.

        An indexed photo without perceptual hashes (from a catalog older than schema
        version 5) counts: the next ingest decodes it again for them.
        """
        keys = [self.model_key(m) for m in model_ids]
        lacks = " OR ".join(
            "NOT EXISTS (SELECT 1 FROM encodings e WHERE e.model = ? AND e.image_id = i.id)"
            for _ in keys
        )
        unhashed = _UNHASHED if not keys else f"({lacks}) OR {_UNHASHED}"
        row = self._db.one(
            f"SELECT count(*) FROM images i WHERE status != 'error' AND ({unhashed})"
            f" AND {_ONLINE}",
            keys,
        )
        return int(row[0])

    def missing_work(
        self, model_ids: Sequence[str], *, after: int = 0, limit: int = 256
    ) -> list[WorkItem]:
        """The next images, by id above `after`, lacking codes for any of `model_ids`.

        Indexed photos lacking only their perceptual hashes come too, with no model to
        encode (the backfill of catalogs older than schema version 5). Images of
        offline root folders wait: their files cannot be read now, and reading them
        would record a failure that outlives the drive's return.
        """
        lacking: dict[int, list[str]] = {}
        paths: dict[int, str] = {}
        cutoff: int | None = None
        queries: list[tuple[str | None, str, tuple[object, ...]]] = [
            (
                model_id,
                "SELECT id, path FROM images i WHERE id > ? AND status != 'error' AND NOT EXISTS "
                "(SELECT 1 FROM encodings e WHERE e.model = ? AND e.image_id = i.id) "
                f"AND {_ONLINE} ORDER BY id LIMIT ?",
                (after, self.model_key(model_id), limit),
            )
            for model_id in model_ids
        ]
        queries.append(
            (
                None,
                f"SELECT id, path FROM images i WHERE id > ? AND {_UNHASHED} "
                f"AND {_ONLINE} ORDER BY id LIMIT ?",
                (after, limit),
            )
        )
        for model_id, query, params in queries:
            rows = self._db.rows(query, params)
            for pid, path in rows:
                wanted = lacking.setdefault(pid, [])
                if model_id is not None:
                    wanted.append(model_id)
                paths[pid] = path
            if len(rows) == limit:  # beyond its last id this list says nothing
                last = rows[-1][0]
                cutoff = last if cutoff is None else min(cutoff, last)
        ids = sorted(pid for pid in lacking if cutoff is None or pid <= cutoff)[:limit]
        return [
            WorkItem(PhotoId(pid), from_catalog(paths[pid]), tuple(lacking[pid]))
            for pid in ids
        ]

    def codes(
        self, model_id: str
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
        """All codes of a model, by photo id.

        Returns:
            ``(photo_ids, codes)``.

        Shape:
            photo_ids: ``(n,)`` int64 ascending; codes: ``(n, M)`` uint8.
        """
        key, record = self._registered(model_id)
        with self._db.lock:
            cursor = self._db.sqlite.execute(
                "SELECT image_id, codes FROM encodings WHERE model = ? ORDER BY image_id",
                (key,),
            )
            ids: list[int] = []
            blobs: list[bytes] = []
            for pid, blob in cursor:
                ids.append(pid)
                blobs.append(blob)
        codes = np.frombuffer(b"".join(blobs), dtype=np.uint8).reshape(
            len(ids), record.M
        )
        return np.asarray(ids, dtype=np.int64), codes.copy()

    def embedding(
        self, photo_id: PhotoId, model_id: str
    ) -> npt.NDArray[np.float32] | None:
        """The stored embedding of a photo under a model, or None if not encoded.

        Shape:
            Returns ``(M * L,)`` float32 (stored as float16).
        """
        row = self._db.one(
            "SELECT embedding FROM encodings WHERE model = ? AND image_id = ?",
            (self.model_key(model_id), photo_id),
        )
        if row is None:
            return None
        return np.frombuffer(row[0], dtype="<f2").astype(np.float32)

    def embeddings(
        self, model_id: str
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """All embeddings of a model, by photo id.

        Shape:
            photo_ids: ``(n,)`` int64 ascending; embeddings: ``(n, M * L)`` float32.
        """
        key, record = self._registered(model_id)
        rows = self._db.rows(
            "SELECT image_id, embedding FROM encodings WHERE model = ? ORDER BY image_id",
            (key,),
        )
        d = record.M * record.L
        emb = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f2").reshape(
            len(rows), d
        )
        return np.asarray([r[0] for r in rows], dtype=np.int64), emb.astype(np.float32)

    def embeddings_of(
        self, model_id: str, photo_ids: Sequence[int]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """The embeddings of some photos under a model (photos not encoded are left out).

        Shape:
            photo_ids: ``(n,)`` int64 ascending; embeddings: ``(n, M * L)`` float32.
        """
        key, record = self._registered(model_id)
        wanted = sorted({int(pid) for pid in photo_ids})
        ids: list[int] = []
        blobs: list[bytes] = []
        for start in range(0, len(wanted), 500):  # SQLite's bound-parameter limit
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for pid, blob in self._db.rows(
                "SELECT image_id, embedding FROM encodings WHERE model = ? "
                f"AND image_id IN ({marks}) ORDER BY image_id",
                (key, *chunk),
            ):
                ids.append(pid)
                blobs.append(blob)
        d = record.M * record.L
        emb = np.frombuffer(b"".join(blobs), dtype="<f2").reshape(len(ids), d)
        return np.asarray(ids, dtype=np.int64), emb.astype(np.float32)

    def perceptual_hashes(
        self,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
        """The dHash and pHash of every photo that has them, by photo id.

        Returns:
            ``(photo_ids, dhash, phash)``.

        Shape:
            each ``(n,)``; photo_ids int64 ascending, hashes uint64.
        """
        rows = self._db.rows(
            "SELECT id, dhash, phash FROM images WHERE status = 'ok' "
            "AND length(dhash) = 8 AND length(phash) = 8 ORDER BY id"
        )
        return (
            np.asarray([r[0] for r in rows], dtype=np.int64),
            _hashes([r[1] for r in rows]),
            _hashes([r[2] for r in rows]),
        )

    # --- settings and status ----------------------------------------------------------

    def setting(self, key: str) -> str | None:
        """A stored setting, or None."""
        row = self._db.one("SELECT value FROM settings WHERE key = ?", (key,))
        return None if row is None else str(row[0])

    def active_model_id(self) -> str | None:
        """The model id whose codes answer searches."""
        return self.setting(ACTIVE_MODEL_KEY)

    def pending_model_id(self) -> str | None:
        """The model id being switched to (re-encode under way), if any."""
        return self.setting(PENDING_MODEL_KEY)

    def stats(self) -> CatalogStats:
        """Counts for status displays."""
        by_status = dict(
            self._db.rows("SELECT status, count(*) FROM images GROUP BY status")
        )
        encoded = dict(
            self._db.rows(
                "SELECT m.model_id, count(e.image_id) FROM models m "
                "LEFT JOIN encodings e ON e.model = m.id GROUP BY m.id"
            )
        )
        return CatalogStats(
            folders=int(self._db.one("SELECT count(*) FROM folders")[0]),
            images=sum(by_status.values()),
            ok=by_status.get("ok", 0),
            pending=by_status.get("pending", 0),
            errors=by_status.get("error", 0),
            encoded={str(k): int(v) for k, v in encoded.items()},
            active_model=self.active_model_id(),
            pending_model=self.pending_model_id(),
        )

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check``: ``"ok"`` for a sound file."""
        return str(self._db.one("PRAGMA integrity_check")[0])


def _hashes(blobs: list[bytes]) -> npt.NDArray[np.uint64]:
    """Stored perceptual hashes (8 big-endian bytes each) as an array."""
    return np.frombuffer(b"".join(blobs), dtype=">u8").astype(np.uint64)


def _photo(row: Sequence[Any]) -> PhotoRecord:
    return PhotoRecord(
        id=PhotoId(row[0]),
        folder_id=FolderId(row[1]),
        path=from_catalog(row[2]),
        size=row[3],
        mtime_ns=row[4],
        content_key=row[5],
        width=row[6],
        height=row[7],
        taken_at=row[8],
        status=row[9],
        error=row[10],
    )


def _prefix_range(folder: Path) -> tuple[str, str]:
    """``[lo, hi)`` bounds on path strings strictly below `folder` (a range scan on the index)."""
    base = to_catalog(folder).rstrip(os.sep) + os.sep
    return base, base[:-1] + chr(ord(os.sep) + 1)


_MODEL_COLUMNS = "model_id, path, source, registered_at, M, K, L"


def _model_record(row: Sequence[Any]) -> ModelRecord:
    return ModelRecord(row[0], Path(row[1]), row[2], row[3], row[4], row[5], row[6])
