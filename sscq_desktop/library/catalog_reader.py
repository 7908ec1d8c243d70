"""Read access to the SQLite catalog: `CatalogReader` and the records it returns.

A reader owns a read-only connection of its own, usable by the thread that opened it
(open one per thread). In WAL mode readers never block the writer (`catalog.Catalog`)
and see only committed transactions. No writes here.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from sscq_desktop.library.records import (
    FolderId,
    FolderRecord,
    ModelRecord,
    PhotoId,
    PhotoRecord,
)
from sscq_desktop.library.scanner import KnownFile
from sscq_desktop.library.schema import connect

logger = logging.getLogger(__name__)

ACTIVE_MODEL_KEY = "active_model"
PENDING_MODEL_KEY = "pending_model"
_WRITE_CHUNK = 2000  # rows per transaction when applying a large reconciliation
_PHOTO_COLUMNS = "id, folder_id, path, size, mtime_ns, content_key, width, height, taken_at, status, error"


class CatalogError(RuntimeError):
    """A catalog operation that cannot be done (unknown folder or model, bad state)."""


@dataclass(frozen=True)
class WorkItem:
    """An image that lacks codes for at least one target model.

    Attributes:
        photo_id: The image.
        path: Its path.
        model_ids: The models it must be encoded with.
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
    """Read access to the catalog through a connection of its own.

    A reader is bound to the thread that opened it (sqlite3's rule); open one per thread.

    Args:
        path: The catalog file (must exist: the writer creates it).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn = self._open(path)

    def _open(self, path: Path) -> sqlite3.Connection:
        if not path.exists():
            raise CatalogError(f"no catalog at {path}")
        return connect(path, readonly=True)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> CatalogReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._lock:
            return self._conn.execute(sql, params).fetchone()

    # --- folders and photos -----------------------------------------------------------

    def folders(self) -> list[FolderRecord]:
        """The library root folders, by id."""
        rows = self._rows("SELECT id, path, polling FROM folders ORDER BY id")
        return [FolderRecord(FolderId(r[0]), Path(r[1]), bool(r[2])) for r in rows]

    def photo(self, photo_id: PhotoId) -> PhotoRecord | None:
        """One photo by id, or None."""
        row = self._one(
            f"SELECT {_PHOTO_COLUMNS} FROM images WHERE id = ?", (photo_id,)
        )
        return None if row is None else _photo(row)

    def photo_by_path(self, path: Path) -> PhotoRecord | None:
        """One photo by absolute path, or None."""
        row = self._one(
            f"SELECT {_PHOTO_COLUMNS} FROM images WHERE path = ?", (str(path),)
        )
        return None if row is None else _photo(row)

    def photos(
        self, *, status: str | None = None, limit: int = -1, offset: int = 0
    ) -> list[PhotoRecord]:
        """Photos by id, optionally only those with a given status."""
        where = "" if status is None else "WHERE status = ?"
        params: list[Any] = [] if status is None else [status]
        rows = self._rows(
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
            for pid, path in self._rows(
                f"SELECT id, path FROM images WHERE id IN ({marks})", chunk
            ):
                out[PhotoId(pid)] = Path(path)
        return out

    def known_files(self, *, under: Sequence[Path] | None = None) -> list[KnownFile]:
        """Rows as the scanner needs them: all, or those at or below the given paths."""
        sql = "SELECT id, path, size, mtime_ns, content_key FROM images"
        if under is None:
            rows = self._rows(sql)
        else:
            rows = []
            for base in under:
                lo, hi = _prefix_range(base)
                rows += self._rows(
                    f"{sql} WHERE path = ? OR (path >= ? AND path < ?)",
                    (str(base), lo, hi),
                )
        return [KnownFile(PhotoId(r[0]), Path(r[1]), r[2], r[3], r[4]) for r in rows]

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
                for r in self._rows(
                    "SELECT id FROM images WHERE path >= ? AND path < ?", (lo, hi)
                )
            ]
        return np.unique(np.asarray(found, dtype=np.int64))

    def errors(self, *, limit: int = 100) -> list[tuple[Path, str]]:
        """Files that failed to decode, with their reason."""
        rows = self._rows(
            "SELECT path, error FROM images WHERE status = 'error' ORDER BY path LIMIT ?",
            (limit,),
        )
        return [(Path(p), str(e)) for p, e in rows]

    # --- models and settings ----------------------------------------------------------

    def setting(self, key: str) -> str | None:
        """A stored setting, or None."""
        row = self._one("SELECT value FROM settings WHERE key = ?", (key,))
        return None if row is None else str(row[0])

    def active_model_id(self) -> str | None:
        """The model id whose codes answer searches."""
        return self.setting(ACTIVE_MODEL_KEY)

    def pending_model_id(self) -> str | None:
        """The model id being switched to (re-encode under way), if any."""
        return self.setting(PENDING_MODEL_KEY)

    def models(self) -> list[ModelRecord]:
        """Registered models, by registration order."""
        rows = self._rows(
            "SELECT model_id, path, source, registered_at, M, K, L FROM models ORDER BY id"
        )
        return [
            ModelRecord(r[0], Path(r[1]), r[2], r[3], r[4], r[5], r[6]) for r in rows
        ]

    def model(self, model_id: str) -> ModelRecord | None:
        """A registered model, or None."""
        return next((m for m in self.models() if m.model_id == model_id), None)

    def _model_key(self, model_id: str) -> int:
        row = self._one("SELECT id FROM models WHERE model_id = ?", (model_id,))
        if row is None:
            raise CatalogError(f"model {model_id!r} is not registered")
        return int(row[0])

    # --- work and encodings -----------------------------------------------------------

    def count_missing(self, model_ids: Sequence[str]) -> int:
        """Images (not failed) lacking codes for at least one of `model_ids`."""
        if not model_ids:
            return 0
        keys = [self._model_key(m) for m in model_ids]
        lacks = " OR ".join(
            "NOT EXISTS (SELECT 1 FROM encodings e WHERE e.model = ? AND e.image_id = i.id)"
            for _ in keys
        )
        row = self._one(
            f"SELECT count(*) FROM images i WHERE status != 'error' AND ({lacks})", keys
        )
        return int(row[0])

    def missing_work(
        self, model_ids: Sequence[str], *, after: int = 0, limit: int = 256
    ) -> list[WorkItem]:
        """The next images, by id above `after`, lacking codes for any of `model_ids`."""
        lacking: dict[int, list[str]] = {}
        paths: dict[int, str] = {}
        cutoff: int | None = None
        for model_id in model_ids:
            rows = self._rows(
                "SELECT id, path FROM images i WHERE id > ? AND status != 'error' AND NOT EXISTS "
                "(SELECT 1 FROM encodings e WHERE e.model = ? AND e.image_id = i.id) "
                "ORDER BY id LIMIT ?",
                (after, self._model_key(model_id), limit),
            )
            for pid, path in rows:
                lacking.setdefault(pid, []).append(model_id)
                paths[pid] = path
            if len(rows) == limit:  # beyond its last id this list says nothing
                last = rows[-1][0]
                cutoff = last if cutoff is None else min(cutoff, last)
        ids = sorted(pid for pid in lacking if cutoff is None or pid <= cutoff)[:limit]
        return [
            WorkItem(PhotoId(pid), Path(paths[pid]), tuple(lacking[pid])) for pid in ids
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
        record = self.model(model_id)
        if record is None:
            raise CatalogError(f"model {model_id!r} is not registered")
        key = self._model_key(model_id)
        with self._lock:
            cursor = self._conn.execute(
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
        row = self._one(
            "SELECT embedding FROM encodings WHERE model = ? AND image_id = ?",
            (self._model_key(model_id), photo_id),
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
        record = self.model(model_id)
        if record is None:
            raise CatalogError(f"model {model_id!r} is not registered")
        rows = self._rows(
            "SELECT image_id, embedding FROM encodings WHERE model = ? ORDER BY image_id",
            (self._model_key(model_id),),
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
        record = self.model(model_id)
        if record is None:
            raise CatalogError(f"model {model_id!r} is not registered")
        wanted = sorted({int(pid) for pid in photo_ids})
        ids: list[int] = []
        blobs: list[bytes] = []
        key = self._model_key(model_id)
        for start in range(0, len(wanted), 500):  # SQLite's bound-parameter limit
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for pid, blob in self._rows(
                "SELECT image_id, embedding FROM encodings WHERE model = ? "
                f"AND image_id IN ({marks}) ORDER BY image_id",
                (key, *chunk),
            ):
                ids.append(pid)
                blobs.append(blob)
        d = record.M * record.L
        emb = np.frombuffer(b"".join(blobs), dtype="<f2").reshape(len(ids), d)
        return np.asarray(ids, dtype=np.int64), emb.astype(np.float32)

    def stats(self) -> CatalogStats:
        """Counts for status displays."""
        by_status = dict(
            self._rows("SELECT status, count(*) FROM images GROUP BY status")
        )
        encoded = dict(
            self._rows(
                "SELECT m.model_id, count(e.image_id) FROM models m "
                "LEFT JOIN encodings e ON e.model = m.id GROUP BY m.id"
            )
        )
        return CatalogStats(
            folders=int(self._one("SELECT count(*) FROM folders")[0]),
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
        return str(self._one("PRAGMA integrity_check")[0])


def _photo(row: Sequence[Any]) -> PhotoRecord:
    return PhotoRecord(
        id=PhotoId(row[0]),
        folder_id=FolderId(row[1]),
        path=Path(row[2]),
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
    base = str(folder).rstrip(os.sep) + os.sep
    return base, base[:-1] + chr(ord(os.sep) + 1)
