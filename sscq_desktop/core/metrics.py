"""Retrieval metrics of METHOD.md's evaluation protocol: relevance, AP, mAP@N, P@N.

Pure numpy, shared by training's evaluation and the app's benchmarks. Must not import
torch, faiss or Qt. Ranking (and the fixed database permutation that protocol asks for)
is the caller's job; these functions only score a given ``I``.
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

_CHUNK_BOOLS = 1 << 24  # bound on the (q, N, C) temporary of multi-label relevance


def relevance(
    I: npt.ArrayLike,  # noqa: E741 (faiss vocabulary)
    query_labels: npt.ArrayLike,
    db_labels: npt.ArrayLike,
) -> npt.NDArray[np.bool_]:
    """Mark which retrieved items are relevant to their query.

    Single-label: relevant means the same label. Multi-label (multi-hot rows): relevant
    means sharing at least one label. Empty slots (``I == -1``) are never relevant.

    Args:
        I: Retrieved database ids, as returned by a search; ``-1`` for empty slots.
        query_labels: Integer labels ``(nq,)`` or multi-hot ``(nq, C)`` (bool or 0/1).
        db_labels: Integer labels ``(n,)`` or multi-hot ``(n, C)``, same kind as
            ``query_labels``.

    Returns:
        Relevance flags, bool.

    Raises:
        TypeError: If ``I`` is not integer, or labels are of a non-integer dtype.
        ValueError: If shapes disagree, an id is out of ``[-1, n)``, or multi-hot labels
            hold values other than 0 and 1.

    Shape:
        I: ``(nq, N)``; returns ``(nq, N)``.
    """
    ids = np.asarray(I)
    if ids.dtype == np.bool_ or ids.dtype.kind not in "ui":
        raise TypeError(f"I must hold integer ids, got dtype {ids.dtype}")
    if ids.ndim != 2:
        raise ValueError(f"I must have shape (nq, N), got shape {ids.shape}")
    q = _as_labels(query_labels, "query_labels")
    db = _as_labels(db_labels, "db_labels")
    nq, n = ids.shape[0], db.shape[0]
    if q.ndim != db.ndim or q.shape[1:] != db.shape[1:]:
        raise ValueError(
            "query_labels and db_labels must both be (n,) labels or both (n, C) "
            f"multi-hot, got shapes {q.shape} and {db.shape}"
        )
    if q.shape[0] != nq:
        raise ValueError(f"query_labels has {q.shape[0]} rows but I has nq={nq}")
    if ids.size and (ids.min() < -1 or ids.max() >= n):
        bad = ids.min() if ids.min() < -1 else ids.max()
        raise ValueError(f"ids in I must lie in [-1, n={n}), found {bad}")
    valid = ids >= 0  # (nq, N)
    safe = np.where(valid, ids, 0)  # (nq, N)
    if q.ndim == 1:
        same: npt.NDArray[np.bool_] = db[safe] == q[:, None]  # (nq, N)
        return valid & same
    rel = np.empty(ids.shape, dtype=np.bool_)
    step = max(1, _CHUNK_BOOLS // max(1, ids.shape[1] * q.shape[1]))
    for start in range(0, nq, step):
        stop = start + step
        shared = np.logical_and(
            db[safe[start:stop]], q[start:stop, None, :]
        )  # (b, N, C)
        rel[start:stop] = shared.any(axis=2)  # (b, N)
    return rel & valid


def average_precision(rel: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Compute AP over the given top-N columns of each query.

    ``AP = (1 / R) * sum_r rel_r * precision@r`` with ``R`` the number of relevant items
    in the top N; a query with ``R = 0`` scores 0 (METHOD.md).

    Args:
        rel: Relevance flags in rank order, bool or 0/1.

    Returns:
        One AP per query, float64.

    Raises:
        TypeError: If ``rel`` is neither bool nor integer.
        ValueError: If it is not 2-D or holds values other than 0 and 1.

    Shape:
        rel: ``(nq, N)``; returns ``(nq,)``.
    """
    r = _as_flags(rel, "rel")
    if r.ndim != 2:
        raise ValueError(f"rel must have shape (nq, N), got shape {r.shape}")
    hits = np.cumsum(r, axis=1, dtype=np.float64)  # (nq, N)
    precision = hits / np.arange(1, r.shape[1] + 1, dtype=np.float64)  # (nq, N)
    total = hits[:, -1] if r.shape[1] else np.zeros(r.shape[0])  # (nq,) = R
    summed = (precision * r).sum(axis=1)  # (nq,)
    ap: npt.NDArray[np.float64] = np.zeros_like(summed)
    np.divide(summed, total, out=ap, where=total > 0)
    return ap


def mean_average_precision(
    I: npt.ArrayLike,  # noqa: E741 (faiss vocabulary)
    query_labels: npt.ArrayLike,
    db_labels: npt.ArrayLike,
    *,
    n: int,
) -> float:
    """Compute mAP@n: the mean over queries of AP over the first ``n`` results.

    Args:
        I: Retrieved ids in rank order, at least ``n`` columns; ``-1`` for empty slots.
        query_labels: Labels of the queries, as in :func:`relevance`.
        db_labels: Labels of the database, as in :func:`relevance`.
        n: Cut-off N (1000 for CIFAR-10, METHOD.md).

    Returns:
        mAP@n.

    Raises:
        ValueError: If ``n < 1``, ``I`` has fewer than ``n`` columns or no rows, or the
            inputs are invalid (see :func:`relevance`).
        TypeError: As in :func:`relevance`.

    Shape:
        I: ``(nq, >= n)``.
    """
    rel = relevance(_first_columns(I, n), query_labels, db_labels)  # (nq, n)
    return float(average_precision(rel).mean())


def precision_at(
    I: npt.ArrayLike,  # noqa: E741 (faiss vocabulary)
    query_labels: npt.ArrayLike,
    db_labels: npt.ArrayLike,
    *,
    n: int,
) -> float:
    """Compute P@n: the mean over queries of (relevant items in the top ``n``) / ``n``.

    Empty slots (``I == -1``) count as non-relevant, so the divisor is always ``n``.

    Args:
        I: Retrieved ids in rank order, at least ``n`` columns.
        query_labels: Labels of the queries, as in :func:`relevance`.
        db_labels: Labels of the database, as in :func:`relevance`.
        n: Cut-off.

    Returns:
        P@n.

    Raises:
        ValueError: As in :func:`mean_average_precision`.
        TypeError: As in :func:`relevance`.

    Shape:
        I: ``(nq, >= n)``.
    """
    rel = relevance(_first_columns(I, n), query_labels, db_labels)  # (nq, n)
    return float((rel.sum(axis=1) / n).mean())


def _first_columns(I: npt.ArrayLike, n: int) -> npt.NDArray[np.generic]:  # noqa: E741
    """Return the first ``n`` columns of a non-empty 2-D ``I``, or raise."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be an int >= 1, got n={n!r}")
    ids = np.asarray(I)
    if ids.ndim != 2:
        raise ValueError(f"I must have shape (nq, N), got shape {ids.shape}")
    if ids.shape[1] < n:
        raise ValueError(f"I has {ids.shape[1]} columns, fewer than n={n}")
    if ids.shape[0] == 0:
        raise ValueError("I has no queries (nq=0)")
    return ids[:, :n]


def _as_labels(labels: npt.ArrayLike, name: str) -> npt.NDArray[np.generic]:
    """Return integer ``(n,)`` labels, or bool ``(n, C)`` multi-hot rows; or raise."""
    arr = np.asarray(labels)
    if arr.ndim == 1:
        if arr.dtype == np.bool_ or arr.dtype.kind not in "ui":
            raise TypeError(f"{name} (n,) must hold integer labels, got {arr.dtype}")
        return arr
    if arr.ndim == 2:
        return _as_flags(arr, name)
    raise ValueError(f"{name} must have shape (n,) or (n, C), got shape {arr.shape}")


def _as_flags(a: npt.ArrayLike, name: str) -> npt.NDArray[np.bool_]:
    """Return a bool copy of a bool or 0/1 integer array, or raise."""
    arr = np.asarray(a)
    if arr.dtype == np.bool_:
        return arr
    if arr.dtype.kind not in "ui":
        raise TypeError(f"{name} must be bool or 0/1 integers, got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() > 1):
        bad = arr.min() if arr.min() < 0 else arr.max()
        raise ValueError(f"{name} must hold only 0 and 1, found {bad}")
    return arr.astype(np.bool_)
