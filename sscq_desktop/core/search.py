"""Exhaustive asymmetric-distance (ADC) search over PQ codes with exact top-k.

Serves the app's search and training's evaluation. Numpy only: must not import torch,
faiss or Qt, nor loop in Python over database items (loops over queries/subspaces only).
"""
# ruff: noqa: E741 (faiss vocabulary: M, D, I)

from __future__ import annotations

import logging
import math
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from sscq_desktop.core.pq import Distance, check_codes, check_tables, distance_tables

logger = logging.getLogger(__name__)

_SAMPLE_SIZE = 4096  # strided sample used to guess the k-th distance
_TABLE_CHUNK = 256  # queries whose pair tables are built at once


class PackedCodes:
    """An ``(n, M)`` uint8 code table laid out for fast single-query scans.

    With ``ksub <= 16`` two 4-bit codes are packed into one byte
    (``codes[:, 2j] * 16 + codes[:, 2j + 1]``) and scanned with 256-entry pair tables
    ``T2[j] = T[2j][:, None] + T[2j + 1][None, :]``: half the gathers of a naive scan
    (about 4 ms instead of 20-26 ms for n = 1M, M = 8 on this 2-core machine). An odd
    last subspace, or every subspace when ``ksub > 16``, is gathered on its own. Codes
    are stored transposed, ``(pairs, n)``, so each gather reads a contiguous row.

    Shape:
        codes: ``(n, M)``.
    """

    def __init__(self, codes: npt.ArrayLike, ksub: int) -> None:
        """Validate and pack ``codes``.

        Args:
            codes: Integer codes in ``[0, ksub)``.
            ksub: Codewords per subspace, 1 to 256.

        Raises:
            TypeError: If ``codes`` is not integer or ``ksub`` not an int.
            ValueError: If ``ksub`` is out of range, ``codes`` is not 2-D or holds a
                code ``>= ksub``.
        """
        ksub = _check_int(ksub, "ksub", low=1, high=256)
        c = check_codes(codes, ksub=ksub)
        n, M = c.shape  # (items, subspaces)
        if M < 1:
            raise ValueError(f"codes need at least one column, got shape {c.shape}")
        self._n: int = int(n)
        self._M: int = int(M)
        self._ksub: int = ksub
        n_pairs = M // 2 if ksub <= 16 else 0
        hi, lo = c[:, 0 : 2 * n_pairs : 2], c[:, 1 : 2 * n_pairs : 2]  # (n, n_pairs)
        self._pairs = np.ascontiguousarray((hi * 16 + lo).T)  # (n_pairs, n), uint8
        self._singles = np.ascontiguousarray(c[:, 2 * n_pairs :].T)  # (M - 2p, n)

    @property
    def n(self) -> int:
        """Number of stored codes."""
        return self._n

    @property
    def M(self) -> int:
        """Number of subspaces."""
        return self._M

    @property
    def ksub(self) -> int:
        """Codewords per subspace."""
        return self._ksub

    def scan(self, tables: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Compute the ADC distance of one query to every stored code.

        Args:
            tables: The query's lookup table, as from ``distance_tables(...)[i]``.

        Returns:
            ``sum_m tables[m, codes[:, m]]``, float32.

        Raises:
            TypeError: If ``tables`` is not floating point.
            ValueError: If its shape is not ``(M, ksub)`` or it is out of range.

        Shape:
            tables: ``(M, ksub)``; returns ``(n,)``.
        """
        if np.ndim(tables) != 2:
            raise ValueError(f"scan takes one (M, ksub) table, got {np.shape(tables)}")
        t = check_tables(np.asarray(tables)[None], M=self._M, ksub=self._ksub)
        return next(self._scans(t))  # a fresh buffer per call

    def _scans(self, t: npt.NDArray[np.float32]) -> Iterator[npt.NDArray[np.float32]]:
        """Yield each query's distances in turn, in one reused ``(n,)`` buffer."""
        p = 2 * len(self._pairs)
        row = np.empty(self._n, dtype=np.float32)
        for start in range(0, t.shape[0], _TABLE_CHUNK):
            tc = t[start : start + _TABLE_CHUNK]  # (b, M, ksub)
            pair_tables = self._pair_tables(tc)  # (b, p / 2, 256)
            for b in range(tc.shape[0]):
                self._scan_into(pair_tables[b], tc[b, p:], row)  # (n,)
                yield row

    def _pair_tables(self, t: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Build 256-entry pair tables for a batch of queries, ``(q, n_pairs, 256)``."""
        q, p = t.shape[0], len(self._pairs)  # p > 0 only if ksub <= 16
        t16 = np.zeros((q, 2 * p, 16), dtype=np.float32)  # codes never reach padding
        t16[:, :, : self._ksub] = t[:, : 2 * p, :16]
        t2 = t16[:, 0::2, :, None] + t16[:, 1::2, None, :]  # (q, p, 16, 16)
        return t2.reshape(q, p, 256)

    def _scan_into(
        self,
        pair_tables: npt.NDArray[np.float32],
        single_tables: npt.NDArray[np.float32],
        out: npt.NDArray[np.float32],
    ) -> None:
        """Write one query's distances into ``out``; tables (p, 256) and (s, ksub)."""
        # mode="clip" skips per-element bounds checks: codes were range-checked.
        gathers = list(zip(pair_tables, self._pairs, strict=True))
        gathers += zip(single_tables, self._singles, strict=True)
        np.take(gathers[0][0], gathers[0][1], out=out, mode="clip")  # (n,)
        for table, codes in gathers[1:]:
            out += np.take(table, codes, mode="clip")  # (n,)


def search(
    tables: npt.ArrayLike,
    codes: npt.ArrayLike | PackedCodes,
    k: int,
    *,
    mask: npt.ArrayLike | None = None,
    exclude: npt.ArrayLike | None = None,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Return the exact ``k`` nearest codes of each query by ADC distance.

    Results equal a stable full sort by ``(distance, database index)``. Per query, the
    k-th distance is bracketed by a threshold taken from a strided sample of the
    distances, so only the few items under it are sorted; a full ``np.partition`` is the
    fallback. Memory is O(n) beyond the inputs; queries are processed one at a time.
    Table entries are bounded (:func:`check_tables`), so sums stay finite and NaN can
    mark blocked items.

    Args:
        tables: ADC lookup tables from :func:`distance_tables`, float.
        codes: The database, an integer ``(n, M)`` array or a :class:`PackedCodes`
            (pack once and reuse it for repeated searches).
        k: Number of results per query, ``>= 1``.
        mask: Optional bool array: only items where it is True are returned (scope).
        exclude: Optional ids never returned (e.g. the query itself): a 1-D array
            applies to every query, a 2-D ``(nq, e)`` array row-wise. ``-1`` is ignored.

    Returns:
        ``(D, I)``: distances ascending (float32) and database ids (int64). Slots past
        the available items hold ``I = -1`` and ``D = +inf``, as in faiss.

    Raises:
        TypeError: If an argument has the wrong type or dtype.
        ValueError: If a shape or value is out of range, or ``tables`` and ``codes``
            disagree on ``M`` or ``ksub``.

    Shape:
        tables: ``(nq, M, ksub)``; mask: ``(n,)``; returns ``(nq, k)`` twice.
    """
    t = check_tables(tables)  # (nq, M, ksub)
    packed = codes if isinstance(codes, PackedCodes) else PackedCodes(codes, t.shape[2])
    t = check_tables(t, M=packed.M, ksub=packed.ksub)  # same sizes as the codes
    nq, n = t.shape[0], packed.n
    k = _check_int(k, "k", low=1, high=2**62)
    blocked = _check_blocked(mask, n)  # (n,) bool or None
    n_allowed = n if blocked is None else n - int(np.count_nonzero(blocked))
    excl = _check_exclude(exclude, n=n, nq=nq)  # (nq or 1, e)

    D = np.full((nq, k), np.inf, dtype=np.float32)
    I = np.full((nq, k), -1, dtype=np.int64)
    for qi, row in enumerate(packed._scans(t)):  # row: (n,), reused
        n_avail = n_allowed
        if blocked is not None:
            np.copyto(row, np.nan, where=blocked)  # NaN never passes `<=`
        if excl is not None:
            ids = np.unique(excl[qi if len(excl) > 1 else 0])
            ids = ids[ids >= 0]
            if blocked is not None:
                ids = ids[~blocked[ids]]
            row[ids] = np.nan
            n_avail -= ids.size
        dk, ik = _top_k(row, min(k, n_avail), n_avail=n_avail)
        D[qi, : dk.size], I[qi, : ik.size] = dk, ik
    return D, I


def adc_search(
    xq: npt.ArrayLike,
    codebook: npt.ArrayLike,
    codes: npt.ArrayLike | PackedCodes,
    k: int,
    *,
    distance: Distance = "subspace_l2",
    mask: npt.ArrayLike | None = None,
    exclude: npt.ArrayLike | None = None,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Search float queries against PQ codes: :func:`distance_tables`, :func:`search`.

    Args:
        xq: Query vectors, float.
        codebook: PQ codebook, float.
        codes: Database codes, ``(n, M)`` integer array or :class:`PackedCodes`.
        k: Number of results per query.
        distance: ``"subspace_l2"`` (the field's reference) or ``"squared_l2"``.
        mask: Optional bool ``(n,)`` scope, as in :func:`search`.
        exclude: Optional ids never returned, as in :func:`search`.

    Returns:
        ``(D, I)`` as in :func:`search`.

    Raises:
        TypeError: As in :func:`distance_tables` and :func:`search`.
        ValueError: As in :func:`distance_tables` and :func:`search`.

    Shape:
        xq: ``(nq, d)``; codebook: ``(M, ksub, dsub)``; returns ``(nq, k)`` twice.
    """
    tables = distance_tables(xq, codebook, distance=distance)  # (nq, M, ksub)
    return search(tables, codes, k, mask=mask, exclude=exclude)


def _top_k(
    dist: npt.NDArray[np.float32], k: int, *, n_avail: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Exact top-``k`` of one row by ``(distance, index)``; NaN marks blocked items."""
    if k <= 0:
        return np.empty(0, np.float32), np.empty(0, np.int64)
    thr = _estimate_threshold(dist, k, n_avail=n_avail)
    cand = None if thr is None else np.flatnonzero(dist <= thr)  # (c,)
    if cand is None or cand.size < k:  # exact k-th value; NaN sorts last
        cand = np.flatnonzero(dist <= np.partition(dist, k - 1)[k - 1])
    dc = dist[cand]  # (c,)
    if cand.size > k:
        kth = np.partition(dc, k - 1)[k - 1]
        below = np.flatnonzero(dc < kth)
        # flatnonzero is ascending, so ties at the k-th value go to the smallest ids.
        at = np.flatnonzero(dc == kth)[: k - below.size]
        keep = np.concatenate((below, at))
        cand, dc = cand[keep], dc[keep]
    order = np.lexsort((cand, dc))  # by distance, then index
    return dc[order], cand[order].astype(np.int64, copy=False)


def _estimate_threshold(
    dist: npt.NDArray[np.float32], k: int, *, n_avail: int
) -> np.float32 | None:
    """Guess a distance with at least ``k`` items under it, or None to sort fully."""
    n = dist.size
    if n < 4 * _SAMPLE_SIZE:
        return None
    sample = dist[:: n // _SAMPLE_SIZE]  # (about 4096 to 8192,)
    expected = k * sample.size / max(n_avail, 1)
    # about 4 binomial sigmas over the expected rank, so a miss is rare
    rank = int(expected + 4.0 * math.sqrt(expected) + 8.0)
    if rank >= sample.size:
        return None
    thr = np.partition(sample, rank)[rank]
    return None if np.isnan(thr) else thr


def _check_int(value: int, name: str, *, low: int, high: int) -> int:
    """Return ``value`` as an int in ``[low, high]``, or raise."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {name}={value}")
    return int(value)


def _check_blocked(mask: npt.ArrayLike | None, n: int) -> npt.NDArray[np.bool_] | None:
    """Return ``~mask`` for a bool ``(n,)`` mask, None for no mask, or raise."""
    if mask is None:
        return None
    arr = np.asarray(mask)
    if arr.dtype != np.bool_:
        raise TypeError(f"mask must be a bool array, got dtype {arr.dtype}")
    if arr.shape != (n,):
        raise ValueError(f"mask must have shape (n={n},), got shape {arr.shape}")
    return ~arr


def _check_exclude(
    exclude: npt.ArrayLike | None, *, n: int, nq: int
) -> npt.NDArray[np.int64] | None:
    """Return exclusions as an ``(nq or 1, e)`` int64 array or None; raise if bad."""
    if exclude is None:
        return None
    arr = np.asarray(exclude)
    if arr.dtype == np.bool_ or arr.dtype.kind not in "ui":
        raise TypeError(f"exclude must hold integer ids, got dtype {arr.dtype}")
    if arr.ndim == 1:
        arr = arr[None, :]
    elif arr.ndim != 2 or arr.shape[0] != nq:
        raise ValueError(f"exclude must be 1-D or (nq={nq}, e), got shape {arr.shape}")
    if arr.size and (arr.min() < -1 or arr.max() >= n):
        bad = arr.min() if arr.min() < -1 else arr.max()
        raise ValueError(f"exclude ids must lie in [-1, n={n}), found {bad}")
    return arr.astype(np.int64, copy=False)
