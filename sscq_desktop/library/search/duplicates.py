"""Near-duplicate groups: a stricter, separate question from "similar".

Candidates come from an ADC scan of each photo's stored embedding against the code index
(`sscq_desktop.core`); a pair is kept only if the two *continuous* embeddings are within
`max_distance` (the model's own distance, computed exactly, not through codes), and kept
pairs are joined into groups (union-find). Merely similar shots stay apart unless the
threshold is loosened. A generator job; no catalog writes.
"""

from __future__ import annotations

import threading
from collections.abc import Generator

import numpy as np
import numpy.typing as npt

from sscq_desktop.core import distance_tables, search
from sscq_desktop.library.progress import Progress, ProgressMeter, is_cancelled
from sscq_desktop.library.search.code_index import CodeIndex, vector_distance

_QUERY_BATCH = 256
_SCALE_SAMPLE = 256

DEFAULT_RELATIVE_THRESHOLD = 0.05
"""Default threshold as a fraction of the typical distance between two library photos."""


def embedding_distance(
    a: npt.NDArray[np.float32], b: npt.NDArray[np.float32], *, index: CodeIndex
) -> npt.NDArray[np.float32]:
    """The model's distance between continuous embeddings, row by row.

    Shape:
        a, b: ``(n, M * dsub)``; returns ``(n,)``.
    """
    return vector_distance(a, b, codebook=index.codebook, distance=index.distance)


def typical_distance(
    embeddings: npt.NDArray[np.float32], *, index: CodeIndex, seed: int = 0
) -> float:
    """Median distance between random pairs of photos: the scale of "different"."""
    n = len(embeddings)
    if n < 2:
        return 0.0
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n, size=_SCALE_SAMPLE)
    j = (i + rng.integers(1, n, size=_SCALE_SAMPLE)) % n
    return float(
        np.median(embedding_distance(embeddings[i], embeddings[j], index=index))
    )


def find_near_duplicates(
    index: CodeIndex,
    photo_ids: npt.NDArray[np.int64],
    embeddings: npt.NDArray[np.float32],
    *,
    max_distance: float | None = None,
    neighbours: int = 8,
    cancel: threading.Event | None = None,
) -> Generator[Progress, None, list[tuple[list[int], float]]]:
    """Group photos whose embeddings are within `max_distance` of each other.

    Args:
        index: Code index of the model that produced `embeddings`.
        photo_ids: Photos to group (e.g. a folder scope), ascending.
        embeddings: Their stored embeddings.
        max_distance: Pair threshold in the model's distance; default:
            `DEFAULT_RELATIVE_THRESHOLD` times `typical_distance`.
        neighbours: Candidates examined per photo.
        cancel: Stops early (the groups found so far are returned).

    Yields:
        `Progress` over the photos scanned.

    Returns:
        ``(member photo ids ascending, largest distance to the first member)`` per group,
        largest groups first.

    Shape:
        photo_ids: ``(n,)``; embeddings: ``(n, M * dsub)``.
    """
    n = len(photo_ids)
    meter = ProgressMeter("duplicates", n)
    if max_distance is None:
        max_distance = DEFAULT_RELATIVE_THRESHOLD * typical_distance(
            embeddings, index=index
        )
    parent = {int(p): int(p) for p in photo_ids}

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    allowed = np.zeros(index.size, dtype=bool)
    allowed[index.rows_of(photo_ids)] = True
    position = {int(p): i for i, p in enumerate(photo_ids)}
    k = min(neighbours + 1, max(1, index.size))
    for start in range(0, n, _QUERY_BATCH):
        if is_cancelled(cancel):
            break
        q_ids = photo_ids[start : start + _QUERY_BATCH]
        xq = embeddings[start : start + _QUERY_BATCH]  # (b, d)
        tables = distance_tables(
            xq, index.codebook, distance=index.distance
        )  # (b, M, ksub)
        self_rows = index.row_or_missing(q_ids)[:, None]  # (b, 1); -1 is ignored
        _, I = search(tables, index.packed, k, mask=allowed, exclude=self_rows)  # noqa: E741
        for b, qid in enumerate(q_ids):
            cand = [int(index.photo_ids[r]) for r in I[b] if r >= 0]
            cand = [c for c in cand if c in position]
            if not cand:
                continue
            other = embeddings[[position[c] for c in cand]]  # (c, d)
            dist = embedding_distance(
                np.repeat(xq[b : b + 1], len(cand), axis=0), other, index=index
            )
            for c, d in zip(cand, dist, strict=True):
                if d <= max_distance:
                    ra, rb = root(int(qid)), root(c)
                    if ra != rb:
                        parent[max(ra, rb)] = min(ra, rb)
        meter.advance(len(q_ids))
        yield meter.snapshot()
    groups: dict[int, list[int]] = {}
    for pid in parent:
        groups.setdefault(root(pid), []).append(pid)
    out: list[tuple[list[int], float]] = []
    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort()
        first = embeddings[[position[members[0]]] * (len(members) - 1)]
        rest = embeddings[[position[m] for m in members[1:]]]
        out.append((members, float(embedding_distance(first, rest, index=index).max())))
    out.sort(key=lambda g: (-len(g[0]), g[0][0]))
    return out
