"""Retrain gain on a user's library: the default model vs the app's warm-started retrain.

Not collected by pytest. Issue 3's target: retraining on a 5,000-photo library finishes
within 30 minutes on this machine's CPU and measurably improves retrieval on that
library's held-out photos over the model it started from (labels only measure).

1. The "user library": a fixed-seed, class-balanced sample of N CIFAR-10 training images
   (32x32 JPEGs, unlike the Imagenette photos of the default model), streamed out of
   ``cifar10-jpeg.tar.gz`` ($SSCQ_SHARED_DATA, else ``../shared/data``) into
   ``WORK/library/<class>/``. Class folders are labels for measuring only: the trainer's
   folder source holds 10% out as queries (recipe ``photos_cpu``: holdout_fraction 0.1,
   split_seed 2022) and trains, unlabeled, on the other 90% (the database).
2. Before: ``python -m training evaluate resources/default_model.pt --data WORK/library``
   with the recipe's split. That is the trainer's own scoring path (`evaluate_model`:
   PQ codes of the database, ADC from continuous query embeddings, mAP@100 and P@10)
   on the shipped model's companion checkpoint, the weights of
   ``resources/default_model.onnx``.
3. After: the app's default retrain, a warm start from the default model, ``python -m
   training train --recipe photos_cpu --data WORK/library --init-from
   resources/default_model.pt --time-budget-min M --export ... --progress json``; the
   metrics are the end-of-run ``eval`` event (same split, same scoring) and wall time is
   the whole trainer process (decoding, probe, training, evaluation, ONNX export). As a
   cross-check, ``evaluate`` re-scores the run's ``last.pt`` exactly like step 2.
4. ``--from-scratch-too``: the same command without ``--init-from``.

Differences from the app: the app trains on an ``--image-list`` of every photo, unlabeled;
here ``--data`` keeps the held-out 10% out of training so that they can be scored. Every
run gets a fresh decoded-pixel cache (as a first retrain does), so decoding is in the time.

Full size (about 22 minutes on 2 cores with the default 20-minute budget, twice that
with ``--from-scratch-too``; run it with nothing else busy):
``python tests/benchmarks/bench_retrain_gain.py --work runs/retrain_gain
--from-scratch-too --json-out runs/retrain_gain.json``.
Smoke run: ``--n 200 --minutes 0.3``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from training.config import load_recipe

REPO = Path(__file__).resolve().parents[2]
RECIPE = "photos_cpu"
DEFAULT_MODEL = Path("resources/default_model.pt")  # relative to REPO (the cwd of runs)
RECIPE_BATCH_SIZE = 128  # photos_cpu's batch; the app shrinks it for small libraries
TARGET_MINUTES = 30.0
ARCHIVE_NAME = "cifar10-jpeg.tar.gz"
TRAIN_PREFIX = "cifar10/train/"


def default_archive() -> Path:
    """``$SSCQ_SHARED_DATA/cifar10-jpeg.tar.gz``, else ``../shared/data`` beside the repo."""
    shared = os.environ.get("SSCQ_SHARED_DATA")
    base = Path(shared) if shared else REPO.parent / "shared" / "data"
    return base / ARCHIVE_NAME


# ---------------------------------------------------------------- the user library


def _train_members(tar: tarfile.TarFile) -> dict[str, list[str]]:
    """Class name -> sorted member names of ``cifar10/train/<class>/*.jpg``."""
    by_class: dict[str, list[str]] = {}
    for member in tar.getmembers():
        if not member.isfile() or not member.name.startswith(TRAIN_PREFIX):
            continue
        parts = member.name[len(TRAIN_PREFIX) :].split("/")
        if len(parts) != 2 or not parts[1].lower().endswith(".jpg"):
            continue
        cls, name = parts
        if cls in ("", ".", "..") or name.startswith("."):
            continue
        by_class.setdefault(cls, []).append(member.name)
    return {cls: sorted(names) for cls, names in sorted(by_class.items())}


def build_library(archive: Path, work: Path, *, n: int, seed: int) -> Path:
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
    stat = archive.stat()
    spec = {
        "archive": str(archive.resolve()),
        "size": stat.st_size,
        "n": n,
        "seed": seed,
    }
    if library.is_dir() and marker.is_file():
        try:
            if json.loads(marker.read_text(encoding="utf-8")) == spec:
                return library
        except (OSError, ValueError):
            pass
    marker.unlink(missing_ok=True)
    if library.exists():
        shutil.rmtree(library)
    with tarfile.open(archive, "r:gz") as tar:
        by_class = _train_members(tar)
    classes = list(by_class)
    total = sum(len(v) for v in by_class.values())
    if not classes or n > total:
        raise ValueError(
            f"asked for {n} images; the archive's training set has {total}"
        )
    rng = np.random.default_rng(seed)
    wanted: set[str] = set()
    for i, cls in enumerate(classes):
        count = n // len(classes) + (1 if i < n % len(classes) else 0)
        names = by_class[cls]
        if count > len(names):
            raise ValueError(f"class {cls!r} has {len(names)} images, {count} asked")
        picked = rng.choice(len(names), size=count, replace=False)
        wanted.update(names[j] for j in picked)
    written = 0
    with tarfile.open(archive, "r|gz") as stream:  # one sequential pass
        for member in stream:
            if member.name not in wanted:
                continue
            handle = stream.extractfile(member)
            if handle is None:
                continue
            cls, name = member.name[len(TRAIN_PREFIX) :].split("/")
            dest = library / cls / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(handle.read())
            written += 1
    if written != len(wanted):
        raise RuntimeError(f"extracted {written} of {len(wanted)} sampled images")
    marker.write_text(json.dumps(spec), encoding="utf-8")
    return library


# ---------------------------------------------------------------- trainer processes


@dataclass
class RunResult:
    """One row of the table."""

    label: str
    command: list[str]
    wall_s: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


def _fresh(path: Path) -> Path:
    """Remove a folder this script owns (under WORK) so a run starts clean."""
    if path.exists():
        shutil.rmtree(path)
    return path


def run_evaluate(
    checkpoint: Path, library: Path, cache: Path, split: dict[str, Any]
) -> tuple[list[str], dict[str, Any], float]:
    """``python -m training evaluate CHECKPOINT --data LIBRARY`` with the recipe's split.

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
        "--set", f"data.cache_dir={json.dumps(str(cache))}",
    ]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False)
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
    if init_from is not None:
        argv += ["--init-from", str(init_from)]
    events: dict[str, dict[str, Any]] = {}
    t0 = time.perf_counter()
    last_note = t0
    with (
        log.open("w", encoding="utf-8") as err,
        subprocess.Popen(
            argv, cwd=REPO, stdout=subprocess.PIPE, stderr=err, text=True
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
    }
    return RunResult(label, argv, wall, dict(metrics), details)


# ---------------------------------------------------------------- report


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{int(seconds // 60)}m{seconds % 60:04.1f}s"


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) else "-"


def render(report: dict[str, Any]) -> str:
    """The markdown table and notes."""
    rows = report["rows"]
    out = [
        "| model | wall time | steps | mAP@100 | P@10 |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        out.append(
            f"| {row['label']} | {_minutes(row['wall_s'])} | {row['details'].get('steps', '-')} "
            f"| {_fmt(row['metrics'].get('map'))} | {_fmt(row['metrics'].get('precision'))} |"
        )
    split = report["split"]
    verdict = report["verdict"]
    out += [
        "",
        f"- library: {report['n_photos']} CIFAR-10 training images (class-balanced, "
        f"sample seed {report['sample_seed']}), {report['library']}",
        f"- evaluation: {split['n_queries']} held-out queries vs {split['n_database']} "
        f"database photos (= the retrain's training set); holdout "
        f"{split['holdout_fraction']}, split seed {split['split_seed']}; "
        "mAP@100 and P@10 of PQ codes (ADC), the trainer's `evaluate_model`",
        f"- before = `resources/default_model.pt` (companion of default_model.onnx) "
        f"scored by `python -m training evaluate --data`; after = the trainer's "
        f"end-of-run eval event; check: `evaluate` on the retrain's last.pt gives "
        f"mAP@100 {_fmt(report.get('check', {}).get('map'))}",
        f"- budget: {report['minutes']} min per training run (--time-budget-min); "
        f"wall time = the whole trainer process incl. decoding, eval and ONNX export; "
        f"device {rows[1]['details'].get('device')}",
        f"- target: wall <= {TARGET_MINUTES:.0f} min: {verdict['within_time']}; "
        f"mAP@100 gain {verdict['map_gain']:+.4f}, P@10 gain {verdict['p10_gain']:+.4f}",
        "",
        "commands:",
        "",
    ]
    out += [f"    {shlex.join(cmd)}" for cmd in report["commands"]]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000, help="photos in the library")
    parser.add_argument(
        "--minutes", type=float, default=20.0, help="--time-budget-min of each run"
    )
    parser.add_argument(
        "--work", type=Path, help="work folder (library, runs, caches); default: temp"
    )
    parser.add_argument("--archive", type=Path, help="cifar10-jpeg.tar.gz")
    parser.add_argument("--seed", type=int, default=0, help="library sample seed")
    parser.add_argument(
        "--from-scratch-too",
        action="store_true",
        help="also train from scratch with the same budget",
    )
    parser.add_argument("--json-out", type=Path, help="write the report as JSON")
    args = parser.parse_args(argv)
    if args.n < 20:
        parser.error("--n must be at least 20 (2 classes with a held-out query each)")

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
    archive = (args.archive or default_archive()).resolve()
    t0 = time.perf_counter()
    library = build_library(archive, work, n=args.n, seed=args.seed)
    print(
        f"library: {args.n} images in {library} ({time.perf_counter() - t0:.1f} s)",
        file=sys.stderr,
    )
    caches = _fresh(work / "cache")
    runs = work / "runs"
    runs.mkdir(exist_ok=True)
    commands: list[list[str]] = []

    print("evaluating the default model ...", file=sys.stderr)
    cmd, before, eval_s = run_evaluate(DEFAULT_MODEL, library, caches / "before", split)
    commands.append(cmd)
    rows = [
        RunResult(
            "before: default model",
            cmd,
            None,
            before,
            {"eval_wall_s": round(eval_s, 1)},
        )
    ]
    n_train = int(before["n_database"])

    print(f"warm-started retrain ({args.minutes} min budget) ...", file=sys.stderr)
    warm = run_train(
        "after: warm-started retrain", library, _fresh(runs / "warm"), caches / "warm",
        minutes=args.minutes, init_from=DEFAULT_MODEL, n_train=n_train,
        log=runs / "warm.log",
    )  # fmt: skip
    commands.append(warm.command)
    rows.append(warm)
    cmd, check, _ = run_evaluate(
        runs / "warm" / "last.pt", library, caches / "check", split
    )
    commands.append(cmd)

    if args.from_scratch_too:
        print(f"from scratch ({args.minutes} min budget) ...", file=sys.stderr)
        scratch = run_train(
            "from scratch", library, _fresh(runs / "scratch"), caches / "scratch",
            minutes=args.minutes, init_from=None, n_train=n_train,
            log=runs / "scratch.log",
        )  # fmt: skip
        commands.append(scratch.command)
        rows.append(scratch)

    wall = warm.wall_s or 0.0
    report: dict[str, Any] = {
        "benchmark": "retrain_gain",
        "n_photos": args.n,
        "sample_seed": args.seed,
        "library": str(library),
        "archive": str(archive),
        "minutes": args.minutes,
        "split": {
            **split,
            "n_queries": before.get("n_queries"),
            "n_database": before.get("n_database"),
        },
        "rows": [
            {
                "label": r.label,
                "wall_s": None if r.wall_s is None else round(r.wall_s, 1),
                "metrics": r.metrics,
                "details": r.details,
            }
            for r in rows
        ],
        "check": {
            k: check.get(k) for k in ("map", "precision", "n_queries", "n_database")
        },
        "verdict": {
            "within_time": wall <= TARGET_MINUTES * 60,
            "map_gain": float(warm.metrics["map"]) - float(before["map"]),
            "p10_gain": float(warm.metrics.get("precision", 0.0))
            - float(before.get("precision", 0.0)),
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
