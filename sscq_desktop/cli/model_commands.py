"""Model subcommands: ``models list``, ``models use``, ``models import``, ``retrain``.

Thin front ends over the library's model registry and retrainer; the trainer itself runs
in a child process (``python -m training``), never imported here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Generator, Sequence
from typing import TYPE_CHECKING, TypeVar

from sscq_desktop.cli.library_access import no_model_hint, open_library
from sscq_desktop.cli.output import (
    EXIT_FAILURE,
    EXIT_NO_MODEL,
    EXIT_OK,
    drive,
    print_json,
)

if TYPE_CHECKING:
    from sscq_desktop.library.progress import Progress
    from sscq_desktop.library.retrain_request import TrainerJob

T = TypeVar("T")


def run_models_list(args: argparse.Namespace) -> int:
    """Print the registered models, marking the active (``*``) and pending (``~``) one.

    Args:
        args: The parsed command line (``json``).

    Returns:
        The exit code.
    """
    lib = open_library(args)
    with lib:
        active, pending = lib.active_model_id, lib.pending_model_id
        rows = [
            {
                "model_id": m.model_id,
                "source": m.source,
                "bits": m.M * max(1, (m.K - 1).bit_length()),
                "path": str(m.path),
                "active": m.model_id == active,
                "pending": m.model_id == pending,
            }
            for m in lib.models()
        ]
        if args.json:
            print_json(rows)
        else:
            for r in rows:
                mark = "*" if r["active"] else ("~" if r["pending"] else " ")
                print(f"{mark} {r['model_id']:30} {r['source']:9} {r['bits']:3} bits")
            if not rows:
                print(f"no models registered. {no_model_hint()}", file=sys.stderr)
    return EXIT_OK


def run_models_use(args: argparse.Namespace) -> int:
    """Switch to a model, re-encoding the library first when it must.

    Args:
        args: The parsed command line (``model_id``: an id, or ``default``).

    Returns:
        The exit code: `EXIT_NO_MODEL` when the model is refused (unknown, invalid, or
        onnxruntime cannot run it), `EXIT_FAILURE` when it produced invalid output while
        re-encoding; the active model is then unchanged, and said so.

    Raises:
        NoModelError: if this installation has no default model (``default``).
    """
    from sscq_desktop.model.artifact import ArtifactError
    from sscq_desktop.model.encoder import ModelOutputError

    lib = open_library(args)
    with lib:
        try:
            if args.model_id == "default":
                done = lib.use_default_model()
            else:
                done = lib.switch_model(args.model_id)
            if not done:
                print(
                    f"re-encoding the library with {lib.pending_model_id}...",
                    file=sys.stderr,
                )
                drive(lib.ingest(), args, "re-encoding")
        except (ArtifactError, ModelOutputError) as exc:
            refused = isinstance(exc, ArtifactError)
            print(
                f"sscq-desktop: {'invalid model: ' if refused else ''}{exc}",
                file=sys.stderr,
            )
            print(
                f"the active model is unchanged: {lib.active_model_id}", file=sys.stderr
            )
            return EXIT_NO_MODEL if refused else EXIT_FAILURE
        print(f"active model: {lib.active_model_id}")
    return EXIT_OK


def run_models_import(args: argparse.Namespace) -> int:
    """Validate a model artifact and register it.

    Args:
        args: The parsed command line (``file``).

    Returns:
        The exit code.

    Raises:
        ArtifactError: if the file is not a valid model.
    """
    lib = open_library(args)
    with lib:
        record = lib.import_model(args.file)
        print(
            f"imported {record.model_id}; use it with `sscq-desktop models use {record.model_id}`"
        )
    return EXIT_OK


def run_retrain(args: argparse.Namespace) -> int:
    """Train a model on the library's photos, register it and (by default) switch to it.

    Args:
        args: The parsed command line (``bits``, ``minutes``, ``device``,
            ``from_scratch``, ``max_steps``, ``no_switch``, ``trainer``).

    Returns:
        The exit code; a failed training run leaves the active model as it was.
    """
    from sscq_desktop.library.retrain import RetrainError
    from sscq_desktop.library.retrain_request import RetrainRequest

    request = RetrainRequest(
        bits=args.bits,
        minutes=args.minutes,
        device=args.device,
        warm_start=not args.from_scratch,
        max_steps=args.max_steps,
    )
    command = _trainer_command(args.trainer) if args.trainer else None
    lib = open_library(args)
    with lib:
        try:
            record = drive(
                _print_notes(
                    lib.retrain(request, command=command, switch=not args.no_switch)
                ),
                args,
                "training",
            )
        except RetrainError as exc:
            print(f"sscq-desktop: training failed: {exc}", file=sys.stderr)
            print(
                f"the active model is unchanged: {lib.active_model_id}", file=sys.stderr
            )
            return EXIT_FAILURE
        print(f"trained and registered {record.model_id}")
        if not args.no_switch and lib.pending_model_id == record.model_id:
            drive(lib.ingest(), args, "re-encoding")
        print(f"active model: {lib.active_model_id}")
    return EXIT_OK


def _trainer_command(argv: Sequence[str]) -> Callable[[TrainerJob], list[str]]:
    """The ``--trainer`` argument list, with the job's fields substituted."""
    template = list(argv)

    def command(job: TrainerJob) -> list[str]:
        fields = {
            "image_list": job.image_list,
            "run_dir": job.run_dir,
            "model_path": job.model_path,
            "model_id": job.model_id,
            "init_from": job.init_from or "",
        }
        return [a.format(**fields) for a in template]

    return command


def _print_notes(
    job: Generator[Progress, None, T],
) -> Generator[Progress, None, T]:
    """Pass a retrain's progress on, printing the library's own notes to stderr.

    The library's notes (warm start or from scratch, and why) are the snapshots that
    carry no trainer event.
    """
    while True:
        try:
            progress = next(job)
        except StopIteration as stop:
            result: T = stop.value
            return result
        if progress.event is None and progress.message:
            print(f"sscq-desktop: {progress.message}", file=sys.stderr)
        yield progress
