"""Do search scores mean the same for every query? Calibration and bands, measured.

Not collected by pytest. Two modes:

- default (the benchmark): for each labeled held-out set, and for a mix of three of them,
  a real library (up to 3,925 files copied to a temporary folder, `Library` ingest with
  ``--model`` as its default model, the shipped one unless told) plus 70 generated copies
  and near copies of its photos; 120 of its photos search it (`Library.similar_to_photo`,
  top 20, the GUI's path). Prints, per set: the pooled ROC
  AUC for "same kind of photo" (same class folder) of the new score and of the score
  shipped before it (piecewise in the ADC distance from the query's quantization floor,
  recomputed here from the same search), the expected calibration error of the
  probability (10 equal-width bins; and the reliability table, all sets pooled), and per
  band the number of results, the fraction that are the same kind and the fraction that
  are copies of the query.
- ``--fit``: fits the constants of `sscq_desktop.library.search.similarity_scale` on the
  TUNING sets (held-out photos of the default's recipe: Imagenette and Tiny ImageNet's
  180 trained classes, 10% split seed 2022; never its training photos), from decoded
  pixels and the encoder directly: the logistic curve in ``ln u`` (120 queries x top 20
  per simulated library; slope with one intercept per set, level matching the pooled
  same-kind share) and the copy / near-copy cuts from generated edits. Writes
  ``--json-out`` (``docs/results/score_calibration_fit.json``).

Run (both on one core, beside other work): ``python tests/benchmarks/bench_score_calibration.py``
(3-4 minutes per model) and ``... --fit --json-out docs/results/score_calibration_fit.json``
(under a minute).
Data: ``/tmp/data`` as in the README (imagenette2-224/train, tiny180, tiny20, cifar10/test).
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageEnhance

from sscq_desktop.core import adc_search, distance_tables
from sscq_desktop.library.catalog.reader import CatalogReader
from sscq_desktop.library.catalog.thread_readers import ThreadReaders
from sscq_desktop.library.library import Library
from sscq_desktop.library.progress import run_job
from sscq_desktop.library.records import PhotoId, SimilarityBand
from sscq_desktop.library.search import similarity_scale as scale
from sscq_desktop.library.search.code_index import CodeIndex, vector_distance
from sscq_desktop.model.artifact import ArtifactMetadata, read_artifact
from sscq_desktop.model.encoder import OnnxEncoder
from sscq_desktop.model.preprocessing import to_model_input
from sscq_desktop.paths import DEFAULT_MODEL_ENV, app_paths
from training.data.image_folder import decode_images
from training.evaluation.photo_baselines import load_photo, photo_split

logger = logging.getLogger("bench_score_calibration")

DATA = Path("/tmp/data")
DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "resources" / "default_model.onnx"
TUNING = {
    "Imagenette held-out": (DATA / "imagenette2-224/train", True),
    "Tiny ImageNet 180 held-out": (DATA / "tiny180", True),
}
"""Name -> (folder, held-out part only): the sets the constants are fitted on."""
CHECKS = {
    "CIFAR-10 test": (DATA / "cifar10/test", False),
    "Tiny ImageNet 20 unseen classes": (DATA / "tiny20", False),
    **TUNING,
}
"""The sets the benchmark measures (the tuning sets last, marked as such)."""
MIXED = ("CIFAR-10 test", "Tiny ImageNet 20 unseen classes", "Imagenette held-out")
"""The sets of the mixed library: three corpora in one library, as a person's photos
mix subjects and cameras (labels: corpus and class)."""

Edit = Callable[[Image.Image], Image.Image]


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def _crop(image: Image.Image, keep: float) -> Image.Image:
    w, h = image.size
    cw, ch = round(w * keep), round(h * keep)
    return image.crop(
        ((w - cw) // 2, (h - ch) // 2, (w - cw) // 2 + cw, (h - ch) // 2 + ch)
    )


def _half(image: Image.Image) -> Image.Image:
    return image.resize((max(1, image.width // 2), max(1, image.height // 2)))


COPY_EDITS: dict[str, Edit] = {
    "resize 50%": _half,
    "JPEG quality 70": lambda im: _jpeg(im, 70),
    "resize 50% + JPEG 70": lambda im: _jpeg(_half(im), 70),
}
"""A copy: the same photo, resized or re-encoded."""
NEAR_COPY_EDITS: dict[str, Edit] = {
    "brightness +15%": lambda im: ImageEnhance.Brightness(im).enhance(1.15),
    "brightness -25%, contrast +20%": lambda im: ImageEnhance.Contrast(
        ImageEnhance.Brightness(im).enhance(0.75)
    ).enhance(1.2),
    "crop to 95%": lambda im: _crop(im, 0.95),
    "crop to 95% + JPEG 70": lambda im: _jpeg(_crop(im, 0.95), 70),
}
"""A near copy: the same photo, edited a little."""


def _held_out(
    folder: Path, held_out_only: bool, size: int, policy: str
) -> tuple[list[Path], npt.NDArray[np.int64]]:
    """The photos of a set (its trainer's held-out 10% when `held_out_only`) and labels."""
    split = photo_split(
        folder, holdout_fraction=0.1, split_seed=2022, size=size, policy=policy
    )
    rows = split.queries if held_out_only else np.arange(len(split.paths))
    return [split.paths[i] for i in rows], split.labels[rows]


# -- the fit ----------------------------------------------------------------------------


def _logistic_fit(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], group: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.float64], float]:
    """Per-group intercepts and one shared slope of a logistic regression in `x`.

    Each tuning set gets its own intercept (its own share of same-kind results: how fine
    its classes are), so the slope measures only what the distance tells within a
    library; pooled with one intercept, sets of different base rates bias it (Simpson).
    Newton's method in numpy: a few lines instead of a dependency (scikit-learn).
    """
    groups = int(group.max()) + 1
    a = np.c_[np.eye(groups)[group], x]  # (n, groups + 1)
    w = np.zeros(groups + 1)
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-a @ w))
        hess = a.T @ (a * (p * (1 - p))[:, None]) + 1e-9 * np.eye(groups + 1)
        step = np.linalg.solve(hess, a.T @ (y - p))
        w += step
        if np.abs(step).max() < 1e-10:
            break
    return w[:groups], float(w[groups])


def _mean_matching_intercept(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], slope: float
) -> float:
    """The intercept whose mean probability over all tuning pairs is their same-kind share.

    The slope comes from within the sets; the level is set on the sets pooled
    ("calibration in the large"): a library between the tuning sets' class granularities.
    """
    lo, hi = -20.0, 20.0
    for _ in range(100):  # bisection: the mean probability rises with the intercept
        mid = (lo + hi) / 2
        if (1.0 / (1.0 + np.exp(-(mid + slope * x)))).mean() < y.mean():
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _pairs(
    meta: ArtifactMetadata,
    emb: npt.NDArray[np.float32],
    codes: npt.NDArray[np.uint8],
    labels: npt.NDArray[np.int64],
    *,
    library_size: int,
    queries: int = 120,
    top: int = 20,
    seed: int = 0,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(u, same kind) of each query's top results in a simulated library, as the app does."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(emb))
    q_rows, lib = perm[:queries], perm[queries : queries + library_size]
    sample = emb[rng.choice(lib, size=min(512, len(lib)), replace=False)]
    _, found = adc_search(
        emb[q_rows],
        meta.codebooks,
        codes[lib],
        min(200, len(lib)),
        distance=meta.distance,
    )
    us, ys = [], []
    for qi, q in enumerate(q_rows):
        cand = lib[found[qi]]
        d = vector_distance(
            np.broadcast_to(emb[q], emb[cand].shape),
            emb[cand],
            codebook=meta.codebooks,
            distance=meta.distance,
        )
        ds = vector_distance(
            np.broadcast_to(emb[q], sample.shape),
            sample,
            codebook=meta.codebooks,
            distance=meta.distance,
        )
        best = np.argsort(d, kind="stable")[:top]
        us.append(scale.relative_distance(d[best], float(np.median(ds[ds > 0]))))
        ys.append((labels[cand[best]] == labels[q]).astype(np.float64))
    return np.concatenate(us), np.concatenate(ys)


def _edit_distances(
    meta: ArtifactMetadata,
    encoder: OnnxEncoder,
    paths: list[Path],
    edits: dict[str, Edit],
) -> dict[str, npt.NDArray[np.float64]]:
    """u of each edit of each photo from the photo, against the photos' own scale."""

    def embed(images: list[Image.Image]) -> npt.NDArray[np.float32]:
        pix = np.stack(
            [
                to_model_input(im, size=meta.input.size, policy=meta.input.resize)
                for im in images
            ]
        )
        e: npt.NDArray[np.float32] = (
            encoder.encode(pix).embedding.astype(np.float16).astype(np.float32)
        )
        return e

    originals = [load_photo(p) for p in paths]
    base = embed(originals)
    scales = np.array(
        [
            np.median(
                np.delete(
                    vector_distance(
                        np.broadcast_to(b, base.shape),
                        base,
                        codebook=meta.codebooks,
                        distance=meta.distance,
                    ),
                    i,
                )
            )
            for i, b in enumerate(base)
        ]
    )
    out = {}
    for name, edit in edits.items():
        edited = embed([edit(im) for im in originals])
        d = vector_distance(
            edited, base, codebook=meta.codebooks, distance=meta.distance
        )
        out[name] = d / scales
    return out


def _photo_sized(paths: list[Path], side: int) -> list[Path]:
    """The photos whose shorter side is at least `side` pixels (a photo, not a thumbnail).

    Halving a 64 px Tiny ImageNet photo leaves 32 px, less than the model sees: such a
    "copy" is a different, blurred picture. Copies are measured on photos twice the
    model's input or larger, as a camera's photos are.
    """
    kept = []
    for p in paths:
        with Image.open(p) as im:
            if min(im.size) >= side:
                kept.append(p)
    return kept


def fit(args: argparse.Namespace) -> dict[str, Any]:
    """Fit the calibration constants on the tuning sets; print and return them."""
    artifact = read_artifact(args.model)
    meta = artifact.metadata
    encoder = OnnxEncoder(artifact, device="cpu", intra_op_threads=1)
    us, ys, per_set = [], [], {}
    edit_paths: list[Path] = []
    for name, (folder, held_out) in TUNING.items():
        paths, labels = _held_out(folder, held_out, meta.input.size, meta.input.resize)
        pix = decode_images(
            paths, size=meta.input.size, policy=meta.input.resize
        ).pixels
        enc = encoder.encode(pix)
        emb = enc.embedding.astype(np.float16).astype(
            np.float32
        )  # as the catalog stores it
        u, y = _pairs(
            meta, emb, enc.codes, labels, library_size=min(4000, len(paths) - 120)
        )
        per_set[name] = {
            "photos": len(paths),
            "pairs": len(y),
            "same_kind": round(float(y.mean()), 4),
        }
        us.append(u)
        ys.append(y)
        edit_paths += _photo_sized(paths, 2 * meta.input.size)
    intercepts, slope = _logistic_fit(
        np.log(np.maximum(np.concatenate(us), 1e-12)),
        np.concatenate(ys),
        np.concatenate([np.full(len(u), i) for i, u in enumerate(us)]),
    )
    intercept = _mean_matching_intercept(
        np.log(np.maximum(np.concatenate(us), 1e-12)), np.concatenate(ys), slope
    )
    rng = np.random.default_rng(1)
    edit_paths = [
        edit_paths[i] for i in rng.choice(len(edit_paths), 300, replace=False)
    ]
    copies = _edit_distances(meta, encoder, edit_paths, COPY_EDITS)
    near = _edit_distances(meta, encoder, edit_paths, NEAR_COPY_EDITS)
    copy_cut = float(np.quantile(np.concatenate(list(copies.values())), 0.99))
    near_cut = float(np.quantile(np.concatenate(list(near.values())), 0.95))
    result = {
        "model": str(args.model),
        "tuning_sets": per_set,
        "probability": {
            "intercept": round(intercept, 4),
            "slope": round(slope, 4),
            "intercept_per_tuning_set": {
                name: round(float(c), 4)
                for name, c in zip(TUNING, intercepts, strict=True)
            },
            "feature": "ln(d / median distance to 512 library photos)",
        },
        "copy_max_u_q99_of_copy_edits": round(copy_cut, 4),
        "near_copy_max_u_q95_of_near_copy_edits": round(near_cut, 4),
        "edits_u_quantiles": {
            name: {
                q: round(float(np.quantile(v, float(q))), 4)
                for q in ("0.5", "0.9", "0.95", "0.99")
            }
            for name, v in {**copies, **near}.items()
        },
        "edited_photos": len(edit_paths),
    }
    print(json.dumps(result, indent=2))
    return result


# -- the benchmark ----------------------------------------------------------------------


@dataclass(frozen=True)
class _OldScale:
    """The score shipped before this benchmark's scale, kept here to compare with.

    Piecewise linear in the ADC distance: 1 at the query's quantization floor, 0.5 at
    the 1st percentile and 0 at the median of random library pairs (one photo's
    embedding against another's code), as `CodeIndex.score` computed it.
    """

    close: float
    typical: float

    @classmethod
    def of(cls, index: CodeIndex, reader: CatalogReader) -> _OldScale:
        """Measure the random pairs of `index`'s library (512 pairs, seed 0)."""
        n = index.size
        rng = np.random.default_rng(0)
        rows = rng.choice(n, size=min(512, n), replace=False)
        found, emb = reader.embeddings_of(
            index.model_id, index.photo_ids[rows].tolist()
        )
        rows = np.searchsorted(index.photo_ids, found)
        other = (rows + rng.integers(1, n, size=len(rows))) % n
        _, codes = reader.codes(index.model_id)  # (n, M), rows as index.photo_ids
        tables = distance_tables(emb, index.codebook, distance=index.distance)
        M = tables.shape[1]
        dist = tables[
            np.arange(len(rows))[:, None], np.arange(M)[None, :], codes[other]
        ].sum(axis=1)  # (p,)
        return cls(float(np.percentile(dist, 1)), float(np.median(dist)))

    def score(
        self, index: CodeIndex, query: npt.NDArray[np.float32], adc: float
    ) -> float:
        """The old score of a result at ADC distance `adc` from `query`."""
        tables = distance_tables(
            query.reshape(1, -1), index.codebook, distance=index.distance
        )
        floor = float(tables[0].min(axis=1).sum())
        close = max(self.close, floor)
        typical = max(self.typical, close)
        if adc <= close:
            span = close - floor
            return 1.0 if span <= 0 else max(0.5, 1.0 - 0.5 * (adc - floor) / span)
        span = typical - close
        return 0.0 if span <= 0 else max(0.0, 0.5 * (typical - adc) / span)


def _auc(score: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> float:
    """ROC AUC (ties count half), by ranks."""
    order = np.argsort(score, kind="stable")
    ranks = np.empty(len(score))
    s = score[order]
    i = 0
    while i < len(s):  # average ranks of ties
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos = y.sum()
    neg = len(y) - pos
    return (
        float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))
        if pos and neg
        else float("nan")
    )


def _reliability(
    p: npt.NDArray[np.float64], y: npt.NDArray[np.float64], bins: int = 10
) -> list[dict[str, Any]]:
    """Per equal-width probability bin: results, mean probability, same-kind share."""
    which = np.minimum((p * bins).astype(int), bins - 1)
    return [
        {
            "bin": f"{b / bins:.1f}-{(b + 1) / bins:.1f}",
            "results": int((which == b).sum()),
            "mean_probability": round(float(p[which == b].mean()), 3),
            "same_kind": round(float(y[which == b].mean()), 3),
        }
        for b in range(bins)
        if (which == b).any()
    ]


def _ece(
    p: npt.NDArray[np.float64], y: npt.NDArray[np.float64], bins: int = 10
) -> float:
    """Expected calibration error over equal-width probability bins."""
    return float(
        sum(
            r["results"] / len(p) * abs(r["mean_probability"] - r["same_kind"])
            for r in _reliability(p, y, bins)
        )
    )


def _build_library(
    home: Path, paths: list[Path], labels: npt.NDArray[np.int64], copies_of: int
) -> tuple[Library, dict[Path, tuple[int, int]]]:
    """Copy photos (and edits of `copies_of` of them) into a folder and ingest it.

    Returns the library and, per file, (label, original index or -1).
    """
    root = home / "photos"
    root.mkdir(parents=True)
    truth: dict[Path, tuple[int, int]] = {}
    for i, (p, lab) in enumerate(zip(paths, labels, strict=True)):
        dest = root / f"{i:05d}{p.suffix.lower()}"
        shutil.copyfile(p, dest)
        truth[dest] = (int(lab), i)
    edits = list(COPY_EDITS.values()) + list(NEAR_COPY_EDITS.values())
    for j, i in enumerate(
        np.random.default_rng(2).choice(len(paths), copies_of, replace=False)
    ):
        edited = edits[j % len(edits)](load_photo(paths[i]))
        dest = root / f"edit_{j:04d}_of_{i:05d}.jpg"
        edited.save(dest, quality=92)
        truth[dest] = (int(labels[i]), int(i))
    lib = Library(app_paths(home / "home"))
    lib.add_folder(root)
    run_job(lib.update())
    return lib, truth


def _search_rows(
    paths: list[Path], labels: npt.NDArray[np.int64], args: argparse.Namespace
) -> tuple[npt.NDArray[np.float64], int]:
    """Ingest a library of `paths` (plus edits), search it; one row per result.

    Row: (new score, score before, same kind, copy of the query, band index). Queries:
    every photo with an edit in the library, then random others up to ``--queries``.
    """
    with tempfile.TemporaryDirectory() as tmp:
        lib, truth = _build_library(Path(tmp), paths, labels, args.copies)
        with lib:
            index = lib.code_index()
            photos = {p.path: int(p.id) for p in lib.photos()}
            by_id = {pid: truth[path] for path, pid in photos.items()}
            originals = [
                pid for path, pid in photos.items() if not path.name.startswith("edit_")
            ]
            edited_of = {truth[p][1] for p in photos if p.name.startswith("edit_")}
            queries = [pid for pid in originals if by_id[pid][1] in edited_of]
            rest = [pid for pid in originals if by_id[pid][1] not in edited_of]
            rng = np.random.default_rng(3)
            queries += rng.choice(
                rest, args.queries - len(queries), replace=False
            ).tolist()
            reader = ThreadReaders(lib.paths.catalog_path).get()
            old = _OldScale.of(index, reader)
            rows = []
            for pid in queries:
                hits = lib.similar_to_photo(PhotoId(pid), k=args.top)
                qlab, qorig = by_id[pid]
                q_emb = reader.embedding(PhotoId(pid), index.model_id)
                assert q_emb is not None
                adc = dict(index.search(q_emb, 200, exclude_ids=[pid]))
                for h in hits:
                    hlab, horig = by_id[h.photo_id]
                    copy = horig == qorig
                    rows.append(
                        (
                            h.score,
                            old.score(index, q_emb, adc.get(h.photo_id, np.inf)),
                            float(hlab == qlab or copy),
                            float(copy),
                            _band_index(h.band),
                        )
                    )
    return np.array(rows), len(queries)


def _set_report(
    rows: npt.NDArray[np.float64],
    *,
    tuning: bool,
    photos: int,
    queries: int,
    copies: int,
) -> dict[str, Any]:
    """AUCs, ECE and the per-band table of one library's results."""
    new, old, y, cp, band = rows.T
    bands = {}
    for b, bname in enumerate([*(x.value for x in SimilarityBand), "below Related"]):
        m = band == b
        bands[bname] = {
            "results": int(m.sum()),
            "same_kind": round(float(y[m].mean()), 3) if m.any() else None,
            "copies": round(float(cp[m].mean()), 3) if m.any() else None,
            "mean_probability": round(float(new[m].mean()), 3) if m.any() else None,
        }
    return {
        "tuning_set": tuning,
        "library_photos": photos + copies,
        "generated_edits": copies,
        "queries": queries,
        "results": len(y),
        "same_kind_rate": round(float(y.mean()), 3),
        "auc_new": round(_auc(new, y), 3),
        "auc_old": round(_auc(old, y), 3),
        "ece_new": round(_ece(new, y), 3),
        "mean_probability": round(float(new.mean()), 3),
        "reliability": _reliability(new, y),
        "bands": bands,
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Ingest each held-out set (and a mix of three) as a library; score the scores."""
    meta = read_artifact(args.model).metadata
    report: dict[str, Any] = {"model": str(args.model), "sets": {}}
    picked: dict[str, tuple[list[Path], npt.NDArray[np.int64]]] = {}
    pooled = []
    for name, (folder, held_out) in CHECKS.items():
        t0 = time.perf_counter()
        paths, labels = _held_out(folder, held_out, meta.input.size, meta.input.resize)
        n = min(args.library_size, len(paths))
        pick = np.sort(np.random.default_rng(0).choice(len(paths), n, replace=False))
        picked[name] = ([paths[i] for i in pick], labels[pick])
        rows, nq = _search_rows(*picked[name], args)
        pooled.append(rows)
        report["sets"][name] = _set_report(
            rows, tuning=name in TUNING, photos=n, queries=nq, copies=args.copies
        )
        report["sets"][name]["wall_s"] = round(time.perf_counter() - t0, 1)
        logger.info("%s: %s", name, report["sets"][name])
    t0 = time.perf_counter()
    share = args.library_size // len(MIXED)
    mix_paths: list[Path] = []
    mix_labels = []
    offset = 0
    for name in MIXED:  # labels: corpus and class
        paths, labels = picked[name]
        mix_paths += paths[:share]
        mix_labels.append(labels[:share] + offset)
        offset += int(labels.max()) + 1
    rows, nq = _search_rows(mix_paths, np.concatenate(mix_labels), args)
    report["sets"]["Mixed: CIFAR-10 + Tiny ImageNet 20 + Imagenette"] = _set_report(
        rows, tuning=False, photos=len(mix_paths), queries=nq, copies=args.copies
    ) | {"wall_s": round(time.perf_counter() - t0, 1)}
    pooled.append(rows)
    new, old, y = np.concatenate(pooled)[:, :3].T
    report["pooled"] = {
        "auc_new": round(_auc(new, y), 3),
        "auc_old": round(_auc(old, y), 3),
        "ece_new": round(_ece(new, y), 3),
        "results": len(y),
        "reliability": _reliability(new, y),
    }
    return report


def _band_index(band: SimilarityBand | None) -> int:
    """Position of `band` among the bands, closest first; below "Related" is last."""
    return len(SimilarityBand) if band is None else list(SimilarityBand).index(band)


def _markdown(report: dict[str, Any]) -> str:
    """The benchmark's tables."""
    lines = [
        f"Score calibration, model {report['model']}: per held-out set, a real library "
        "(ingest), queries x top results; same kind = same class folder, or a generated "
        "copy of the query.",
        "",
        "| set | library photos | results | same-kind rate | AUC new | AUC before | ECE new | mean probability |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in report["sets"].items():
        tag = " (tuning)" if r["tuning_set"] else ""
        lines.append(
            f"| {name}{tag} | {r['library_photos']} | {r['results']} | {r['same_kind_rate']:.3f} | "
            f"{r['auc_new']:.3f} | {r['auc_old']:.3f} | {r['ece_new']:.3f} | {r['mean_probability']:.3f} |"
        )
    p = report["pooled"]
    lines += [
        f"| pooled | | {p['results']} | | {p['auc_new']:.3f} | {p['auc_old']:.3f} | {p['ece_new']:.3f} | |",
        "",
        "Reliability of the probability, all libraries pooled: per bin, results, mean "
        "probability, same-kind share.",
        "",
        "| bin | results | mean probability | same kind |",
        "|---|---:|---:|---:|",
        *(
            f"| {r['bin']} | {r['results']} | {r['mean_probability']:.3f} | {r['same_kind']:.3f} |"
            for r in p["reliability"]
        ),
        "",
        "Per band: results in it, fraction same kind, fraction copies of the query, mean probability.",
        "",
        "| set | "
        + " | ".join(report["sets"][next(iter(report["sets"]))]["bands"])
        + " |",
        "|---|" + "---:|" * (len(SimilarityBand) + 1),
    ]

    def cell(b: dict[str, Any]) -> str:
        if not b["results"]:
            return "0"
        return f"{b['results']}: {b['same_kind']:.2f} / {b['copies']:.2f} / {b['mean_probability']:.2f}"

    for name, r in report["sets"].items():
        lines.append(
            f"| {name} | " + " | ".join(cell(b) for b in r["bands"].values()) + " |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or the fit with ``--fit``); print the tables."""
    p = argparse.ArgumentParser(
        description=__doc__.split("\n", 1)[0] if __doc__ else None
    )
    p.add_argument(
        "--model", type=Path, default=DEFAULT_MODEL, help="the libraries' default model"
    )
    p.add_argument(
        "--fit", action="store_true", help="fit the constants on the tuning sets"
    )
    p.add_argument(
        "--library-size", type=int, default=3925, help="photos per library (at most)"
    )
    p.add_argument("--copies", type=int, default=70, help="generated edits per library")
    p.add_argument("--queries", type=int, default=120)
    p.add_argument("--top", type=int, default=20)
    p.add_argument("--json-out", type=Path, default=None)
    args = p.parse_args(argv)
    os.environ[DEFAULT_MODEL_ENV] = str(args.model.resolve())  # the libraries' model
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr
    )
    t0 = time.perf_counter()
    result = fit(args) if args.fit else measure(args)
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    if not args.fit:
        print(_markdown(result))
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
