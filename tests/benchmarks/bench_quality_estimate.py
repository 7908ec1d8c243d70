"""Does a label-free signal rank models like labeled retrieval does? (on demand)

Not collected by pytest. For each labeled photo folder and each model artifact:

- labeled quality: mAP@100 and P@10 of the app's search (continuous queries, stored PQ
  codes, ADC) with the trainer's fixed-seed split (holdout 0.1, seed 2022): held-out
  queries against the rest, relevant = same class subfolder; ``--limit-db`` and
  ``--limit-queries`` take fixed-seed random subsets (the same for every model);
- the label-free candidates of `sscq_desktop.library.retrain.quality_estimate` on ``--sample``
  held-out photos (labels unused), the same photos and edits for every model.

Then, per folder, the Spearman rank correlation of each candidate with labeled mAP@100
across the models, and their mean over folders. A signal worth using ranks models the
way labels do on every folder.

Example (about a minute per model per folder on one core with the limits below):
``python tests/benchmarks/bench_quality_estimate.py --models runs/*/model.onnx
resources/default_model.onnx --data imagenette=/tmp/imnette/imagenette2-224/train
tiny=/tmp/tiny-imagenet-200/train cifar10=/tmp/cifar10/test --limit-db 8000
--limit-queries 800 --sample 300 --json-out runs/quality_estimate.json``
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import spearmanr

from sscq_desktop.core import adc_search, mean_average_precision, precision_at
from sscq_desktop.library.retrain.quality_estimate import (
    QualityEstimate,
    estimate_quality,
)
from sscq_desktop.model.artifact import read_artifact
from sscq_desktop.model.encoder import OnnxEncoder
from training.data.image_folder import decode_images
from training.evaluation.photo_baselines import load_photo, photo_split
from training.evaluation.retrieval import DATABASE_PERMUTATION_SEED

logger = logging.getLogger("bench_quality_estimate")

SUBSET_SEED = 0
SIGNALS = [f.name for f in fields(QualityEstimate) if f.name != "n_photos"]


def main(argv: list[str] | None = None) -> int:
    """Score every model on every folder, print the tables and the correlations."""
    args = _parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    t0 = time.perf_counter()
    folders = dict(_named(d) for d in args.data)
    results: dict[str, list[dict[str, Any]]] = {}
    for name, root in folders.items():
        results[name] = [_score_model(Path(m), root, args) for m in args.models]
    summary = _correlations(results)
    print(_markdown(results, summary))
    out = {"folders": {k: str(v) for k, v in folders.items()}, "args": vars(args) | {"models": args.models},
           "results": results, "spearman": summary, "wall_s": round(time.perf_counter() - t0, 1)}  # fmt: skip
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(out, indent=2, default=str) + "\n")
    return 0


def _named(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep:
        return Path(text).name, Path(text)
    return name, Path(path)


def _subset(n: int, limit: int) -> npt.NDArray[np.int64]:
    if limit <= 0 or limit >= n:
        return np.arange(n, dtype=np.int64)
    pick = np.random.default_rng(SUBSET_SEED).choice(n, size=limit, replace=False)
    return np.sort(pick).astype(np.int64)


def _score_model(model: Path, root: Path, args: argparse.Namespace) -> dict[str, Any]:
    artifact = read_artifact(model)
    meta = artifact.metadata
    encoder = OnnxEncoder(artifact, device="cpu", intra_op_threads=args.threads or None)
    size, policy = meta.input.size, meta.input.resize
    split = photo_split(
        root, holdout_fraction=0.1, split_seed=2022, size=size, policy=policy
    )
    db = split.database[_subset(len(split.database), args.limit_db)]
    q = split.queries[_subset(len(split.queries), args.limit_queries)]
    pixels = decode_images(split.paths, size=size, policy=policy).pixels
    t0 = time.perf_counter()
    qe, dbe = (
        encoder.encode(np.asarray(pixels[q])),
        encoder.encode(np.asarray(pixels[db])),
    )
    perm = np.random.default_rng(DATABASE_PERMUTATION_SEED).permutation(len(db))
    codes, db_labels = dbe.codes[perm], split.labels[db][perm]
    _, ids = adc_search(
        qe.embedding, meta.codebooks, codes, 100, distance=meta.distance
    )
    q_labels = split.labels[q]
    labeled = {
        "map": float(mean_average_precision(ids, q_labels, db_labels, n=100)),
        "p10": float(precision_at(ids, q_labels, db_labels, n=10)),
    }
    sample_idx = split.queries[_subset(len(split.queries), args.sample)]
    photos = [load_photo(split.paths[i]) for i in sample_idx]
    estimate = estimate_quality(encoder, photos, seed=args.seed)
    row = {"model": meta.model_id, "file": str(model), **labeled, **estimate.as_dict(),
           "seconds": round(time.perf_counter() - t0, 1)}  # fmt: skip
    logger.info("%s on %s: %s", meta.model_id, root, row)
    return row


def _correlations(
    results: dict[str, list[dict[str, Any]]],
) -> dict[str, dict[str, float]]:
    table: dict[str, dict[str, float]] = {}
    for signal in SIGNALS:
        per = {}
        for folder, rows in results.items():
            if len(rows) >= 3:
                rho = spearmanr(
                    [r[signal] for r in rows], [r["map"] for r in rows]
                ).statistic
                per[folder] = float(rho)
        if per:
            per["mean"] = float(np.mean(list(per.values())))
        table[signal] = per
    return table


def _markdown(
    results: dict[str, list[dict[str, Any]]], summary: dict[str, dict[str, float]]
) -> str:
    lines = []
    for folder, rows in results.items():
        lines += [f"\n### {folder}", "| model | mAP@100 | " + " | ".join(SIGNALS) + " |",
                  "|---|---:|" + "---:|" * len(SIGNALS)]  # fmt: skip
        for r in sorted(rows, key=lambda r: r["map"]):
            lines.append(
                f"| {r['model']} | {r['map']:.3f} | "
                + " | ".join(f"{r[s]:.3f}" for s in SIGNALS)
                + " |"
            )
    folders = list(results) + ["mean"]
    lines += ["\n### Spearman rank correlation with labeled mAP@100",
              "| signal | " + " | ".join(folders) + " |", "|---|" + "---:|" * len(folders)]  # fmt: skip
    for signal, per in summary.items():
        lines.append(
            f"| {signal} | "
            + " | ".join(f"{per.get(f, float('nan')):.2f}" for f in folders)
            + " |"
        )
    return "\n".join(lines)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n", 1)[0] if __doc__ else None
    )
    p.add_argument("--models", nargs="+", required=True, help="model artifacts (.onnx)")
    p.add_argument(
        "--data", nargs="+", required=True, help="NAME=FOLDER labeled photo folders"
    )
    p.add_argument("--limit-db", type=int, default=8000)
    p.add_argument("--limit-queries", type=int, default=800)
    p.add_argument("--sample", type=int, default=300, help="photos the estimate sees")
    p.add_argument("--seed", type=int, default=0, help="seed of the edits")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json-out", type=Path, default=None)
    return p.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
