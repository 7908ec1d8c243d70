"""Read access to the SQLite catalog: `CatalogReader`, its folder, photo and status reads.

A reader owns a read-only connection (`catalog_connection`) for the thread that opened it
(open one per thread); model and encoding reads come from `encoding_reader`. In WAL mode
readers never block the writer (`catalog.Catalog`) and see only committed rows. No writes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sscq_desktop.library.catalog_connection import CatalogError
from sscq_desktop.library.encoding_reader import EncodingReader, WorkItem
from sscq_desktop.library.path_text import from_catalog, to_catalog
from sscq_desktop.library.records import FolderId, FolderRecord, PhotoId, PhotoRecord
from sscq_desktop.library.scanner import KnownFile

__all__ = [
    "ACTIVE_MODEL_KEY",
    "PENDING_MODEL_KEY",
    "CatalogError",
    "CatalogReader",
    "CatalogStats",
    "WorkItem",
]

logger = logging.getLogger(__name__)

ACTIVE_MODEL_KEY = "active_model"
PENDING_MODEL_KEY = "pending_model"
_PHOTO_COLUMNS = "id, folder_id, path, size, mtime_ns, content_key, width, height, taken_at, status, error"


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


class CatalogReader(EncodingReader):
    """Read access to the catalog through a connection of its own.

    A reader is bound to the thread that opened it (sqlite3's rule); open one per thread.
    The connection comes from `CatalogConnection`; models, pending work and encodings
    from `EncodingReader`.

    Args:
        path: The catalog file (must exist: the writer creates it).
    """

    # --- folders and photos -----------------------------------------------------------

    def folders(self) -> list[FolderRecord]:
        """The library root folders, by id."""
        rows = self._rows("SELECT id, path, offline_since FROM folders ORDER BY id")
        return [FolderRecord(FolderId(r[0]), from_catalog(r[1]), r[2]) for r in rows]

    def photo(self, photo_id: PhotoId) -> PhotoRecord | None:
        """One photo by id, or None."""
        row = self._one(
            f"SELECT {_PHOTO_COLUMNS} FROM images WHERE id = ?", (photo_id,)
        )
        return None if row is None else _photo(row)

    def photo_by_path(self, path: Path) -> PhotoRecord | None:
        """One photo by absolute path, or None."""
        row = self._one(
            f"SELECT {_PHOTO_COLUMNS} FROM images WHERE path = ?", (to_catalog(path),)
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
                out[PhotoId(pid)] = from_catalog(path)
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
                    (to_catalog(base), lo, hi),
                )
        return [
            KnownFile(PhotoId(r[0]), from_catalog(r[1]), r[2], r[3], r[4]) for r in rows
        ]

    def folder_has_photos(self, folder_id: FolderId) -> bool:
        """Whether the catalog holds any photo of this root folder."""
        return (
            self._one("SELECT 1 FROM images WHERE folder_id = ? LIMIT 1", (folder_id,))
            is not None
        )

    def count_indexed_under(self, folder: Path) -> int:
        """Photos at or below `folder` that were read and indexed (failed ones excluded)."""
        lo, hi = _prefix_range(folder)
        row = self._one(
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
        return [(from_catalog(p), str(e)) for p, e in rows]

    def count_errors(self) -> int:
        """How many files failed to decode (cheap: reads the ``images_status`` index)."""
        # `status != 'ok'` lets SQLite use the partial index; `stats` counts every row.
        return int(
            self._one(
                "SELECT count(*) FROM images WHERE status != 'ok' AND status = 'error'"
            )[0]
        )

    # --- settings and status ----------------------------------------------------------

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
