"""In-memory code index of one model, and the searches run on it.

`CodeIndex` is an immutable snapshot: the active model's codes as one `core.PackedCodes`,
the photo ids they belong to and the model's codebook. A search takes one snapshot and
uses nothing else, so a model switch (which swaps the snapshot) can never mix two models
in one answer. ADC itself lives in `sscq_desktop.core`; this module only builds masks and
exclusions from photo ids. Thread-safe: snapshots are read-only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from sscq_desktop.core import Distance, PackedCodes, distance_tables, search
from sscq_desktop.library.catalog.reader import CatalogReader
from sscq_desktop.model.artifact import ArtifactMetadata

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class CodeIndex:
    """The codes of one model, ready for ADC scans.

    Attributes:
        model_id: The model the codes come from.
        photo_ids: Photo id of each row, ascending.
        packed: The codes, packed for fast scans.
        codebook: The model's PQ codebook.
        distance: The model's ADC distance.
        generation: The library's write generation the snapshot was built at.
        sample: Stored embeddings of a fixed random sample of the library's photos
            (up to 512, seed 0): what `query_scale` measures a query against.

    Shape:
        photo_ids: ``(n,)`` int64; codebook: ``(M, ksub, dsub)`` float32;
        sample: ``(p, M * dsub)`` float32.
    """

    model_id: str
    photo_ids: npt.NDArray[np.int64]
    packed: PackedCodes
    codebook: npt.NDArray[np.float32]
    distance: Distance
    generation: int = 0
    sample: npt.NDArray[np.float32] = field(
        default_factory=lambda: np.zeros((0, 0), np.float32)
    )

    @classmethod
    def load(
        cls, reader: CatalogReader, metadata: ArtifactMetadata, *, generation: int = 0
    ) -> CodeIndex:
        """Build the snapshot of a model's codes from the catalog.

        Args:
            reader: A catalog connection.
            metadata: The model's metadata (codebook, K, distance).
            generation: Stored in the snapshot, to tell when it is stale.

        Returns:
            The snapshot.
        """
        ids, codes = reader.codes(metadata.model_id)  # (n,), (n, M)
        return cls(
            sample=_sample_embeddings(reader, metadata.model_id, ids),
            model_id=metadata.model_id,
            photo_ids=ids,
            packed=PackedCodes(codes, metadata.K),
            codebook=metadata.codebooks,
            distance=metadata.distance,
            generation=generation,
        )

    def query_scale(self, query: npt.ArrayLike) -> float:
        """The median distance from `query` to the library's sample of photos.

        What `similarity_scale.relative_distance` divides by: the distance of a typical
        photo of this library from this query, in the model's own units. 0 when the
        sample is empty or holds only the query.

        Shape:
            query: ``(M * dsub,)``.
        """
        if len(self.sample) == 0:
            return 0.0
        xq = np.asarray(query, dtype=np.float32).reshape(1, -1)  # (1, d)
        d = vector_distance(
            np.broadcast_to(xq, self.sample.shape), self.sample,
            codebook=self.codebook, distance=self.distance,
        )  # fmt: skip
        positive = d[d > 0.0]  # (p',) the query itself, when sampled, left out
        return float(np.median(positive)) if positive.size else 0.0

    @property
    def size(self) -> int:
        """Number of photos in the snapshot."""
        return int(self.photo_ids.size)

    def rows_of(self, photo_ids: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Row numbers of the given photo ids; ids not in the snapshot are dropped."""
        ids = np.asarray(photo_ids, dtype=np.int64).ravel()
        if self.size == 0 or ids.size == 0:
            return np.empty(0, dtype=np.int64)
        rows = np.minimum(np.searchsorted(self.photo_ids, ids), self.size - 1)
        found: npt.NDArray[np.int64] = rows[self.photo_ids[rows] == ids].astype(
            np.int64
        )
        return found

    def search(
        self,
        query: npt.ArrayLike,
        k: int,
        *,
        max_distance: float | None = None,
        allowed_ids: npt.ArrayLike | None = None,
        exclude_ids: Sequence[int] = (),
    ) -> list[tuple[int, float]]:
        """Nearest photos to a query embedding.

        Args:
            query: The query's continuous embedding.
            k: Most results returned.
            max_distance: Drop results farther than this.
            allowed_ids: If given, only these photo ids may be returned (folder scope).
            exclude_ids: Photo ids never returned (the query itself).

        Returns:
            ``(photo_id, distance)`` pairs, nearest first.

        Raises:
            ValueError: if `k` < 1 or the query has the wrong dimension.

        Shape:
            query: ``(M * dsub,)``.
        """
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        if self.size == 0:
            return []
        xq = np.asarray(query, dtype=np.float32).reshape(1, -1)  # (1, d)
        tables = distance_tables(
            xq, self.codebook, distance=self.distance
        )  # (1, M, ksub)
        mask = None
        if allowed_ids is not None:
            mask = np.zeros(self.size, dtype=bool)
            mask[self.rows_of(allowed_ids)] = True
        exclude = self.rows_of(list(exclude_ids)) if exclude_ids else None
        D, I = search(tables, self.packed, k, mask=mask, exclude=exclude)  # noqa: E741
        out: list[tuple[int, float]] = []
        for d, i in zip(D[0], I[0], strict=True):
            if i < 0 or (max_distance is not None and d > max_distance):
                break
            out.append((int(self.photo_ids[i]), float(d)))
        return out


def vector_distance(
    a: npt.NDArray[np.float32],
    b: npt.NDArray[np.float32],
    *,
    codebook: npt.NDArray[np.float32],
    distance: Distance,
) -> npt.NDArray[np.float32]:
    """The model's distance between continuous vectors, row by row.

    Shape:
        a, b: ``(n, M * dsub)``; codebook: ``(M, ksub, dsub)``; returns ``(n,)``.
    """
    M, _, dsub = codebook.shape
    diff = (a - b).reshape(len(a), M, dsub)  # (n, M, dsub)
    sq = np.einsum("nmd,nmd->nm", diff, diff)  # (n, M)
    if distance == "subspace_l2":
        out: npt.NDArray[np.float32] = np.sqrt(sq).sum(axis=1).astype(np.float32)
    else:
        out = sq.sum(axis=1).astype(np.float32)
    return out


def _sample_embeddings(
    reader: CatalogReader,
    model_id: str,
    ids: npt.NDArray[np.int64],
    *,
    size: int = 512,
) -> npt.NDArray[np.float32]:
    """Stored embeddings of a fixed random sample of the photos (seed 0, up to `size`).

    Shape:
        returns ``(p, M * dsub)``, p <= `size`.
    """
    rng = np.random.default_rng(0)
    rows = rng.choice(len(ids), size=min(size, len(ids)), replace=False)
    _, emb = reader.embeddings_of(model_id, ids[rows].tolist())
    return emb
