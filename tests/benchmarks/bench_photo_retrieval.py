"""Photo retrieval on a labeled photo folder: model PQ codes against non-learned baselines.

Not collected by pytest. One table, all rows computed in the same run on the trainer's own
fixed-seed held-out split (`training.data.sources`, recipe ``photos_cpu``: holdout 0.1,
split seed 2022): database = the 90% the model trained on, queries = the held-out 10%,
relevant = same class subfolder (labels only score). Rows:

- each model artifact: PQ codes (database = the artifact's hard ``codes`` output, queries =
  continuous embeddings, ADC with the artifact's distance, `sscq_desktop.core`), and the
  same embeddings without quantization (exhaustive L2 and cosine);
- perceptual hashes from ``imagehash`` on the full photo (pHash, dHash, wavelet hash,
  colour hash), Hamming distance;
- an 8x8x8 RGB colour histogram, L1 distance (= histogram intersection order);
- a random-init network of the recipe's backbone with k-means PQ, at each model's code
  size (32 bits without models; ``--random-init-bits`` overrides).

Every row ranks a database reordered by METHOD.md's fixed permutation (seed 2022, as
`training.evaluation.retrieval`), ties go to the smaller permuted index; mAP@100 and
P@10 come from `sscq_desktop.core.metrics`. Model inputs are decoded by the trainer's
folder loader, which resizes with `sscq_desktop.model.preprocessing.to_model_input` at the
artifact's input size and resize policy (the app's definition).

Example (Imagenette with one thread: about 2 minutes with one model, 4 with three):
``python tests/benchmarks/bench_photo_retrieval.py --models runs/photos16/model.onnx
resources/default_model.onnx runs/photos64/model.onnx --data /tmp/imnette/imagenette2-224/train --threads 1 --json-out runs/photo_retrieval.json``
Smoke run: add ``--limit-db 600 --limit-queries 100``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sscq_desktop.core import adc_search, encode, mean_average_precision, precision_at
from sscq_desktop.model.artifact import read_artifact
from sscq_desktop.model.encoder import OnnxEncoder
from training.config import DataConfig, TrainConfig, load_recipe
from training.data.sources import EvalSet, load_training_data
from training.evaluation.photo_baselines import (
    HASH_BITS,
    HASH_METHODS,
    Metric,
    PhotoSplit,
    photo_features,
    photo_split,
    score_exhaustive,
)
from training.evaluation.retrieval import DATABASE_PERMUTATION_SEED

logger = logging.getLogger("bench_photo_retrieval")

SUBSET_SEED = 0  # seed of the random subsets taken by --limit-db / --limit-queries
HASH_LABELS = {
    "phash": "pHash (imagehash)",
    "dhash": "dHash (imagehash)",
    "whash": "wavelet hash (imagehash)",
    "colorhash": "colour hash (imagehash)",
}


@dataclass
class Row:
    """One line of the table."""

    method: str
    bits: int
    map: float
    precision: float
    features_s: float
    search_s: float
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "method": self.method,
            "bits_per_photo": self.bits,
            "bytes_per_photo": self.bits / 8,
            "map": round(self.map, 4),
            "precision": round(self.precision, 4),
            "features_s": round(self.features_s, 2),
            "search_s": round(self.search_s, 2),
            "wall_s": round(self.features_s + self.search_s, 2),
            "note": self.note,
        }


class Bench:
    """The split, its optional subsets, and the model inputs decoded for it."""

    def __init__(self, args: argparse.Namespace, recipe_data: DataConfig) -> None:
        self.args = args
        self.recipe_data = recipe_data
        self.split: PhotoSplit = photo_split(
            args.data,
            holdout_fraction=args.holdout_fraction,
            split_seed=args.split_seed,
            size=recipe_data.image_size,
            policy=recipe_data.resize,
            cache_dir=args.cache_dir,
        )
        self.db_sel = _subset(len(self.split.database), args.limit_db)
        self.q_sel = _subset(len(self.split.queries), args.limit_queries)
        self.db_idx = self.split.database[self.db_sel]  # into split.paths
        self.q_idx = self.split.queries[self.q_sel]
        self.db_labels = self.split.labels[self.db_idx]
        self.q_labels = self.split.labels[self.q_idx]
        self._pixels: dict[tuple[int, str], tuple[npt.NDArray[np.uint8], ...]] = {}

    def pixels(
        self, size: int, policy: str
    ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
        """(queries, database) model inputs, from the trainer's own evaluation set."""
        key = (size, policy)
        if key not in self._pixels:
            cfg = DataConfig(
                source="folder",
                path=str(self.args.data),
                cache_dir=self.args.cache_dir,
                image_size=size,
                resize=policy,
                holdout_fraction=self.args.holdout_fraction,
                split_seed=self.args.split_seed,
            )
            eval_set = load_training_data(cfg).eval_set
            self._check_same_split(eval_set)
            assert eval_set is not None
            self._pixels[key] = (
                eval_set.query_pixels[self.q_sel],
                eval_set.database_pixels[self.db_sel],
            )
        q, db = self._pixels[key]
        return q, db

    def _check_same_split(self, eval_set: EvalSet | None) -> None:
        split = self.split
        if (
            eval_set is None
            or len(eval_set.query_labels) != len(split.queries)
            or len(eval_set.database_labels) != len(split.database)
            or not np.array_equal(eval_set.query_labels, split.labels[split.queries])
            or not np.array_equal(
                eval_set.database_labels, split.labels[split.database]
            )
        ):
            raise RuntimeError("the trainer's evaluation set differs from the split")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the markdown table (and write JSON with --json-out)."""
    args = _parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr
    )
    t_start = time.perf_counter()
    recipe = load_recipe(args.recipe)
    if args.holdout_fraction is None:
        args.holdout_fraction = recipe.data.holdout_fraction
    if args.split_seed is None:
        args.split_seed = recipe.data.split_seed
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    bench = Bench(args, recipe.data)
    logger.info(
        "split: %d photos, database %d, queries %d (seed %d)",
        len(bench.split.paths),
        len(bench.db_idx),
        len(bench.q_idx),
        args.split_seed,
    )
    rows: list[Row] = []
    model_bits = []
    for path in args.models:
        model_rows = _model_rows(bench, Path(path))
        model_bits.append(model_rows[0].bits)  # the PQ codes row
        rows += model_rows
    rows += _hash_rows(bench)
    if not args.no_random_init:
        per_codebook = recipe.model.nbits
        for bits in args.random_init_bits or sorted(set(model_bits)) or [32]:
            if bits % per_codebook:
                raise ValueError(
                    f"--random-init-bits {bits}: not a multiple of {per_codebook}"
                )
            recipe.model.n_codebooks = bits // per_codebook
            rows.append(_random_init_row(bench, recipe))
    result = _result(bench, rows, wall_s=time.perf_counter() - t_start)
    print(_markdown(result))
    if args.json_out:
        Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json_out).write_text(json.dumps(result, indent=2) + "\n")
        logger.info("wrote %s", args.json_out)
    return 0


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n", 1)[0] if __doc__ else None
    )
    p.add_argument("--models", nargs="*", default=[], help="model artifacts (.onnx)")
    p.add_argument("--data", required=True, type=Path, help="labeled photo folder")
    p.add_argument("--recipe", default="photos_cpu", help="split defaults + backbone")
    p.add_argument("--holdout-fraction", type=float, default=None)
    p.add_argument("--split-seed", type=int, default=None)
    p.add_argument("--limit-db", type=int, default=0, help="random database subset")
    p.add_argument("--limit-queries", type=int, default=0, help="random query subset")
    p.add_argument("--top-n", type=int, default=100, help="mAP cut-off")
    p.add_argument("--precision-k", type=int, default=10)
    p.add_argument("--threads", type=int, default=0, help="CPU threads; 0 = default")
    p.add_argument("--cache-dir", default="", help="decoded-pixel cache (trainer's)")
    p.add_argument("--no-random-init", action="store_true")
    p.add_argument(
        "--random-init-bits",
        type=int,
        nargs="*",
        default=[],
        help="code sizes of the random-init + k-means rows (default: the models' sizes)",
    )
    p.add_argument("--json-out", type=Path, default=None)
    return p.parse_args(argv)


def _subset(n: int, limit: int) -> npt.NDArray[np.int64]:
    """A sorted fixed-seed random subset of ``range(n)``, or all of it."""
    if limit <= 0 or limit >= n:
        return np.arange(n, dtype=np.int64)
    pick = np.random.default_rng(SUBSET_SEED).choice(n, size=limit, replace=False)
    return np.sort(pick).astype(np.int64)


def _model_rows(bench: Bench, path: Path) -> list[Row]:
    artifact = read_artifact(path)
    meta = artifact.metadata
    encoder = OnnxEncoder(
        artifact, device="cpu", intra_op_threads=bench.args.threads or None
    )
    q_pix, db_pix = bench.pixels(meta.input.size, meta.input.resize)
    t0 = time.perf_counter()
    q, db = encoder.encode(q_pix), encoder.encode(db_pix)
    encode_s = time.perf_counter() - t0
    logger.info("%s: encoded %d photos in %.1f s", meta.model_id, len(q_pix) + len(db_pix), encode_s)  # fmt: skip
    agree = float((db.codes == encode(db.embedding, meta.codebooks)).all(1).mean())
    t0 = time.perf_counter()
    nb = len(db.codes)
    perm = np.random.default_rng(DATABASE_PERMUTATION_SEED).permutation(nb)
    codes, db_labels = db.codes[perm], bench.db_labels[perm]
    n = min(bench.args.top_n, nb)
    k = min(max(n, bench.args.precision_k), nb)
    _, ids = adc_search(q.embedding, meta.codebooks, codes, k, distance=meta.distance)
    m_ap = mean_average_precision(ids, bench.q_labels, db_labels, n=n)
    p_at = precision_at(
        ids, bench.q_labels, db_labels, n=min(bench.args.precision_k, nb)
    )
    search_s = time.perf_counter() - t0
    distinct = len(np.unique(db.codes, axis=0))
    name = meta.model_id
    rows = [
        Row(
            f"{name}: PQ codes ({meta.distance} ADC)", meta.nbits, m_ap, p_at,
            encode_s, search_s,
            f"M={meta.M} K={meta.K}, {distinct} distinct codes, ONNX codes = "
            f"core.encode(embedding) for {agree:.1%} of the database",
        ),
    ]  # fmt: skip
    dim_bits = meta.embed_dim * 32
    metrics: tuple[Metric, ...] = ("l2", "cosine")
    for metric in metrics:
        t0 = time.perf_counter()
        s = _score(bench, q.embedding, db.embedding, metric)
        rows.append(
            Row(
                f"{name}: embedding, exhaustive {metric.upper() if metric == 'l2' else metric}",
                dim_bits, s["map"], s["precision"], encode_s,
                time.perf_counter() - t0,
                f"float32 x {meta.embed_dim}, no quantization (encoding shared with the PQ row)",
            )
        )  # fmt: skip
    for r in rows:
        logger.info("%s: mAP %.4f P@10 %.4f", r.method, r.map, r.precision)
    return rows


def _score(
    bench: Bench, q: npt.NDArray[Any], db: npt.NDArray[Any], metric: Metric
) -> dict[str, Any]:
    return score_exhaustive(
        q,
        db,
        metric=metric,
        query_labels=bench.q_labels,
        database_labels=bench.db_labels,
        top_n=bench.args.top_n,
        precision_k=bench.args.precision_k,
    )


def _hash_rows(bench: Bench) -> list[Row]:
    paths = bench.split.paths
    order = np.concatenate([bench.q_idx, bench.db_idx])
    logger.info("hashing %d photos at full resolution", len(order))
    feats = photo_features([paths[i] for i in order])
    if feats.n_broken:
        raise RuntimeError(f"{feats.n_broken} photos of the split could not be read")
    nq = len(bench.q_idx)
    decode_share = feats.seconds["decode"] / (len(HASH_METHODS) + 1)
    rows = []
    for method in HASH_METHODS:
        bits = feats.bits[method]
        t0 = time.perf_counter()
        s = _score(bench, bits[:nq], bits[nq:], "hamming")
        rows.append(
            Row(
                HASH_LABELS[method], HASH_BITS[method], s["map"], s["precision"],
                feats.seconds[method] + decode_share, time.perf_counter() - t0,
                f"Hamming distance, {s['distinct_rows']} distinct hashes in the database",
            )
        )  # fmt: skip
        logger.info("%s: mAP %.4f", method, s["map"])
    hists = feats.histograms
    t0 = time.perf_counter()
    s = _score(bench, hists[:nq], hists[nq:], "l1")
    rows.append(
        Row(
            "RGB colour histogram 8x8x8", hists.shape[1] * 32, s["map"], s["precision"],
            feats.seconds["histogram"] + decode_share, time.perf_counter() - t0,
            "float32 x 512, L1 distance (= histogram intersection order)",
        )
    )  # fmt: skip
    logger.info("histogram: mAP %.4f", s["map"])
    return rows


def _random_init_row(bench: Bench, recipe: TrainConfig) -> Row:
    import torch

    from training.evaluation.embed import embed_pixels
    from training.evaluation.kmeans_pq import train_pq_codebook
    from training.evaluation.retrieval import score_retrieval
    from training.models.sscq_model import build_model

    cfg = recipe.model
    q_pix, db_pix = bench.pixels(recipe.data.image_size, recipe.data.resize)
    t0 = time.perf_counter()
    torch.manual_seed(recipe.run.seed)
    model = build_model(cfg, image_size=recipe.data.image_size)
    cpu = torch.device("cpu")
    q, db = (
        embed_pixels(model, q_pix, device=cpu),
        embed_pixels(model, db_pix, device=cpu),
    )
    codebook = train_pq_codebook(db, n_codebooks=cfg.n_codebooks, ksub=2**cfg.nbits)
    features_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    s = score_retrieval(
        q, db, codebook, query_labels=bench.q_labels, database_labels=bench.db_labels,
        top_n=bench.args.top_n, precision_k=bench.args.precision_k,
    )  # fmt: skip
    bits = cfg.n_codebooks * cfg.nbits
    row = Row(
        f"random-init {cfg.backbone} (width {cfg.width}) + k-means PQ",
        bits, s["map"], s["precision"], features_s, time.perf_counter() - t0,
        f"{recipe.data.image_size} px, seed {recipe.run.seed}, k-means on the database "
        f"embeddings, {s['distinct_codes']} distinct codes",
    )  # fmt: skip
    logger.info("random init: mAP %.4f", row.map)
    return row


def _result(bench: Bench, rows: list[Row], *, wall_s: float) -> dict[str, Any]:
    args = bench.args
    subset = bool(args.limit_db or args.limit_queries)
    return {
        "data": str(args.data),
        "n_photos": len(bench.split.paths),
        "classes": len(bench.split.classes),
        "split": {
            "source": "training.data.sources.holdout_split (the trainer's split)",
            "holdout_fraction": args.holdout_fraction,
            "split_seed": args.split_seed,
            "n_database_full": len(bench.split.database),
            "n_queries_full": len(bench.split.queries),
        },
        "n_database": len(bench.db_idx),
        "n_queries": len(bench.q_idx),
        "subset": {"seed": SUBSET_SEED, "limit_db": args.limit_db,
                   "limit_queries": args.limit_queries} if subset else None,
        "database_permutation_seed": DATABASE_PERMUTATION_SEED,
        "map_at": min(args.top_n, len(bench.db_idx)),
        "precision_at": min(args.precision_k, len(bench.db_idx)),
        "chance_precision": round(_chance(bench), 4),
        "threads": args.threads or "default",
        "total_wall_s": round(wall_s, 1),
        "rows": [r.as_dict() for r in rows],
    }  # fmt: skip


def _chance(bench: Bench) -> float:
    """Expected precision of a random ranking: mean same-class fraction of the database."""
    counts = np.bincount(bench.db_labels, minlength=len(bench.split.classes))
    return float((counts[bench.q_labels] / len(bench.db_labels)).mean())


def _markdown(result: dict[str, Any]) -> str:
    split = result["split"]
    n, k = result["map_at"], result["precision_at"]
    lines = [
        f"Photo retrieval on {result['data']} ({result['n_photos']} photos, "
        f"{result['classes']} classes; relevant = same class)",
        f"Split: training.data.sources.holdout_split, holdout {split['holdout_fraction']}, "
        f"split seed {split['split_seed']}: database {split['n_database_full']} "
        f"(trained on), queries {split['n_queries_full']} (held out)",
    ]
    if result["subset"]:
        lines.append(
            f"SUBSET (smoke run, seed {result['subset']['seed']}): database "
            f"{result['n_database']}, queries {result['n_queries']}"
        )
    lines += [
        f"Database permutation seed {result['database_permutation_seed']}; ties by "
        f"permuted index. Chance precision {result['chance_precision']:.4f}. "
        f"Threads: {result['threads']}. Total wall time {result['total_wall_s']} s.",
        "",
        f"| method | bits / photo | bytes / photo | mAP@{n} | P@{k} | features s | search s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['method']} | {r['bits_per_photo']} | {r['bytes_per_photo']:g} | "
            f"{r['map']:.4f} | {r['precision']:.4f} | {r['features_s']:.1f} | "
            f"{r['search_s']:.1f} |"
        )
    lines += ["", "Notes:"]
    lines += [f"- {r['method']}: {r['note']}" for r in result["rows"] if r["note"]]
    lines.append(
        "- features s: encoding / hashing of queries + database (a model's three rows "
        "share one encoding; the hash and histogram rows each carry 1/5 of the shared "
        "full-resolution decode); search s: ranking + scoring."
    )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
