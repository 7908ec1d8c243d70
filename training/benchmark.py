"""Benchmarks: backbone throughput, the CIFAR-10 CPU comparison, and the GPU recipe.

``throughput``: training images/s (two views, forward + backward + augmentation) and
onnxruntime inference images/s per backbone and input size, on this machine.
``cifar10-cpu``: same backbone and number of steps for every learned arm, mAP@1000 on
the standard protocol (32 bits; ``--set model.n_codebooks=4|16`` for 16 or 64): SSCQ,
SSCQ without instance contrast, SPQ's loss, PCA + k-means PQ on raw pixels, and a
random-init network + k-means PQ (``--arms`` picks a subset).
``cifar10-gpu``: the paper's ResNet-18 trained and evaluated within 8 minutes on one GPU.
``budget``: quality per CPU-minute, every arm trained for the same CPU budget
(`training.budget_benchmark`).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from training.augment.tensor_augment import TensorAugment
from training.config import TrainConfig, apply_overrides, load_recipe
from training.data.cifar10 import load_cifar10
from training.evaluation.embed import embed_pixels
from training.evaluation.kmeans_pq import PcaProjection, train_pq_codebook
from training.evaluation.retrieval import score_retrieval
from training.losses.sscq_loss import SSCQLoss
from training.models.sscq_model import build_model
from training.progress import ProgressReporter
from training.trainer import train

logger = logging.getLogger(__name__)

THROUGHPUT_GRID = (
    ("cifar_resnet18", 1.0, 32),
    ("compact", 1.0, 32),
    ("compact", 0.5, 64),
    ("compact", 1.0, 64),
    ("compact", 0.5, 96),
    ("compact", 1.0, 96),
    ("compact", 1.0, 128),
)


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Dispatch ``python -m training benchmark WHICH``."""
    if args.which == "throughput":
        return {"throughput": measure_throughput()}
    if args.which == "budget":
        from training.budget_benchmark import format_table, run_budget_benchmark

        table = run_budget_benchmark(
            args.suite, minutes=args.minutes_per_arm, arms=args.arms, out=args.out,
            overrides=args.overrides,
        )  # fmt: skip
        print(format_table(table), file=sys.stderr)
        return table
    if args.which == "cifar10-cpu":
        return cifar10_cpu(
            args.minutes_per_arm,
            out=args.out,
            overrides=args.overrides,
            arms=args.arms or CIFAR10_CPU_ARMS,
            steps_per_arm=args.steps_per_arm,
        )
    return cifar10_gpu(args.minutes, out=args.out, overrides=args.overrides)


def measure_throughput(
    grid: tuple[tuple[str, float, int], ...] = THROUGHPUT_GRID,
    *,
    batch: int = 64,
    steps: int = 3,
) -> list[dict[str, Any]]:
    """Training and onnxruntime inference images/s for each (backbone, width, size)."""
    from training.export import export_onnx

    rows = []
    for backbone, width, size in grid:
        cfg = TrainConfig()
        cfg.model.backbone, cfg.model.width = backbone, width
        model = build_model(cfg.model, image_size=size)
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)
        loss_fn, augment = SSCQLoss(cfg.loss, n_codebooks=8), TensorAugment(size)
        images = torch.randint(0, 256, (batch, size, size, 3), dtype=torch.uint8)
        timings = []
        for _ in range(steps + 1):
            t0 = time.perf_counter()
            x1, x2 = augment.two_views(images)
            o1, o2 = model(x1), model(x2)
            loss, _ = loss_fn(o1.f, o1.z, o2.f, o2.z, model.quantizer.codebooks)
            opt.zero_grad()
            loss.backward()
            opt.step()
            timings.append(time.perf_counter() - t0)
        train_ips = batch / float(np.median(timings[1:]))
        rows.append({
            "backbone": backbone, "width": width, "size": size,
            "params_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 2),
            "train_images_per_s": round(train_ips, 1),
            "onnx_images_per_s": round(_onnx_throughput(export_onnx(model.eval(), image_size=size), size), 1),
        })  # fmt: skip
        logger.info("throughput %s", rows[-1])
    return rows


def _onnx_throughput(proto: Any, size: int, batch: int = 64) -> float:
    import onnxruntime as ort

    session = ort.InferenceSession(
        proto.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    x = np.random.default_rng(0).integers(
        0, 256, (batch, size, size, 3), dtype=np.uint8
    )
    session.run(None, {"images": x})
    t0 = time.perf_counter()
    for _ in range(3):
        session.run(None, {"images": x})
    return 3 * batch / (time.perf_counter() - t0)


LEARNED_ARMS: dict[str, list[str]] = {
    "sscq": [],
    "sscq_ic0": ["loss.w_ic_z=0.0", "loss.w_ic_f=0.0"],
    "spq": ['loss.kind="spq"'],
}
BASELINE_ARMS = ("pca_kmeans_pixels", "random_init_kmeans")
CIFAR10_CPU_ARMS = (*LEARNED_ARMS, *BASELINE_ARMS)


def cifar10_cpu(
    minutes_per_arm: float,
    *,
    out: Path,
    overrides: list[str],
    arms: tuple[str, ...] = CIFAR10_CPU_ARMS,
    steps_per_arm: int = 0,
) -> dict[str, Any]:
    """The CIFAR-10 CPU table (all five arms: about 3 x budget + 10 minutes of CPU).

    ``steps_per_arm`` > 0 gives every learned arm exactly that many steps (no time
    budget); otherwise the first learned arm sizes its schedule from ``minutes_per_arm``.
    """
    unknown = sorted(set(arms) - set(CIFAR10_CPU_ARMS))
    if unknown or not arms:
        raise ValueError(
            f"unknown arms {unknown}; choose from {', '.join(CIFAR10_CPU_ARMS)}"
        )
    table: dict[str, Any] = {}
    steps = steps_per_arm
    for name, extra in LEARNED_ARMS.items():
        if name not in arms:
            continue
        cfg = apply_overrides(load_recipe("cifar10_cpu"), [*overrides, *extra])
        if steps == 0:
            # The first arm sizes its schedule from the time budget ...
            cfg.run.time_budget_min = minutes_per_arm
        else:
            # ... and every later arm runs exactly as many steps (same backbone, batch and
            # augmentations, so the same compute), which stays fair when other jobs share
            # the CPU and a wall-clock budget would buy each arm a different amount of work.
            cfg.run.time_budget_min = 0.0
            cfg.optim.max_steps = steps
        table[name] = _train_and_score(cfg, out / name)
        steps = steps or int(table[name]["steps"])
    cfg = apply_overrides(load_recipe("cifar10_cpu"), overrides)
    if "pca_kmeans_pixels" in arms:
        table["pca_kmeans_pixels"] = _pca_baseline(cfg)
    if "random_init_kmeans" in arms:
        table["random_init_kmeans"] = _random_net_baseline(cfg)
    result = {
        "minutes_per_arm": minutes_per_arm if steps_per_arm == 0 else None,
        "steps_per_arm": steps,
        "bits": _bits(cfg),
        "table": table,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "cifar10_cpu.json").write_text(json.dumps(result, indent=2))
    return result


def cifar10_gpu(minutes: float, *, out: Path, overrides: list[str]) -> dict[str, Any]:
    """Train the GPU recipe for `minutes` and report mAP@1000 (last checkpoint)."""
    cfg = apply_overrides(load_recipe("cifar10_gpu"), overrides)
    cfg.run.time_budget_min = minutes
    t0 = time.perf_counter()
    result = _train_and_score(cfg, out / "cifar10_gpu")
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    return result


def _train_and_score(cfg: TrainConfig, run_dir: Path) -> dict[str, Any]:
    run_dir.mkdir(parents=True, exist_ok=True)
    cfg.run.eval_at_end = True
    with (run_dir / "progress.jsonl").open("w", encoding="utf-8") as log:
        result = train(
            cfg, out_dir=run_dir, reporter=ProgressReporter("json", stream=log)
        )
    last = result.schedule.evals[-1] if result.schedule.evals else {}
    return {
        "map": last.get("map"), "map_at": last.get("map_at"), "checkpoint": "last",
        "steps": result.schedule.step, "epochs": round(result.schedule.step / result.schedule.steps_per_epoch, 2),
        "distinct_codes": last.get("distinct_codes"), "final_losses": result.last_losses,
    }  # fmt: skip


def _bits(cfg: TrainConfig) -> int:
    return cfg.model.n_codebooks * cfg.model.nbits


def _pca_baseline(cfg: TrainConfig) -> dict[str, Any]:
    data = load_cifar10(cfg.data.path, cache_dir=cfg.data.cache_dir)
    flat_db = data.train_x.reshape(len(data.train_x), -1).astype(np.float32) / 255.0
    flat_q = data.test_x.reshape(len(data.test_x), -1).astype(np.float32) / 255.0
    sample = flat_db[np.random.default_rng(0).permutation(len(flat_db))[:10000]]
    pca = PcaProjection(sample, cfg.model.n_codebooks * cfg.model.dsub)
    return _kmeans_score(
        pca.transform(flat_q), pca.transform(flat_db), cfg, data.test_y, data.train_y
    )


def _random_net_baseline(cfg: TrainConfig) -> dict[str, Any]:
    data = load_cifar10(cfg.data.path, cache_dir=cfg.data.cache_dir)
    torch.manual_seed(cfg.run.seed)
    model = build_model(cfg.model, image_size=cfg.data.image_size)
    cpu = torch.device("cpu")
    q = embed_pixels(model, data.test_x, device=cpu)
    db = embed_pixels(model, data.train_x, device=cpu)
    return _kmeans_score(q, db, cfg, data.test_y, data.train_y)


def _kmeans_score(
    q: np.ndarray,
    db: np.ndarray,
    cfg: TrainConfig,
    q_labels: np.ndarray,
    db_labels: np.ndarray,
) -> dict[str, Any]:
    codebook = train_pq_codebook(
        db, n_codebooks=cfg.model.n_codebooks, ksub=2**cfg.model.nbits
    )
    scores = score_retrieval(
        q, db, codebook, query_labels=q_labels, database_labels=db_labels, top_n=1000
    )
    return {
        "map": scores["map"],
        "map_at": scores["map_at"],
        "distinct_codes": scores["distinct_codes"],
    }


def default_cache() -> str:
    """A throwaway cache folder (tests)."""
    return tempfile.mkdtemp(prefix="sscq-bench-")
