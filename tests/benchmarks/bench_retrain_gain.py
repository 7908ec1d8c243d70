"""Retrain gain on a user's library: the default model vs the app's retrain, with labels
and with the app's label-free check.

Not collected by pytest. Issue 3's target: retraining on a 5,000-photo library finishes
within 30 minutes on this machine's CPU and measurably improves retrieval on that
library's held-out photos over the model it started from (labels only measure). Issue
12 (point 4): does the app's label-free check (`compare_models`, run after a retrain
before switching) see that gain, and would the app switch?

1. The "user library", unlike the default model's training data (``--library``):

   - ``cifar10``: a fixed-seed, class-balanced sample of N CIFAR-10 training images
     (32x32 JPEGs), streamed out of ``cifar10-jpeg.tar.gz``;
   - ``tiny-heldout``: the 20 Tiny ImageNet categories that the default model's recipe
     keeps out of training (``photos_default``'s ``data.exclude_classes``), 250 photos
     each (64x64 JPEGs), copied from the extracted ``tiny-imagenet-200-train-50k.tar.gz``
     (``--source-folder`` names an extracted ``tiny-imagenet-200/train`` instead); N
     caps them, class-balanced, fixed seed.

   Archives come from $SSCQ_SHARED_DATA, else ``../shared/data``; the photos go to
   ``WORK/library/<class>/``. Class folders are labels for measuring only: the trainer's
   folder source holds 10% out as queries (recipe ``photos_cpu``: holdout_fraction 0.1,
   split_seed 2022) and trains, unlabeled, on the other 90% (the database).
2. Before: ``python -m training evaluate DEFAULT.pt --data WORK/library`` with the
   recipe's split. That is the trainer's own scoring path (`evaluate_model`: PQ codes of
   the database, ADC from continuous query embeddings, mAP@100 and P@10) on the default
   model's companion checkpoint, the weights of its ONNX (``--default-model``, else
   ``resources/default_model.onnx``).
3. After: the app's default retrain, a warm start from the default model, ``python -m
   training train --recipe photos_cpu --data WORK/library --init-from DEFAULT.pt
   --time-budget-min M --export ... --progress json``; the metrics are the end-of-run
   ``eval`` event (same split, same scoring) and wall time is the whole trainer process
   (decoding, probe, training, evaluation, ONNX export). As a cross-check, ``evaluate``
   re-scores the run's ``last.pt`` exactly like step 2.
4. The label-free estimate, before and after: ``compare_models(default ONNX, retrained
   ONNX, photos)``, the app's check, on exactly the trainer's held-out queries
   (`list_images` of the library, `holdout_split` with the recipe's fraction and seed,
   checked against the query and database counts `evaluate` reports), decoded as the
   app does (``load_image(path, thumbnail_size=256)``). None of these photos was trained
   on by the retrain; with ``tiny-heldout`` none of their categories was trained on by
   the default model either (the report says whether the default's checkpoint really
   excludes them). "Before" is the default model's score, "after" the new model's; the
   decision (``better``) and its reason are what the app would do with that pair.
5. ``--from-scratch-too``: the same command without ``--init-from``, checked the same way.

Differences from the app: the app trains on an ``--image-list`` of every photo but its own
check sample (up to 300, `check_photo_count`), unlabeled; here ``--data`` keeps the
held-out 10% out of training so that they can be scored with labels, and the check uses
all of them (500 of 5,000), so its standard error is a little smaller than the app's.
Every run gets a fresh decoded-pixel cache (as a first retrain does), so decoding is in
the time.

Full size (5,000 photos, the default 30-minute budget: about 33 minutes per training
run on 2 cores, twice that with ``--from-scratch-too``; run it with nothing else busy):
``python tests/benchmarks/bench_retrain_gain.py --library tiny-heldout --work
runs/retrain_gain_tiny --from-scratch-too --json-out runs/retrain_gain_tiny.json`` and
``python tests/benchmarks/bench_retrain_gain.py --library cifar10 --work
runs/retrain_gain_cifar10 --from-scratch-too --json-out runs/retrain_gain_cifar10.json``.
Smoke run: ``--library tiny-heldout --n 200 --minutes 0.3 --threads 1`` (20 queries:
too few for the check, which then says so; ``--n 500`` exercises it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from sscq_desktop.library.images.image_loader import ImageLoadError, load_image
from sscq_desktop.library.retrain.model_check import ModelCheck, compare_models
from sscq_desktop.library.retrain.quality_estimate import WORKING_SIDE
from training.config import load_recipe
from training.data.archives import extracted_folder, shared_data_dir
from training.data.image_folder import list_images
from training.data.sources import holdout_split

REPO = Path(__file__).resolve().parents[2]
RECIPE = "photos_cpu"
DEFAULT_RECIPE = "photos_default"  # the default model's recipe (its excluded classes)
DEFAULT_MODEL = Path("resources/default_model.onnx")  # relative to REPO (runs' cwd)
RECIPE_BATCH_SIZE = 128  # photos_cpu's batch; the app shrinks it for small libraries
TARGET_MINUTES = 30.0
LIBRARIES = ("cifar10", "tiny-heldout")
CIFAR_ARCHIVE = "cifar10-jpeg.tar.gz"
CIFAR_TRAIN_PREFIX = "cifar10/train/"
TINY_ARCHIVE = "tiny-imagenet-200-train-50k.tar.gz"
TINY_TRAIN = "tiny-imagenet-200/train"


def default_archive(library: str) -> Path:
    """The shared archive a library is drawn from ($SSCQ_SHARED_DATA or ../shared/data)."""
    name = CIFAR_ARCHIVE if library == "cifar10" else TINY_ARCHIVE
    return shared_data_dir() / name


def heldout_classes() -> list[str]:
    """The Tiny ImageNet wnids the default model's recipe keeps out of training."""
    text = load_recipe(DEFAULT_RECIPE).data.exclude_classes
    classes = sorted({c.strip() for c in text.split(",") if c.strip()})
    if not classes:
        raise ValueError(f"recipe {DEFAULT_RECIPE} excludes no classes")
    return classes


# ---------------------------------------------------------------- the user library


def _balanced_sample(
    by_class: dict[str, list[str]], n: int, seed: int
) -> dict[str, list[str]]:
    """A fixed-seed sample of `n` items, spread evenly over the classes (sorted names).

    Raises:
        ValueError: if `n` is more than there are, or a class has too few.
    """
    classes = list(by_class)
    total = sum(len(v) for v in by_class.values())
    if not classes or n > total:
        raise ValueError(f"asked for {n} images; the source has {total}")
    rng = np.random.default_rng(seed)
    picked: dict[str, list[str]] = {}
    for i, cls in enumerate(classes):
        count = n // len(classes) + (1 if i < n % len(classes) else 0)
        names = by_class[cls]
        if count > len(names):
            raise ValueError(f"class {cls!r} has {len(names)} images, {count} asked")
        chosen = rng.choice(len(names), size=count, replace=False)
        picked[cls] = sorted(names[j] for j in chosen)
    return picked


def _reusable(library: Path, marker: Path, spec: dict[str, Any]) -> bool:
    """Whether WORK/library was built from the same spec (else it is cleared)."""
    if library.is_dir() and marker.is_file():
        try:
            if json.loads(marker.read_text(encoding="utf-8")) == spec:
                return True
        except (OSError, ValueError):
            pass
    marker.unlink(missing_ok=True)
    if library.exists():
        shutil.rmtree(library)
    return False


def _cifar_members(tar: tarfile.TarFile) -> dict[str, list[str]]:
    """Class name -> sorted member names of ``cifar10/train/<class>/*.jpg``."""
    by_class: dict[str, list[str]] = {}
    for member in tar.getmembers():
        if not member.isfile() or not member.name.startswith(CIFAR_TRAIN_PREFIX):
            continue
        parts = member.name[len(CIFAR_TRAIN_PREFIX) :].split("/")
        if len(parts) != 2 or not parts[1].lower().endswith(".jpg"):
            continue
        cls, name = parts
        if cls in ("", ".", "..") or name.startswith("."):
            continue
        by_class.setdefault(cls, []).append(member.name)
    return {cls: sorted(names) for cls, names in sorted(by_class.items())}


def build_cifar_library(archive: Path, work: Path, *, n: int, seed: int) -> Path:
    """Stream a class-balanced, fixed-seed sample of N training images into WORK/library.

    Reuses the folder when ``WORK/library.json`` records the same archive, N and seed.

    Raises:
        FileNotFoundError: if the archive is missing.
        ValueError: if N is larger than the archive's training set.
    """
    if not archive.is_file():
        raise FileNotFoundError(
            f"CIFAR-10 archive not found: {archive} (set SSCQ_SHARED_DATA or --archive)"
        )
    library = work / "library"
    marker = work / "library.json"
    spec = {
        "library": "cifar10",
        "archive": str(archive.resolve()),
        "size": archive.stat().st_size,
        "n": n,
        "seed": seed,
    }
    if _reusable(library, marker, spec):
        return library
    with tarfile.open(archive, "r:gz") as tar:
        by_class = _cifar_members(tar)
    wanted = {
        m for names in _balanced_sample(by_class, n, seed).values() for m in names
    }
    written = 0
    with tarfile.open(archive, "r|gz") as stream:  # one sequential pass
        for member in stream:
            if member.name not in wanted:
                continue
            handle = stream.extractfile(member)
            if handle is None:
                continue
            cls, name = member.name[len(CIFAR_TRAIN_PREFIX) :].split("/")
            dest = library / cls / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(handle.read())
            written += 1
    if written != len(wanted):
        raise RuntimeError(f"extracted {written} of {len(wanted)} sampled images")
    marker.write_text(json.dumps(spec), encoding="utf-8")
    return library


def build_tiny_library(
    source: Path, work: Path, *, classes: Sequence[str], n: int, seed: int
) -> Path:
    """Copy a class-balanced, fixed-seed sample of N photos of `classes` into WORK/library.

    Args:
        source: An extracted ``tiny-imagenet-200/train`` (``<wnid>/<wnid>_<i>.JPEG``).
        work: The work folder.
        classes: The wnids to take (each must be a folder of `source`).
        n: Photos in all; every photo of every class when N is their total.
        seed: Sample seed.

    Raises:
        FileNotFoundError: if a class folder is missing.
        ValueError: if N is larger than the classes hold.
    """
    library = work / "library"
    marker = work / "library.json"
    spec = {
        "library": "tiny-heldout",
        "source": str(source.resolve()),
        "classes": list(classes),
        "n": n,
        "seed": seed,
    }
    if _reusable(library, marker, spec):
        return library
    by_class: dict[str, list[str]] = {}
    for cls in classes:
        folder = source / cls
        if not folder.is_dir():
            raise FileNotFoundError(f"Tiny ImageNet class folder not found: {folder}")
        by_class[cls] = [p.name for p in list_images(folder)]
    for cls, names in _balanced_sample(by_class, n, seed).items():
        (library / cls).mkdir(parents=True, exist_ok=True)
        for name in names:  # real copies: the library owns its files
            shutil.copyfile(source / cls / name, library / cls / name)
    marker.write_text(json.dumps(spec), encoding="utf-8")
    return library


def tiny_source(args: argparse.Namespace) -> Path:
    """The extracted Tiny ImageNet training folder (extracted into the cache if need be)."""
    if args.source_folder is not None:
        return Path(args.source_folder).resolve()
    archive = (args.archive or default_archive("tiny-heldout")).resolve()
    print(f"using {TINY_TRAIN} of {archive} ...", file=sys.stderr)
    return extracted_folder(archive, TINY_TRAIN)


# ---------------------------------------------------------------- held-out photos


@dataclass
class HeldOut:
    """The trainer's held-out queries of the library, decoded as the app decodes."""

    paths: list[Path]
    images: list[Image.Image]
    unreadable: list[str]
    n_database: int


def held_out_photos(library: Path, split: dict[str, Any]) -> HeldOut:
    """The queries the trainer's folder source holds out of training, decoded.

    Same listing (`list_images`) and same split (`holdout_split`, the recipe's fraction
    and seed) as ``training.data.sources``; that the counts match what ``evaluate``
    reports is checked by the caller.
    """
    paths = list_images(library)
    db_idx, q_idx = holdout_split(
        len(paths), fraction=split["holdout_fraction"], seed=split["split_seed"]
    )
    queries = [paths[i] for i in q_idx]
    images: list[Image.Image] = []
    unreadable: list[str] = []
    for path in queries:
        try:
            images.append(load_image(path, thumbnail_size=WORKING_SIDE).image)
        except ImageLoadError as exc:  # the app skips these too
            unreadable.append(f"{path}: {exc}")
    return HeldOut(queries, images, unreadable, len(db_idx))


def run_check(
    default_onnx: Path, new_onnx: Path, photos: Sequence[Image.Image], *, threads: int
) -> tuple[ModelCheck, float]:
    """The app's check: `compare_models(default, retrained, photos)`, and its seconds."""
    from sscq_desktop.model.artifact import read_artifact
    from sscq_desktop.model.encoder import OnnxEncoder

    t0 = time.perf_counter()
    active, new = (
        OnnxEncoder(read_artifact(p), device="cpu", intra_op_threads=threads or None)
        for p in (default_onnx, new_onnx)
    )
    check = compare_models(active, new, photos)
    return check, time.perf_counter() - t0


def _check_dict(check: ModelCheck) -> dict[str, Any]:
    """The check as JSON-safe values (NaN -> None), with its one-line summary."""
    out = {
        k: (None if isinstance(v, float) and math.isnan(v) else v)
        for k, v in asdict(check).items()
    }
    out["summary"] = check.summary()
    return out


def default_excludes(checkpoint: Path, classes: Sequence[str]) -> bool:
    """Whether the default model's checkpoint config kept every class of `classes` out."""
    import torch

    from training.checkpoint import load_checkpoint

    torch.set_num_threads(1)
    data = load_checkpoint(checkpoint)["config"].get("data", {})
    excluded = {c.strip() for c in str(data.get("exclude_classes", "")).split(",")}
    return set(classes) <= excluded


# ---------------------------------------------------------------- trainer processes


@dataclass
class RunResult:
    """One row of the table."""

    label: str
    command: list[str]
    wall_s: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    check: dict[str, Any] = field(default_factory=dict)


def _fresh(path: Path) -> Path:
    """Remove a folder this script owns (under WORK) so a run starts clean."""
    if path.exists():
        shutil.rmtree(path)
    return path


def _env(threads: int) -> dict[str, str] | None:
    """The trainer processes' environment: BLAS/OpenMP pinned to `threads` (0: as is)."""
    if threads <= 0:
        return None
    return {
        **os.environ,
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
    }


def run_evaluate(
    checkpoint: Path,
    library: Path,
    cache: Path,
    split: dict[str, Any],
    *,
    threads: int,
) -> tuple[list[str], dict[str, Any], float]:
    """``python -m training evaluate CHECKPOINT --data LIBRARY`` with the recipe's split.

    ``data.exclude_classes`` is cleared: the default model's checkpoint may name the very
    classes of the library (it never trained on them), which would leave nothing to score.

    Returns:
        The argument list, the printed metrics and the wall time in seconds.

    Raises:
        RuntimeError: if the evaluation fails.
    """
    argv = [
        sys.executable, "-m", "training", "evaluate", str(checkpoint),
        "--data", str(library),
        "--set", f"data.holdout_fraction={split['holdout_fraction']!r}",
        "--set", f"data.split_seed={split['split_seed']!r}",
        "--set", 'data.exclude_classes=""',
        "--set", f"data.cache_dir={json.dumps(str(cache))}",
    ]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.run(
        argv, cwd=REPO, capture_output=True, text=True, check=False, env=_env(threads)
    )
    wall = time.perf_counter() - t0
    text = proc.stdout
    if proc.returncode != 0 or "{" not in text:
        raise RuntimeError(
            f"evaluate failed ({proc.returncode}): {shlex.join(argv)}\n"
            f"{text[-2000:]}\n{proc.stderr[-4000:]}"
        )
    metrics: dict[str, Any] = json.loads(text[text.index("{") :])
    return argv, metrics, wall


def run_train(
    label: str,
    library: Path,
    run_dir: Path,
    cache: Path,
    *,
    minutes: float,
    init_from: Path | None,
    n_train: int,
    threads: int,
    overrides: Sequence[str],
    log: Path,
) -> RunResult:
    """The app's retrain command on the library folder, timed, its JSON lines parsed.

    Raises:
        RuntimeError: if the trainer fails or reports no evaluation.
    """
    argv = [
        sys.executable, "-m", "training", "train",
        "--recipe", RECIPE,
        "--data", str(library),
        "--out", str(run_dir),
        "--time-budget-min", repr(float(minutes)),
        "--export", str(run_dir / "model.onnx"),
        "--progress", "json",
        "--set", f"data.cache_dir={json.dumps(str(cache))}",
    ]  # fmt: skip
    if n_train < RECIPE_BATCH_SIZE:  # as the app does for a small library
        argv += ["--set", f"optim.batch_size={n_train}"]
    if threads > 0:
        argv += ["--set", f"run.threads={threads}"]
    for item in overrides:
        argv += ["--set", item]
    if init_from is not None:
        argv += ["--init-from", str(init_from)]
    events: dict[str, dict[str, Any]] = {}
    t0 = time.perf_counter()
    last_note = t0
    with (
        log.open("w", encoding="utf-8") as err,
        subprocess.Popen(
            argv,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=_env(threads),
        ) as proc,
    ):
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if not isinstance(record, dict):
                continue
            event = str(record.get("event"))
            if event in ("start", "eval", "done", "error"):
                events[event] = record
            now = time.perf_counter()
            if event == "step" and now - last_note > 60:
                last_note = now
                print(
                    f"  [{label}] step {record.get('step')}/{record.get('total_steps')}"
                    f" after {now - t0:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
        rc = proc.wait()
    wall = time.perf_counter() - t0
    if rc != 0 or "done" not in events:
        message = events.get("error", {}).get("message", "")
        raise RuntimeError(
            f"{label}: trainer exited {rc} {message}; see {log}\n{shlex.join(argv)}"
        )
    done = events["done"]
    metrics = done.get("last_eval") or events.get("eval")
    if not metrics:
        lines = (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
        metrics = json.loads(lines[-1]) if lines else None
    if not metrics:
        raise RuntimeError(f"{label}: the trainer reported no evaluation; see {log}")
    start = events.get("start", {})
    details = {
        "steps": done.get("steps"),
        "epoch": metrics.get("epoch"),
        "train_elapsed_s": done.get("elapsed_s"),
        "device": start.get("device"),
        "data": start.get("data"),
        "export": done.get("export"),
        "onnx": str(run_dir / "model.onnx"),
    }
    return RunResult(label, argv, wall, dict(metrics), details)


# ---------------------------------------------------------------- report


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{int(seconds // 60)}m{seconds % 60:04.1f}s"


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) else "-"


def _pct(value: Any) -> str:
    return f"{value:.1%}" if isinstance(value, int | float) else "-"


def _yes(value: Any) -> str:
    return {True: "yes", False: "no"}.get(value, "-")


def arm_summary(
    arm: str, before: dict[str, Any], run: RunResult, check: dict[str, Any]
) -> dict[str, Any]:
    """Before/after of one arm, labeled and label-free, and the app's decision."""
    after = run.metrics
    return {
        "arm": arm,
        "wall_s": None if run.wall_s is None else round(run.wall_s, 1),
        "steps": run.details.get("steps"),
        "map_before": before.get("map"),
        "map_after": after.get("map"),
        "p10_before": before.get("precision"),
        "p10_after": after.get("precision"),
        "estimate_before": check.get("active_score"),
        "estimate_after": check.get("new_score"),
        "found_first_before": check.get("active_found_first"),
        "found_first_after": check.get("new_found_first"),
        "estimate_stderr": check.get("stderr"),
        "estimate_photos": check.get("n_photos"),
        "better": check.get("better"),
        "reason": check.get("reason"),
        "check_wall_s": check.get("wall_s"),
    }


def render(report: dict[str, Any]) -> str:
    """The markdown table and notes."""
    arms = report["arms"]
    first = arms[0]
    out = [
        "| model | wall time | steps | mAP@100 | P@10 | estimate (copy MRR) "
        "| found first | stderr | app switches |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| before: default model | - | - | {_fmt(first['map_before'])} "
        f"| {_fmt(first['p10_before'])} | {_fmt(first['estimate_before'])} "
        f"| {_pct(first['found_first_before'])} | - | - |",
    ]
    for arm in arms:
        out.append(
            f"| after: {arm['arm']} | {_minutes(arm['wall_s'])} | {arm['steps'] or '-'} "
            f"| {_fmt(arm['map_after'])} | {_fmt(arm['p10_after'])} "
            f"| {_fmt(arm['estimate_after'])} | {_pct(arm['found_first_after'])} "
            f"| {_fmt(arm['estimate_stderr'])} | {_yes(arm['better'])} |"
        )
    split = report["split"]
    verdict = report["verdict"]
    lib = report["library"]
    if lib["kind"] == "cifar10":
        what = (
            f"{report['n_photos']} CIFAR-10 training images (32x32, class-balanced, "
            f"sample seed {report['sample_seed']})"
        )
    else:
        what = (
            f"{report['n_photos']} Tiny ImageNet photos (64x64) of the "
            f"{len(lib['classes'])} categories {DEFAULT_RECIPE} excludes "
            f"(class-balanced, sample seed {report['sample_seed']}); the default "
            f"model's checkpoint excludes them: {_yes(lib.get('default_excludes'))}"
        )
    held = report["held_out"]
    out += [
        "",
        f"- library: {what}, {lib['folder']}",
        f"- labeled: {split['n_queries']} held-out queries vs {split['n_database']} "
        f"database photos (= the retrain's training set); holdout "
        f"{split['holdout_fraction']}, split seed {split['split_seed']}; "
        "mAP@100 and P@10 of PQ codes (ADC), the trainer's `evaluate_model`",
        f"- before = `{report['default_model']['checkpoint']}` (companion of the "
        "default ONNX) scored by `python -m training evaluate --data`; after = the "
        "trainer's end-of-run eval event; check: `evaluate` on the retrain's last.pt "
        f"gives mAP@100 {_fmt(report.get('check', {}).get('map'))}",
        f"- label-free: `compare_models({report['default_model']['onnx']}, retrained "
        f"ONNX, photos)` on the same {held['n_photos']} held-out queries "
        f"({held['n_unreadable']} unreadable), never trained on; estimate = "
        "copy_mrr_strong, found first = edited copies whose original ranks first; "
        "before = the default model's, after = the retrained model's",
        f"- budget: {report['minutes']} min per training run (--time-budget-min); "
        f"wall time = the whole trainer process incl. decoding, eval and ONNX export; "
        f"device {report['device']}; threads {report['threads'] or 'default'}",
        f"- target: warm start wall <= {TARGET_MINUTES:.0f} min: "
        f"{verdict['within_time']}; mAP@100 gain {verdict['map_gain']:+.4f}, P@10 gain "
        f"{verdict['p10_gain']:+.4f}, estimate gain "
        + (
            f"{verdict['estimate_gain']:+.4f}"
            if verdict["estimate_gain"] is not None
            else "-"
        ),
    ]
    for arm in arms:
        out.append(
            f"- {arm['arm']}: the app would switch: {_yes(arm['better'])} "
            f"({arm['reason']}; check took {arm['check_wall_s']} s)"
        )
    out += ["", "commands:", ""]
    out += [f"    {shlex.join(cmd)}" for cmd in report["commands"]]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--library",
        choices=LIBRARIES,
        default="cifar10",
        help="cifar10: N CIFAR-10 training images; tiny-heldout: the Tiny ImageNet "
        f"categories {DEFAULT_RECIPE} never trains on",
    )
    parser.add_argument(
        "--n", type=int, default=5000, help="photos in the library (class-balanced)"
    )
    parser.add_argument(
        "--minutes",
        type=float,
        default=TARGET_MINUTES,
        help="--time-budget-min of each run",
    )
    parser.add_argument(
        "--work", type=Path, help="work folder (library, runs, caches); default: temp"
    )
    parser.add_argument(
        "--archive",
        type=Path,
        help=f"{CIFAR_ARCHIVE} or {TINY_ARCHIVE}, as --library needs "
        "(default: in $SSCQ_SHARED_DATA, else ../shared/data)",
    )
    parser.add_argument(
        "--source-folder",
        type=Path,
        help=f"tiny-heldout: an extracted {TINY_TRAIN} to copy from instead of the "
        "archive",
    )
    parser.add_argument(
        "--default-model",
        type=Path,
        help="the model the app starts from: an ONNX with its companion .pt "
        f"(default {DEFAULT_MODEL})",
    )
    parser.add_argument("--seed", type=int, default=0, help="library sample seed")
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="CPU threads of every trainer process and of onnxruntime (0: their "
        "default, as the app)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra trainer override for the training runs, repeatable "
        '(e.g. run.budget_clock="cpu")',
    )
    parser.add_argument(
        "--from-scratch-too",
        action="store_true",
        help="also train from scratch with the same budget",
    )
    parser.add_argument("--json-out", type=Path, help="write the report as JSON")
    args = parser.parse_args(argv)
    if args.n < 20:
        parser.error("--n must be at least 20 (2 classes with a held-out query each)")
    if args.source_folder is not None and args.library != "tiny-heldout":
        parser.error("--source-folder is for --library tiny-heldout")

    temp: tempfile.TemporaryDirectory[str] | None = None
    if args.work is None:
        temp = tempfile.TemporaryDirectory(prefix="sscq-retrain-gain-")
        work = Path(temp.name)
    else:
        work = args.work.resolve()
        work.mkdir(parents=True, exist_ok=True)
    try:
        return _run(args, work)
    finally:
        if temp is not None:
            temp.cleanup()


def _run(args: argparse.Namespace, work: Path) -> int:
    recipe = load_recipe(RECIPE)
    split = {
        "holdout_fraction": recipe.data.holdout_fraction,
        "split_seed": recipe.data.split_seed,
    }
    if args.default_model is None:
        default_onnx = DEFAULT_MODEL  # relative to REPO, the runs' cwd
    else:
        default_onnx = args.default_model.resolve()
    default_pt = default_onnx.with_suffix(".pt")
    for path in (default_onnx, default_pt):
        if not (REPO / path).is_file():
            raise FileNotFoundError(f"default model file not found: {path}")

    t0 = time.perf_counter()
    lib_info: dict[str, Any] = {"kind": args.library}
    if args.library == "cifar10":
        archive = (args.archive or default_archive("cifar10")).resolve()
        library = build_cifar_library(archive, work, n=args.n, seed=args.seed)
        lib_info["source"] = str(archive)
    else:
        classes = heldout_classes()
        source = tiny_source(args)
        library = build_tiny_library(
            source, work, classes=classes, n=args.n, seed=args.seed
        )
        lib_info.update(
            source=str(source),
            classes=classes,
            default_excludes=default_excludes(REPO / default_pt, classes),
        )
    lib_info["folder"] = str(library)
    print(
        f"library: {args.n} {args.library} images in {library} "
        f"({time.perf_counter() - t0:.1f} s)",
        file=sys.stderr,
    )
    if lib_info.get("default_excludes") is False:
        print(
            f"warning: {default_pt} was trained without {DEFAULT_RECIPE}'s "
            "exclude_classes: the default model has seen these categories",
            file=sys.stderr,
        )
    held = held_out_photos(library, split)
    caches = _fresh(work / "cache")
    runs = work / "runs"
    runs.mkdir(exist_ok=True)
    commands: list[list[str]] = []

    print("evaluating the default model ...", file=sys.stderr)
    cmd, before, eval_s = run_evaluate(
        default_pt, library, caches / "before", split, threads=args.threads
    )
    commands.append(cmd)
    if (before.get("n_queries"), before.get("n_database")) != (
        len(held.paths),
        held.n_database,
    ):
        raise RuntimeError(
            f"the held-out photos are not the trainer's queries: {len(held.paths)} "
            f"queries / {held.n_database} database here, {before.get('n_queries')} / "
            f"{before.get('n_database')} in the trainer (unreadable files?)"
        )
    n_train = int(before["n_database"])

    def check(label: str, run: RunResult) -> dict[str, Any]:
        print(f"checking {label} on {len(held.images)} photos ...", file=sys.stderr)
        result, seconds = run_check(
            REPO / default_onnx, Path(run.details["onnx"]), held.images,
            threads=args.threads,
        )  # fmt: skip
        out = _check_dict(result)
        out["wall_s"] = round(seconds, 1)
        run.check = out
        return out

    arms: list[dict[str, Any]] = []
    print(f"warm-started retrain ({args.minutes} min budget) ...", file=sys.stderr)
    warm = run_train(
        "warm start", library, _fresh(runs / "warm"), caches / "warm",
        minutes=args.minutes, init_from=default_pt, n_train=n_train,
        threads=args.threads, overrides=args.overrides, log=runs / "warm.log",
    )  # fmt: skip
    commands.append(warm.command)
    arms.append(arm_summary("warm start", before, warm, check("warm start", warm)))
    cmd, check_eval, _ = run_evaluate(
        runs / "warm" / "last.pt", library, caches / "check", split,
        threads=args.threads,
    )  # fmt: skip
    commands.append(cmd)
    rows = [warm]

    if args.from_scratch_too:
        print(f"from scratch ({args.minutes} min budget) ...", file=sys.stderr)
        scratch = run_train(
            "from scratch", library, _fresh(runs / "scratch"), caches / "scratch",
            minutes=args.minutes, init_from=None, n_train=n_train,
            threads=args.threads, overrides=args.overrides, log=runs / "scratch.log",
        )  # fmt: skip
        commands.append(scratch.command)
        arms.append(
            arm_summary("from scratch", before, scratch, check("from scratch", scratch))
        )
        rows.append(scratch)

    wall = warm.wall_s or 0.0
    first = arms[0]
    estimate_gain = (
        None
        if first["estimate_after"] is None or first["estimate_before"] is None
        else first["estimate_after"] - first["estimate_before"]
    )
    report: dict[str, Any] = {
        "benchmark": "retrain_gain",
        "library": lib_info,
        "n_photos": args.n,
        "sample_seed": args.seed,
        "minutes": args.minutes,
        "threads": args.threads,
        "overrides": list(args.overrides),
        "device": warm.details.get("device"),
        "default_model": {"onnx": str(default_onnx), "checkpoint": str(default_pt)},
        "split": {
            **split,
            "n_queries": before.get("n_queries"),
            "n_database": before.get("n_database"),
        },
        "held_out": {
            "n_photos": len(held.images),
            "n_unreadable": len(held.unreadable),
            "unreadable": held.unreadable[:20],
            "note": "the trainer's held-out queries (never trained on by the retrain)",
        },
        "before": {"metrics": before, "eval_wall_s": round(eval_s, 1)},
        "arms": arms,
        "rows": [
            {
                "label": r.label,
                "wall_s": None if r.wall_s is None else round(r.wall_s, 1),
                "metrics": r.metrics,
                "details": r.details,
                "check": r.check,
            }
            for r in rows
        ],
        "check": {
            k: check_eval.get(k)
            for k in ("map", "precision", "n_queries", "n_database")
        },
        "verdict": {
            "within_time": wall <= TARGET_MINUTES * 60,
            "map_gain": float(warm.metrics["map"]) - float(before["map"]),
            "p10_gain": float(warm.metrics.get("precision", 0.0))
            - float(before.get("precision", 0.0)),
            "estimate_gain": estimate_gain,
            "app_switches": first["better"],
        },
        "commands": commands,
    }
    print(render(report))
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
