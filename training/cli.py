"""Command line of the trainer: ``train``, ``evaluate``, ``export`` and ``benchmark``.

The app runs ``python -m training train ... --progress json`` as a child process and
reads its events as JSON lines (`sscq_desktop.model.trainer_events`); humans get a
one-line progress bar on a terminal. Only this module prints (final summaries);
everything else logs.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from training.config import TrainConfig, apply_overrides, load_recipe

logger = logging.getLogger(__name__)

EPILOG = """examples:
  python -m training train --recipe debug_cpu --data ~/Pictures --out runs/debug
  python -m training train --recipe photos_cpu --data ~/Pictures --out runs/photos \\
      --time-budget-min 60 --export runs/photos/model.onnx
  python -m training train --recipe photos_cpu --image-list photos.txt --out runs/mine \
      --init-from default_model.pt --export runs/mine/model.onnx --progress json
  python -m training train --recipe cifar10_cpu --out runs/c10 --set loss.w_ic_z=0.0
  torchrun --nproc_per_node 4 -m training train --recipe cifar10_gpu --out runs/c10
  python -m training evaluate runs/c10/last.pt
  python -m training export runs/photos/last.pt --out model.onnx
  python -m training benchmark cifar10-cpu --minutes-per-arm 12
  python -m training benchmark cifar10-cpu --steps-per-arm 649 --arms sscq,spq \
      --set model.n_codebooks=4 --out runs/benchmark16
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (with advice in the help texts)."""
    parser = argparse.ArgumentParser(
        prog="python -m training",
        description="Train SSCQ product-quantization codes from unlabeled photos, from scratch.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="debug logging on stderr"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    tr = sub.add_parser("train", help="train a model (JSON-lines progress on stdout)")
    _add_config_args(tr)
    tr.add_argument(
        "--out",
        required=True,
        type=Path,
        help="run folder: last.pt, best.pt, metrics.jsonl",
    )
    tr.add_argument(
        "--time-budget-min",
        type=float,
        help="fit the whole schedule into N minutes (sized from the measured pace)",
    )
    tr.add_argument(
        "--resume",
        action="store_true",
        help="continue OUT/last.pt: same step, same learning rate",
    )
    tr.add_argument(
        "--init-from",
        type=Path,
        help="warm start from a checkpoint or an export's companion .pt (fresh "
        "schedule); the network's shape (model.*, data.image_size, data.resize) comes "
        "from it unless --set says otherwise",
    )
    tr.add_argument(
        "--progress",
        choices=("auto", "json", "bar"),
        default="auto",
        help="json for programs, bar for humans; auto picks by TTY",
    )
    tr.add_argument(
        "--export",
        type=Path,
        help="after training, export the last checkpoint to this .onnx artifact",
    )
    tr.add_argument(
        "--model-id",
        help="model_id of the exported artifact (default: derived from the run)",
    )

    ev = sub.add_parser(
        "evaluate",
        help="retrieval mAP of a checkpoint (CIFAR-10 protocol or a labeled folder)",
    )
    ev.add_argument("checkpoint", type=Path)
    ev.add_argument(
        "--data",
        nargs="+",
        help="labeled folder(s) to evaluate on instead of the checkpoint's data "
        "(each scored apart)",
    )
    ev.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override the checkpoint's config, e.g. data.holdout_fraction=0.1",
    )

    ex = sub.add_parser(
        "export",
        help="write the ONNX model artifact from a checkpoint, with a parity check",
    )
    ex.add_argument("checkpoint", type=Path)
    ex.add_argument(
        "--out",
        required=True,
        type=Path,
        help="destination .onnx (a companion .pt for --init-from is written beside it)",
    )
    ex.add_argument(
        "--model-id", help="stable id; codes of different ids never mix in a search"
    )
    ex.add_argument(
        "--skip-parity",
        action="store_true",
        help="skip the onnxruntime vs PyTorch check",
    )

    fs = sub.add_parser(
        "fit-search-codes",
        help="fit a checkpoint's search codes (normalised embedding, OPQ) on its "
        "training photos; a run does this itself when its schedule ends",
    )
    fs.add_argument("checkpoint", type=Path)
    fs.add_argument(
        "--data",
        nargs="+",
        help="the folder(s) it trained on, if not where its config says",
    )
    fs.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override the checkpoint's config, e.g. model.search_fit_iterations=4",
    )
    fs.add_argument(
        "--out",
        required=True,
        type=Path,
        help="the checkpoint to write (weights unchanged, search codes added)",
    )

    pk = sub.add_parser(
        "pack-corpus",
        help="copy the training split of labeled folders, small, for a GPU machine",
    )
    pk.add_argument("sources", nargs="+", type=Path, help="labeled photo folders")
    pk.add_argument("--out", required=True, type=Path, help="destination folder")
    pk.add_argument(
        "--per-class", type=int, default=100, help="photos per class subfolder at most"
    )
    pk.add_argument(
        "--size", type=int, default=64, help="square side of the packed photos (px)"
    )
    pk.add_argument("--quality", type=int, default=90, help="JPEG quality")

    be = sub.add_parser(
        "benchmark", help="throughput table, CIFAR-10 CPU comparison, or the GPU recipe"
    )
    be.add_argument(
        "which", choices=("throughput", "cifar10-cpu", "cifar10-gpu", "budget")
    )
    be.add_argument(
        "--minutes-per-arm",
        type=float,
        default=12.0,
        help="cifar10-cpu: budget of each learned arm; budget: CPU-minutes of each arm "
        "(one thread, counted on the process's CPU clock)",
    )
    be.add_argument(
        "--suite",
        choices=("photos", "cifar10"),
        default="photos",
        help="budget: photos (Tiny ImageNet + Imagenette, each scored on its held-out "
        "10%%) or cifar10 (the standard protocol)",
    )
    be.add_argument(
        "--steps-per-arm",
        type=_non_negative_int,
        default=0,
        help="cifar10-cpu: give every learned arm exactly N steps instead of a time budget",
    )
    be.add_argument(
        "--arms",
        type=_arm_list,
        default=None,
        help="cifar10-cpu or budget: comma-separated arms to run (default: all; "
        "cifar10-cpu: sscq, sscq_ic0, spq, pca_kmeans_pixels, random_init_kmeans; "
        "budget: see training/budget_benchmark.py)",
    )
    be.add_argument(
        "--minutes",
        type=float,
        default=7.0,
        help="cifar10-gpu: training budget (the run fits 8 min on an H100)",
    )
    be.add_argument(
        "--out",
        type=Path,
        default=Path("runs/benchmark"),
        help="folder for runs and the results table",
    )
    be.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override every arm's config (tiny test runs)",
    )
    return parser


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _arm_list(text: str) -> tuple[str, ...]:
    from training.benchmark import CIFAR10_CPU_ARMS
    from training.budget_benchmark import SUITES

    known = {*CIFAR10_CPU_ARMS, *(a for _, _, arms in SUITES.values() for a in arms)}
    arms = tuple(a.strip() for a in text.split(",") if a.strip())
    unknown = sorted(set(arms) - known)
    if unknown or not arms:
        raise argparse.ArgumentTypeError(
            f"unknown arms {unknown}; choose from {', '.join(sorted(known))}"
        )
    return arms


def _add_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--recipe",
        default="debug_cpu",
        help="TOML recipe path or name in training/recipes (debug_cpu, cifar10_cpu, cifar10_gpu, photos_cpu)",
    )
    source = p.add_mutually_exclusive_group()
    source.add_argument(
        "--data",
        nargs="+",
        help="image folder (or the CIFAR-10 archive); several folders train together "
        "and are evaluated apart; sets data.path",
    )
    source.add_argument(
        "--image-list",
        type=Path,
        help="UTF-8 text file, one absolute image path per line: train on exactly "
        "these (unreadable ones are skipped and counted; unlabeled, so no evaluation "
        "unless --set data.list_labels=parent); sets data.source and data.path",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="dotted override, repeatable: --set optim.lr=1e-3 --set model.n_codebooks=4",
    )


def resolve_config(args: argparse.Namespace) -> TrainConfig:
    """Recipe, ``--init-from``'s network shape, ``--data``/``--image-list``, ``--set``, budget."""
    cfg = load_recipe(args.recipe)
    if getattr(args, "init_from", None) is not None:
        from training.builder import adopt_architecture

        adopt_architecture(cfg, args.init_from)
    if args.data:
        cfg.data.path = os.pathsep.join(str(d) for d in args.data)
    if getattr(args, "image_list", None) is not None:
        cfg.data.source = "image_list"
        cfg.data.path = str(args.image_list)
    apply_overrides(cfg, args.overrides)
    if getattr(args, "time_budget_min", None) is not None:
        cfg.run.time_budget_min = float(args.time_budget_min)
    return cfg


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "train":
        return _train(args)
    if args.command == "evaluate":
        return _evaluate(args)
    if args.command == "export":
        return _export(args)
    if args.command == "fit-search-codes":
        return _fit_search_codes(args)
    if args.command == "pack-corpus":
        from training.corpus_pack import pack_corpus

        packed = pack_corpus(
            args.sources, args.out, per_class=args.per_class, size=args.size,
            quality=args.quality,
        )  # fmt: skip
        print(json.dumps([vars(p) for p in packed], indent=2))
        return 0
    from training.benchmark import run_benchmark

    print(json.dumps(run_benchmark(args), indent=2))
    return 0


def _train(args: argparse.Namespace) -> int:
    from sscq_desktop.model.trainer_events import DoneEvent, ErrorEvent
    from training.progress import ProgressReporter
    from training.trainer import train

    reporter = ProgressReporter(args.progress)
    try:
        cfg = resolve_config(args)
        result = train(
            cfg,
            out_dir=args.out,
            reporter=reporter,
            resume=args.resume,
            init_from=args.init_from,
        )
        export: dict[str, Any] | None = None
        if args.export:
            from training.export_run import export_checkpoint

            export = export_checkpoint(
                result.out_dir / "last.pt", args.export, model_id=args.model_id
            )
        evals = result.schedule.evals
        reporter.report(
            DoneEvent(
                out_dir=str(result.out_dir),
                steps=result.schedule.step,
                elapsed_s=round(result.schedule.elapsed_s, 1),
                last_eval=evals[-1] if evals else None,
                best_map=result.schedule.best_map if evals else None,
                export=export,
            )
        )
    except (Exception, KeyboardInterrupt) as exc:
        reporter.report(ErrorEvent(message=f"{type(exc).__name__}: {exc}"))
        logger.exception("training failed")
        return 1
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    import torch

    from training.builder import model_from_checkpoint
    from training.data.sources import load_training_data
    from training.evaluation.protocol import evaluate_corpora

    model, cfg, _ = model_from_checkpoint(args.checkpoint)
    if args.data:
        cfg.data.path = os.pathsep.join(str(d) for d in args.data)
        cfg.data.source = "folder"
        cfg.data.holdout_fraction = cfg.data.holdout_fraction or 0.1
    apply_overrides(cfg, args.overrides)
    data = load_training_data(cfg.data)
    if not data.eval_sets:
        print(
            "no labels to evaluate with: use class subfolders and data.holdout_fraction > 0"
        )
        return 2
    t0 = time.perf_counter()
    metrics = evaluate_corpora(model, data.eval_sets, device=torch.device("cpu"))
    metrics["eval_s"] = round(time.perf_counter() - t0, 1)
    print(json.dumps({"checkpoint": str(args.checkpoint), **metrics}, indent=2))
    return 0


def _fit_search_codes(args: argparse.Namespace) -> int:
    import torch

    from training.builder import model_from_checkpoint
    from training.checkpoint import load_checkpoint, save_checkpoint
    from training.data.sources import load_training_data
    from training.search_fit import fit_search_codes

    model, cfg, _ = model_from_checkpoint(args.checkpoint)
    if args.data:
        cfg.data.path = os.pathsep.join(str(d) for d in args.data)
    apply_overrides(cfg, args.overrides)
    if cfg.run.threads > 0:
        torch.set_num_threads(cfg.run.threads)
    data = load_training_data(cfg.data, with_eval=False)  # the photos it trained on
    fitted = fit_search_codes(model, data.pixels, cfg, device=torch.device("cpu"))
    payload = load_checkpoint(args.checkpoint)
    payload.update(model=model.state_dict(), config=cfg.to_dict())
    save_checkpoint(args.out, payload)
    print(json.dumps({"checkpoint": str(args.out), **fitted}, indent=2))
    return 0


def _export(args: argparse.Namespace) -> int:
    from training.export_run import export_checkpoint

    summary = export_checkpoint(
        args.checkpoint, args.out, model_id=args.model_id, parity=not args.skip_parity
    )
    print(json.dumps(summary, indent=2))
    return 0
