"""Quality per CPU-minute: train every arm for the same CPU budget, score held-out photos.

``python -m training benchmark budget --suite photos --minutes-per-arm 8`` trains each arm
(a named set of ``--set`` overrides on the suite's base recipe) with one thread for the
same number of *CPU* minutes (``run.budget_clock = "cpu"``: the process's own CPU time,
so an arm that shares the machine with other work gets the same compute, only later),
then scores its last checkpoint:

- ``photos``: base recipe ``photos_default`` on the Tiny ImageNet and Imagenette training
  folders together; each corpus holds 10% out by split seed 2022 (queries) and is scored
  apart (mAP@100, P@10 against its own 90%).
- ``cifar10``: base recipe ``cifar10_cpu`` with the plain conv+pool backbone; the standard
  protocol (mAP@1000, test queries against the training set).

Every arm's result is written to ``OUT/SUITE/ARM/result.json`` as soon as it is known and
a rerun skips arms that have one, so a stopped benchmark resumes where it was. The table
(``OUT/SUITE/budget.json``) lists every finished arm of that suite and budget.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from training.config import TrainConfig, apply_overrides, load_recipe
from training.progress import ProgressReporter
from training.trainer import train

logger = logging.getLogger(__name__)

PHOTO_ARMS: dict[str, list[str]] = {
    # The base: plain conv+pool, width 1, 64 px, crop 0.2-1, jitter 0.4, batch 256, lr 5e-4.
    "base": [],
    "compact_w0.5": ['model.backbone="compact"', "model.width=0.5"],
    "depthwise_w1": ['model.backbone="depthwise"'],
    "convpool_w1.5": ["model.width=1.5"],
    "size48": ["data.image_size=48", "data.store_size=60"],
    "size80": ["data.image_size=80", "data.store_size=100"],
    "crop0.08": ["data.crop_scale_min=0.08"],
    "crop0.35": ["data.crop_scale_min=0.35"],
    "jitter0.2": ["data.color_jitter=0.2"],
    "jitter0": ["data.color_jitter=0.0"],
    "batch128": ["optim.batch_size=128"],
    "lr1e-3": ["optim.lr=1e-3"],
    "noblur": ["data.blur_sigma_max=0.0"],
}
CIFAR10_ARMS: dict[str, list[str]] = {
    # The plain conv+pool net of the independent run: 32 px, crop 0.2-1, batch 256.
    "convpool": [],
    "compact_w0.5": ['model.backbone="compact"', "model.width=0.5"],
    "convpool_crop0.08": ["data.crop_scale_min=0.08"],
    "convpool_noblur": ["data.blur_sigma_max=0.0"],
    # Session 6: a sharper NT-Xent temperature; more, larger steps (both without blur).
    "noblur_tau0.2": ["data.blur_sigma_max=0.0", "loss.tau_ic=0.2"],
    "noblur_b128_lr1e-3": [
        "data.blur_sigma_max=0.0",
        "optim.batch_size=128",
        "optim.lr=1e-3",
    ],
    "noblur_b64_lr1e-3": [
        "data.blur_sigma_max=0.0",
        "optim.batch_size=64",
        "optim.lr=1e-3",
    ],
    "noblur_b128_lr2e-3": [
        "data.blur_sigma_max=0.0",
        "optim.batch_size=128",
        "optim.lr=2e-3",
    ],
}
CIFAR10_BASE = [
    'model.backbone="convpool"',
    "model.width=1.0",
    "data.crop_scale_min=0.2",
    "optim.batch_size=256",
    "run.channels_last=true",  # 0.67-0.80 vs 0.89 s per step at 32 px, one thread
]
SUITES: dict[str, tuple[str, list[str], dict[str, list[str]]]] = {
    "photos": ("photos_default", [], PHOTO_ARMS),
    "cifar10": ("cifar10_cpu", CIFAR10_BASE, CIFAR10_ARMS),
}


def suite_arms(suite: str) -> dict[str, list[str]]:
    """The arms of `suite`.

    Raises:
        ValueError: for an unknown suite.
    """
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; choose from {', '.join(SUITES)}")
    return SUITES[suite][2]


def photo_corpora(shared_data: Path) -> list[Path]:
    """The photos suite's training folders, extracted from `shared_data` on first use.

    Raises:
        FileNotFoundError: if an archive is missing.
    """
    from training.data.archives import extracted_folder

    return [
        extracted_folder(
            shared_data / "tiny-imagenet-200-train-50k.tar.gz",
            "tiny-imagenet-200/train",
        ),
        extracted_folder(
            shared_data / "imagenette2-224-train.tar", "imagenette2-224/train"
        ),
    ]


def arm_config(
    suite: str,
    arm: str,
    *,
    minutes: float,
    overrides: list[str],
    data_path: str = "",
) -> TrainConfig:
    """The resolved config of one arm: base recipe, suite base, arm, then `overrides`.

    Raises:
        ValueError: for an unknown suite or arm.
    """
    arms = suite_arms(suite)  # raises for an unknown suite
    recipe, base, _ = SUITES[suite]
    if arm not in arms:
        raise ValueError(f"unknown {suite} arm {arm!r}; choose from {', '.join(arms)}")
    cfg = apply_overrides(load_recipe(recipe), [*base, *arms[arm]])
    if data_path:
        cfg.data.path = data_path
    cfg.run.threads = 1
    cfg.run.budget_clock = "cpu"
    cfg.run.time_budget_min = minutes
    cfg.run.eval_every_epochs = 0
    cfg.run.eval_at_end = True
    return apply_overrides(cfg, overrides)


def run_budget_benchmark(
    suite: str,
    *,
    minutes: float,
    arms: tuple[str, ...] | None,
    out: Path,
    overrides: list[str],
    shared_data: Path | None = None,
) -> dict[str, Any]:
    """Train and score each arm (skipping finished ones); return and save the table.

    Raises:
        ValueError: for an unknown suite or arm, or a non-positive budget.
    """
    known = suite_arms(suite)
    chosen = arms or tuple(known)
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise ValueError(
            f"unknown {suite} arms {unknown}; choose from {', '.join(known)}"
        )
    if minutes <= 0:
        raise ValueError(f"--minutes-per-arm must be positive, got {minutes}")
    data_path = ""
    if suite == "photos" and not any(o.startswith("data.path=") for o in overrides):
        from training.data.archives import shared_data_dir

        data_path = os.pathsep.join(
            str(p) for p in photo_corpora(shared_data or shared_data_dir())
        )
    suite_dir = out / suite
    for arm in chosen:
        result_file = suite_dir / arm / "result.json"
        if result_file.is_file():
            previous = json.loads(result_file.read_text(encoding="utf-8"))
            if previous.get("cpu_minutes_budget") == minutes:
                logger.info("arm %s already done (%s)", arm, result_file)
                continue
        cfg = arm_config(
            suite, arm, minutes=minutes, overrides=overrides, data_path=data_path
        )
        result = _train_arm(cfg, suite_dir / arm)
        result.update(arm=arm, overrides=known[arm], cpu_minutes_budget=minutes)
        result_file.write_text(json.dumps(result, indent=2), encoding="utf-8")
        logger.info("arm %s: %s", arm, _headline(result))
    table = collect_table(suite_dir, minutes=minutes)
    (suite_dir / "budget.json").write_text(
        json.dumps(table, indent=2), encoding="utf-8"
    )
    return table


def collect_table(suite_dir: Path, *, minutes: float) -> dict[str, Any]:
    """Every finished arm under `suite_dir` trained for `minutes` CPU-minutes."""
    rows = []
    for result_file in sorted(suite_dir.glob("*/result.json")):
        row = json.loads(result_file.read_text(encoding="utf-8"))
        if row.get("cpu_minutes_budget") == minutes:
            rows.append(row)
    return {
        "suite": suite_dir.name,
        "cpu_minutes_per_arm": minutes,
        "threads_per_arm": 1,
        "rows": rows,
    }


def format_table(table: dict[str, Any]) -> str:
    """The table as Markdown: one row per arm, one mAP column per corpus."""
    rows = table["rows"]
    corpora = sorted({c for r in rows for c in r["scores"]})
    head = ["arm", "steps", "epochs", "train img/s", *(f"{c} mAP" for c in corpora)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        maps = [
            f"{r['scores'][c]['map']:.3f}" if c in r["scores"] else "" for c in corpora
        ]
        lines.append(
            "| " + " | ".join(
                [r["arm"], str(r["steps"]), f"{r['epochs']:.1f}", f"{r['images_per_s']:.0f}", *maps]
            ) + " |"
        )  # fmt: skip
    return "\n".join(lines)


def _train_arm(cfg: TrainConfig, run_dir: Path) -> dict[str, Any]:
    run_dir.mkdir(parents=True, exist_ok=True)
    t0, c0 = time.perf_counter(), time.process_time()
    with (run_dir / "progress.jsonl").open("w", encoding="utf-8") as log:
        result = train(
            cfg, out_dir=run_dir, reporter=ProgressReporter("json", stream=log)
        )
    last = result.schedule.evals[-1] if result.schedule.evals else {}
    per_corpus = last.get("corpora") or {cfg.data.source: last}
    sched = result.schedule
    return {
        "scores": {
            name: {
                "map": m.get("map"), "map_at": m.get("map_at"),
                "precision": m.get("precision"), "distinct_codes": m.get("distinct_codes"),
            }
            for name, m in per_corpus.items()
        },
        "steps": sched.step,
        "epochs": round(sched.step / sched.steps_per_epoch, 2),
        "images_per_s": round(sched.step * cfg.optim.batch_size / max(sched.elapsed_s, 1e-9), 1),
        "train_cpu_s": round(sched.elapsed_s, 1),
        "wall_s_with_eval": round(time.perf_counter() - t0, 1),
        "cpu_s_with_eval": round(time.process_time() - c0, 1),
        "checkpoint": "last",
        "config": cfg.to_dict(),
    }  # fmt: skip


def _headline(result: dict[str, Any]) -> str:
    return ", ".join(f"{c} mAP {s['map']:.3f}" for c, s in result["scores"].items())
