"""Product-quantization codec and asymmetric distance tables, in numpy only.

The one implementation of the field's PQ distance (ARCHITECTURE.md, "Distance"),
shared by the app's search and training's evaluation. Must not import torch, faiss, Qt.
"""

from __future__ import annotations

import logging
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

Distance = Literal["subspace_l2", "squared_l2"]
"""ADC distance: ``"subspace_l2"`` sums per-subspace Euclidean distances (the field's
reference, METHOD.md); ``"squared_l2"`` sums squared ones (faiss ``IndexPQ``)."""

_DISTANCES: tuple[str, ...] = get_args(Distance)
_MAX_TABLE = 1e30  # bound on |table entries|: sums of up to 256 stay finite
_CHUNK_FLOATS = 1 << 22  # bounds the float32 temporaries of encode, distance_tables


def check_codebook(codebook: object) -> tuple[int, int, int]:
    """Validate a PQ codebook and return its sizes.

    Args:
        codebook: The codebook; must be a finite float32 numpy array.

    Returns:
        ``(M, ksub, dsub)``.

    Raises:
        TypeError: If ``codebook`` is not a numpy array of dtype float32.
        ValueError: If it is not 3-D, has an empty axis, ``ksub > 256`` (codes are
            uint8) or holds a non-finite value.

    Shape:
        codebook: ``(M, ksub, dsub)``.
    """
    if not isinstance(codebook, np.ndarray):
        raise TypeError(
            f"codebook must be a numpy array, got {type(codebook).__name__}"
        )
    if codebook.dtype != np.float32:
        raise TypeError(f"codebook must be float32, got dtype {codebook.dtype}")
    if codebook.ndim != 3:
        raise ValueError(
            f"codebook must have shape (M, ksub, dsub), got shape {codebook.shape}"
        )
    M, ksub, dsub = codebook.shape  # (codebooks, codewords, sub-dimension)
    if M < 1 or ksub < 1 or dsub < 1:
        raise ValueError(f"codebook has an empty axis: shape {codebook.shape}")
    if ksub > 256:
        raise ValueError(f"ksub must be <= 256 for uint8 codes, got ksub={ksub}")
    n_bad = int(np.count_nonzero(~np.isfinite(codebook)))
    if n_bad:
        raise ValueError(f"codebook holds {n_bad} non-finite value(s)")
    return M, ksub, dsub


def check_codes(
    codes: npt.ArrayLike, *, ksub: int, M: int | None = None
) -> npt.NDArray[np.uint8]:
    """Validate a PQ code table and return it as uint8.

    Args:
        codes: Integer codes, one column per subspace.
        ksub: Codewords per subspace; every code must lie in ``[0, ksub)``.
        M: Expected number of subspaces, or ``None`` to accept any.

    Returns:
        The codes as uint8 (the input itself when it already is uint8).

    Raises:
        TypeError: If ``codes`` is not of an integer dtype.
        ValueError: If it is not 2-D, has the wrong ``M``, or a code is out of range.

    Shape:
        codes: ``(n, M)``.
    """
    arr = np.asarray(codes)
    if arr.dtype == np.bool_ or arr.dtype.kind not in "ui":
        raise TypeError(f"codes must have an integer dtype, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"codes must have shape (n, M), got shape {arr.shape}")
    if M is not None and arr.shape[1] != M:
        raise ValueError(f"codes have M={arr.shape[1]} columns, expected M={M}")
    if arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi >= ksub:
            bad = lo if lo < 0 else hi
            raise ValueError(f"codes must lie in [0, ksub={ksub}), found {bad}")
    return arr.astype(np.uint8, copy=False)


def check_tables(
    tables: npt.ArrayLike, *, M: int | None = None, ksub: int | None = None
) -> npt.NDArray[np.float32]:
    """Validate ADC lookup tables and return them as C-contiguous float32.

    Entries must satisfy ``|value| <= 1e30`` (so finite), which keeps any sum of up to
    256 of them finite in float32.

    Args:
        tables: Tables as from :func:`distance_tables`, floating point.
        M: Expected number of subspaces, or ``None`` to accept any.
        ksub: Expected codewords per subspace, or ``None`` to accept any.

    Returns:
        The tables as float32 (the input itself when it already qualifies).

    Raises:
        TypeError: If ``tables`` is not floating point.
        ValueError: If it is not 3-D, has an empty or unexpected axis, or a value is
            non-finite or out of range.

    Shape:
        tables: ``(nq, M, ksub)``.
    """
    arr = _as_float32(tables, "tables")
    if arr.ndim != 3 or 0 in arr.shape[1:]:
        raise ValueError(f"tables must have shape (nq, M, ksub), got shape {arr.shape}")
    want = (arr.shape[1] if M is None else M, arr.shape[2] if ksub is None else ksub)
    if arr.shape[1:] != want:
        raise ValueError(
            f"tables have shape {arr.shape}, expected (nq, M, ksub)={want}"
        )
    if not (np.abs(arr) <= _MAX_TABLE).all():  # also catches NaN
        raise ValueError(f"tables must be finite with |value| <= {_MAX_TABLE:g}")
    return np.ascontiguousarray(arr)


def encode(x: npt.ArrayLike, codebook: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """Encode vectors by hard assignment to the nearest codeword of each subspace.

    ``codes[i, m] = argmin_k ||x_i^m - c^m_k||^2``; ties go to the smaller ``k``. Uses
    the expansion ``||c||^2 - 2 x.c`` in float32, like faiss, chunked over ``n``.

    Args:
        x: Vectors to encode, float (float64 is converted to float32).
        codebook: PQ codebook, float.

    Returns:
        The codes, uint8.

    Raises:
        TypeError: If an input is not floating point.
        ValueError: If a shape is wrong (``d != M * dsub``) or the codebook is invalid.

    Shape:
        x: ``(n, d)``; codebook: ``(M, ksub, dsub)``; returns ``(n, M)``.
    """
    cb = _as_float32(codebook, "codebook")
    M, ksub, dsub = check_codebook(cb)
    xb = _as_float32_matrix(x, "x", d=M * dsub)
    n = xb.shape[0]
    codes = np.empty((n, M), dtype=np.uint8)
    cb_t = cb.transpose(0, 2, 1)  # (M, dsub, ksub)
    cb_sq = np.einsum("mkd,mkd->mk", cb, cb)[:, None, :]  # (M, 1, ksub)
    step = max(1, _CHUNK_FLOATS // (M * ksub))
    for start in range(0, n, step):
        xs = xb[start : start + step].reshape(-1, M, dsub)  # (b, M, dsub)
        xs = xs.transpose(1, 0, 2)  # (M, b, dsub)
        dist = cb_sq - 2.0 * np.matmul(xs, cb_t)  # (M, b, ksub), ||x||^2 dropped
        codes[start : start + step] = dist.argmin(axis=2).T  # (b, M)
    return codes


def decode(codes: npt.ArrayLike, codebook: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Reconstruct vectors from their codes.

    Args:
        codes: Integer codes in ``[0, ksub)``.
        codebook: PQ codebook, float.

    Returns:
        The concatenated codewords, float32.

    Raises:
        TypeError: If ``codes`` is not integer or ``codebook`` not floating point.
        ValueError: If a shape is wrong or a code is ``>= ksub``.

    Shape:
        codes: ``(n, M)``; codebook: ``(M, ksub, dsub)``; returns ``(n, M * dsub)``.
    """
    cb = _as_float32(codebook, "codebook")
    M, ksub, dsub = check_codebook(cb)
    c = check_codes(codes, ksub=ksub, M=M)
    xr = cb[np.arange(M)[None, :], c]  # (n, M, dsub)
    return xr.reshape(c.shape[0], M * dsub)


def distance_tables(
    xq: npt.ArrayLike,
    codebook: npt.ArrayLike,
    *,
    distance: Distance = "subspace_l2",
) -> npt.NDArray[np.float32]:
    """Compute per-query ADC lookup tables: each sub-vector's distance to each codeword.

    The ADC distance of a query to a stored code is ``sum_m T[q, m, codes[m]]``.
    Differences are computed directly (not by expansion), chunked over queries.

    Args:
        xq: Query vectors, float (float64 is converted).
        codebook: PQ codebook, float.
        distance: ``"subspace_l2"`` (``||xq^m - c^m_k||``) or ``"squared_l2"``
            (``||xq^m - c^m_k||^2``).

    Returns:
        The tables, float32.

    Raises:
        TypeError: If an input is not floating point.
        ValueError: If a shape is wrong or ``distance`` is unknown.

    Shape:
        xq: ``(nq, d)``; codebook: ``(M, ksub, dsub)``; returns ``(nq, M, ksub)``.
    """
    if distance not in _DISTANCES:
        raise ValueError(f"distance must be one of {_DISTANCES}, got {distance!r}")
    cb = _as_float32(codebook, "codebook")
    M, ksub, dsub = check_codebook(cb)
    q = _as_float32_matrix(xq, "xq", d=M * dsub)
    nq = q.shape[0]
    tables = np.empty((nq, M, ksub), dtype=np.float32)
    step = max(1, _CHUNK_FLOATS // (M * ksub * dsub))
    for start in range(0, nq, step):
        qs = q[start : start + step].reshape(-1, M, 1, dsub)  # (b, M, 1, dsub)
        diff = qs - cb[None]  # (b, M, ksub, dsub)
        tables[start : start + step] = np.einsum("bmkd,bmkd->bmk", diff, diff)
    if distance == "subspace_l2":
        np.sqrt(tables, out=tables)  # (nq, M, ksub)
    return tables


def _as_float32(a: npt.ArrayLike, name: str) -> npt.NDArray[np.float32]:
    """Return ``a`` as a float32 array, refusing non-floating dtypes."""
    arr = np.asarray(a)
    if arr.dtype.kind != "f":
        raise TypeError(f"{name} must be floating point, got dtype {arr.dtype}")
    return arr.astype(np.float32, copy=False)


def _as_float32_matrix(
    a: npt.ArrayLike, name: str, *, d: int
) -> npt.NDArray[np.float32]:
    """Return ``a`` as a C-contiguous float32 ``(n, d)`` array, or raise."""
    arr = _as_float32(a, name)
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (n, d={d}), got shape {arr.shape}")
    if arr.shape[1] != d:
        raise ValueError(f"{name} has d={arr.shape[1]}, expected d=M*dsub={d}")
    return np.ascontiguousarray(arr)
