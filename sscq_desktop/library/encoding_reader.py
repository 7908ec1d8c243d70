"""`EncodingReader`: catalog reads of the registered models, pending work and stored codes.

The part of `catalog_reader.CatalogReader` that the ingest pipeline and the search index
need: which images still lack codes for a model, and the codes and embeddings stored for
it. Read-only; the one writer is `catalog.Catalog`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sscq_desktop.library.catalog_connection import CatalogConnection, CatalogError
from sscq_desktop.library.path_text import from_catalog
from sscq_desktop.library.records import ModelRecord, PhotoId

_ONLINE = "i.folder_id NOT IN (SELECT id FROM folders WHERE offline_since IS NOT NULL)"
"""SQL condition: the image's root folder is online (`FolderRecord.offline`)."""


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


class EncodingReader(CatalogConnection):
    """Reads models, the work still to encode and the stored encodings.

    Args:
        path: The catalog file (must exist: the writer creates it).
    """

    # --- models -----------------------------------------------------------------------

    def models(self) -> list[ModelRecord]:
        """Registered models, by registration order."""
        rows = self._rows(f"SELECT {_MODEL_COLUMNS} FROM models ORDER BY id")
        return [_model_record(r) for r in rows]

    def model(self, model_id: str) -> ModelRecord | None:
        """A registered model, or None."""
        row = self._one(
            f"SELECT {_MODEL_COLUMNS} FROM models WHERE model_id = ?", (model_id,)
        )
        return None if row is None else _model_record(row)

    def _registered(self, model_id: str) -> tuple[int, ModelRecord]:
        """The catalog key and record of a registered model (one query)."""
        row = self._one(
            f"SELECT id, {_MODEL_COLUMNS} FROM models WHERE model_id = ?", (model_id,)
        )
        if row is None:
            raise CatalogError(f"model {model_id!r} is not registered")
        return int(row[0]), _model_record(row[1:])

    def _model_key(self, model_id: str) -> int:
        row = self._one("SELECT id FROM models WHERE model_id = ?", (model_id,))
        if row is None:
            raise CatalogError(f"model {model_id!r} is not registered")
        return int(row[0])

    # --- work and encodings -----------------------------------------------------------

    def count_missing(self, model_ids: Sequence[str]) -> int:
        """Images (not failed, not offline) lacking codes for one of `model_ids`."""
        if not model_ids:
            return 0
        keys = [self._model_key(m) for m in model_ids]
        lacks = " OR ".join(
            "NOT EXISTS (SELECT 1 FROM encodings e WHERE e.model = ? AND e.image_id = i.id)"
            for _ in keys
        )
        row = self._one(
            f"SELECT count(*) FROM images i WHERE status != 'error' AND ({lacks})"
            f" AND {_ONLINE}",
            keys,
        )
        return int(row[0])

    def missing_work(
        self, model_ids: Sequence[str], *, after: int = 0, limit: int = 256
    ) -> list[WorkItem]:
        """The next images, by id above `after`, lacking codes for any of `model_ids`.

        Images of offline root folders wait: their files cannot be read now, and
        reading them would record a failure that outlives the drive's return.
        """
        lacking: dict[int, list[str]] = {}
        paths: dict[int, str] = {}
        cutoff: int | None = None
        for model_id in model_ids:
            rows = self._rows(
                "SELECT id, path FROM images i WHERE id > ? AND status != 'error' AND NOT EXISTS "
                "(SELECT 1 FROM encodings e WHERE e.model = ? AND e.image_id = i.id) "
                f"AND {_ONLINE} ORDER BY id LIMIT ?",
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
        key, record = self._registered(model_id)
        rows = self._rows(
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


_MODEL_COLUMNS = "model_id, path, source, registered_at, M, K, L"


def _model_record(row: Sequence[Any]) -> ModelRecord:
    return ModelRecord(row[0], Path(row[1]), row[2], row[3], row[4], row[5], row[6])
