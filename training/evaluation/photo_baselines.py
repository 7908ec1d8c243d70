"""Photo-retrieval baselines without learning: perceptual hashes and colour histograms.

What a photo app could use instead of learned codes: the `imagehash` package's pHash,
dHash, wavelet hash and colour hash (ranked by Hamming distance), and a joint RGB colour
histogram (ranked by L1 distance, which orders like histogram intersection for
normalised histograms). Also exhaustive L2 / cosine ranking of continuous embeddings,
the upper bound a model's PQ codes lose against.

Ranking follows METHOD.md's protocol, as `training.evaluation.retrieval.score_retrieval`
does for PQ codes: the database is reordered by a fixed, recorded permutation before
ranking, and equal distances (common with Hamming distances) go to the smaller index in
that permuted order; mAP and precision come from `sscq_desktop.core`. Ranking is
exhaustive and vectorised over query chunks. `imagehash` (the ``bench`` extra) is
imported only where a hash is computed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps

from sscq_desktop.core import mean_average_precision, precision_at
from training.data.image_folder import class_of, decode_images, list_images
from training.data.sources import holdout_split
from training.evaluation.retrieval import DATABASE_PERMUTATION_SEED

logger = logging.getLogger(__name__)

Metric = Literal["hamming", "l1", "l2", "cosine"]
"""Exhaustive distances: Hamming on 0/1 bit rows, L1, Euclidean, 1 - cosine."""

HASH_METHODS: tuple[str, ...] = ("phash", "dhash", "whash", "colorhash")
HASH_BITS: dict[str, int] = {"phash": 64, "dhash": 64, "whash": 64, "colorhash": 42}
"""Bits per photo of each hash at imagehash's defaults (hash_size 8; colorhash 14 x 3)."""

_CHUNK_FLOATS = 1 << 24  # bound on the (q, Nb, d) temporary of the L1 distance


@dataclass(frozen=True)
class PhotoSplit:
    """The trainer's fixed-seed split of a labeled photo folder, with file paths.

    Attributes:
        paths: Readable photos in the trainer's order (sorted, broken files dropped).
        labels: Class index of each path (first-level subfolder, sorted names).
        classes: Class folder names.
        database: Indices into `paths` of the database (the trainer's training rows).
        queries: Indices into `paths` of the held-out queries.
        holdout_fraction: Fraction held out.
        split_seed: Seed of the split.

    Shape:
        labels: (N,) int64; database: (Nb,) int64; queries: (Nq,) int64.
    """

    paths: list[Path]
    labels: npt.NDArray[np.int64]
    classes: list[str]
    database: npt.NDArray[np.int64]
    queries: npt.NDArray[np.int64]
    holdout_fraction: float
    split_seed: int


def photo_split(
    root: str | Path,
    *,
    holdout_fraction: float,
    split_seed: int,
    size: int,
    policy: str,
    cache_dir: str = "",
) -> PhotoSplit:
    """Split a labeled folder exactly as `training.data.sources` does for training.

    Same steps and functions as the trainer's folder loader: `list_images`, dropping the
    files `decode_images` cannot read (decoded at `size` with `policy`, cached), labels
    from `class_of`, then `holdout_split`. Queries were never trained on.

    Raises:
        ValueError: if the folder has fewer than two class subfolders or no readable
            image, or `holdout_fraction` is not in (0, 1).
    """
    if not 0.0 < holdout_fraction < 1.0:
        raise ValueError(f"holdout_fraction must be in (0, 1), got {holdout_fraction}")
    base = Path(root)
    decoded = decode_images(
        list_images(base), size=size, policy=policy, cache_dir=cache_dir
    )
    if not decoded.paths:
        raise ValueError(f"no readable images under {base}")
    classes = sorted({class_of(p, base) for p in decoded.paths})
    if len(classes) < 2 or "" in classes:
        raise ValueError(
            f"{base} needs two or more class subfolders holding every photo"
        )
    labels = np.array([classes.index(class_of(p, base)) for p in decoded.paths])
    db_idx, q_idx = holdout_split(
        len(labels), fraction=holdout_fraction, seed=split_seed
    )
    return PhotoSplit(
        decoded.paths, labels.astype(np.int64), classes, db_idx, q_idx,
        holdout_fraction, split_seed,
    )  # fmt: skip


def load_photo(path: str | Path) -> Image.Image:
    """Decode a photo file upright (EXIF orientation applied) as 8-bit RGB.

    Raises:
        OSError: if Pillow cannot read the file.
    """
    with Image.open(path) as img:
        upright = ImageOps.exif_transpose(img)
        rgb = upright.convert("RGB")
    rgb.load()
    return rgb


def hash_bits(image: Image.Image, method: str) -> npt.NDArray[np.uint8]:
    """The bits of one perceptual hash of `image`, as a 0/1 row.

    Args:
        image: A decoded image (any mode; imagehash converts it).
        method: One of `HASH_METHODS`.

    Returns:
        ``HASH_BITS[method]`` values in {0, 1}, uint8, in imagehash's bit order.

    Raises:
        ValueError: for an unknown method.
    """
    import imagehash

    funcs: dict[str, Callable[[Image.Image], Any]] = {
        "phash": imagehash.phash,
        "dhash": imagehash.dhash,
        "whash": imagehash.whash,
        "colorhash": imagehash.colorhash,
    }
    if method not in funcs:
        raise ValueError(f"unknown hash {method!r}; use one of {HASH_METHODS}")
    bits = np.asarray(funcs[method](image).hash, dtype=bool).reshape(-1)
    return bits.astype(np.uint8)


def color_histogram(image: Image.Image, *, bins: int = 8) -> npt.NDArray[np.float32]:
    """Joint RGB histogram with `bins` levels per channel, normalised to sum 1.

    Args:
        image: A decoded image (converted to RGB here).
        bins: Levels per channel; a power of two up to 256.

    Returns:
        Bin ``(r * bins + g) * bins + b`` holds the fraction of pixels in that colour cell.

    Shape:
        Output: (bins ** 3,) float32.

    Raises:
        ValueError: if `bins` is not a power of two in [1, 256].
    """
    if bins < 1 or bins > 256 or bins & (bins - 1):
        raise ValueError(f"bins must be a power of two in [1, 256], got {bins}")
    rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)  # (H, W, 3)
    shift = 8 - (bins.bit_length() - 1)
    q = (rgb >> shift).astype(np.int64).reshape(-1, 3)  # (H*W, 3) in [0, bins)
    cell = (q[:, 0] * bins + q[:, 1]) * bins + q[:, 2]  # (H*W,)
    counts = np.bincount(cell, minlength=bins**3).astype(np.float64)
    total = counts.sum()
    hist = counts / total if total > 0 else counts
    return hist.astype(np.float32)


@dataclass
class PhotoFeatures:
    """Hashes and colour histograms of a list of photos, with the time each took.

    Attributes:
        bits: Per hash method, 0/1 rows ``(n, HASH_BITS[method])`` uint8.
        histograms: ``(n, bins ** 3)`` float32 colour histograms.
        seconds: Wall time per feature kind, plus ``"decode"`` (shared by all).
        n_broken: Files that could not be decoded (their rows are all zero).
    """

    bits: dict[str, npt.NDArray[np.uint8]]
    histograms: npt.NDArray[np.float32]
    seconds: dict[str, float] = field(default_factory=dict)
    n_broken: int = 0


def photo_features(
    paths: Sequence[str | Path],
    *,
    methods: Sequence[str] = HASH_METHODS,
    histogram_bins: int = 8,
) -> PhotoFeatures:
    """Decode each photo once (full resolution) and compute every hash and its histogram.

    A file that fails to decode is logged, counted and left as an all-zero row (the
    benchmark's split only holds files the trainer could read, so this is a safety net).
    """
    n = len(paths)
    bits = {m: np.zeros((n, HASH_BITS[m]), dtype=np.uint8) for m in methods}
    hists = np.zeros((n, histogram_bins**3), dtype=np.float32)
    seconds = dict.fromkeys(["decode", *methods, "histogram"], 0.0)
    n_broken = 0
    for i, path in enumerate(paths):
        t0 = time.perf_counter()
        try:
            image = load_photo(path)
        except Exception as exc:  # any decoder error: count it, keep a zero row
            logger.warning("cannot read %s: %s", path, exc)
            n_broken += 1
            continue
        t1 = time.perf_counter()
        seconds["decode"] += t1 - t0
        for method in methods:
            bits[method][i] = hash_bits(image, method)
            t2 = time.perf_counter()
            seconds[method] += t2 - t1
            t1 = t2
        hists[i] = color_histogram(image, bins=histogram_bins)
        seconds["histogram"] += time.perf_counter() - t1
        if (i + 1) % 1000 == 0:
            logger.info("hashed %d of %d photos", i + 1, n)
    return PhotoFeatures(bits, hists, seconds, n_broken)


def distances(
    query: npt.NDArray[Any], database: npt.NDArray[Any], *, metric: Metric
) -> npt.NDArray[np.float64]:
    """All query-to-database distances of one metric, by matrix operations.

    Hamming distances are exact integers (computed as ``|q| + |d| - 2 q.d`` on 0/1 rows).

    Shape:
        query: (q, d); database: (Nb, d) -> (q, Nb).

    Raises:
        ValueError: for an unknown metric or mismatched dimensions.
    """
    if query.ndim != 2 or database.ndim != 2 or query.shape[1] != database.shape[1]:
        raise ValueError(
            f"query {query.shape} and database {database.shape} must be (n, d) alike"
        )
    if metric == "hamming":
        if query.shape[1] >= 1 << 24:
            raise ValueError("too many bits for exact float32 Hamming distances")
        q = query.astype(np.float32)  # (q, d) in {0, 1}
        db = database.astype(np.float32)  # (Nb, d)
        both = q @ db.T  # (q, Nb) bits set in both; integer sums are exact in float32
        ham = q.sum(1)[:, None] + db.sum(1)[None, :] - 2.0 * both  # (q, Nb)
        hamming: npt.NDArray[np.float64] = ham.astype(np.float64)
        return hamming
    if metric == "l1":
        qf, dbf = query.astype(np.float32), database.astype(np.float32)
        out = np.empty((len(qf), len(dbf)), dtype=np.float64)
        step = max(1, _CHUNK_FLOATS // max(1, dbf.size))
        for start in range(0, len(qf), step):
            block = qf[start : start + step, None, :]  # (b, 1, d)
            out[start : start + step] = np.abs(block - dbf[None]).sum(axis=2)
        return out
    if metric == "l2":
        q64, db64 = query.astype(np.float64), database.astype(np.float64)
        sq = (q64**2).sum(1)[:, None] - 2.0 * q64 @ db64.T + (db64**2).sum(1)[None]
        l2: npt.NDArray[np.float64] = np.sqrt(np.maximum(sq, 0.0))  # (q, Nb)
        return l2
    if metric == "cosine":
        qn = _unit_rows(query.astype(np.float64))
        dn = _unit_rows(database.astype(np.float64))
        return 1.0 - qn @ dn.T  # (q, Nb)
    raise ValueError(f"unknown metric {metric!r}; use hamming, l1, l2 or cosine")


def rank_exhaustive(
    query: npt.NDArray[Any],
    database: npt.NDArray[Any],
    k: int,
    *,
    metric: Metric,
    chunk: int = 256,
) -> npt.NDArray[np.int64]:
    """The `k` nearest database rows of each query, ties broken by database index.

    A stable sort of each query's full distance row: the result equals sorting by
    ``(distance, index)``, the order `sscq_desktop.core.search` returns for PQ codes.

    Shape:
        query: (Nq, d); database: (Nb, d) -> (Nq, min(k, Nb)) int64 ids.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    k = min(k, len(database))
    out = np.empty((len(query), k), dtype=np.int64)
    for start in range(0, len(query), chunk):
        dist = distances(query[start : start + chunk], database, metric=metric)
        out[start : start + chunk] = np.argsort(dist, axis=1, kind="stable")[:, :k]
    return out


def score_exhaustive(
    query: npt.NDArray[Any],
    database: npt.NDArray[Any],
    *,
    metric: Metric,
    query_labels: npt.NDArray[np.int64],
    database_labels: npt.NDArray[np.int64],
    top_n: int,
    precision_k: int | None = None,
    permutation_seed: int = DATABASE_PERMUTATION_SEED,
) -> dict[str, Any]:
    """mAP@top_n (and precision@k) of exhaustive ranking, under METHOD.md's protocol.

    The database is reordered by ``default_rng(permutation_seed).permutation(Nb)``
    before ranking, as in `training.evaluation.retrieval.score_retrieval`, so ties
    never favour the classes stored first.

    Returns:
        ``{"map", "map_at", "precision", "precision_at", "n_queries", "n_database",
        "permutation_seed", "distinct_rows", "metric"}`` (precision keys only with
        `precision_k`).

    Shape:
        query: (Nq, d); database: (Nb, d); labels: (Nq,), (Nb,).
    """
    nb = len(database)
    perm = np.random.default_rng(permutation_seed).permutation(nb)
    db, db_labels = database[perm], database_labels[perm]
    n = min(top_n, nb)
    ids = rank_exhaustive(query, db, max(n, precision_k or 0), metric=metric)
    result: dict[str, Any] = {
        "map": mean_average_precision(ids, query_labels, db_labels, n=n),
        "map_at": n,
        "n_queries": len(query),
        "n_database": nb,
        "permutation_seed": permutation_seed,
        "distinct_rows": int(len(np.unique(database, axis=0))),
        "metric": metric,
    }
    if precision_k:
        result["precision"] = precision_at(
            ids, query_labels, db_labels, n=min(precision_k, nb)
        )
        result["precision_at"] = min(precision_k, nb)
    return result


def _unit_rows(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    out: npt.NDArray[np.float64] = x / np.maximum(norm, 1e-12)
    return out
