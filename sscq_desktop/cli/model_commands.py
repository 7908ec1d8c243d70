"""Model subcommands: ``models list``, ``models use``, ``models import``, ``retrain``.

Thin front ends over the library's model registry and retrainer; the trainer itself runs
in a child process (``python -m training``), never imported here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

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
    from sscq_desktop.library.retrain.retrain_request import TrainerJob
    from sscq_desktop.library.retrain.retrainer import RetrainOutcome


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
    """Train a model on the library's photos, register and check it; switch if it is better.

    Args:
        args: The parsed command line (``bits``, ``minutes``, ``device``,
            ``from_scratch``, ``max_steps``, ``no_switch``, ``trainer``).

    Returns:
        The exit code; a failed training run leaves the active model as it was.
    """
    from sscq_desktop.library.retrain.retrain_request import RetrainRequest
    from sscq_desktop.library.retrain.trainer_process import RetrainError

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
        active_before = lib.active_model_id
        try:
            outcome = drive(
                lib.retrain(request, command=command, switch=not args.no_switch),
                args,
                "training",
                note=_library_note,
            )
        except RetrainError as exc:
            print(f"sscq-desktop: training failed: {exc}", file=sys.stderr)
            print(
                f"the active model is unchanged: {lib.active_model_id}", file=sys.stderr
            )
            return EXIT_FAILURE
        print(f"trained and registered {outcome.record.model_id}")
        for line in _retrain_verdict(outcome, active_before, no_switch=args.no_switch):
            print(line)
        if outcome.switched and lib.pending_model_id == outcome.record.model_id:
            drive(lib.ingest(), args, "re-encoding")
        print(f"active model: {lib.active_model_id}")
    return EXIT_OK


def _retrain_verdict(
    outcome: RetrainOutcome, active_before: str | None, *, no_switch: bool
) -> list[str]:
    """What a retrain's check found and what became of the new model, in lines."""
    record, check = outcome.record, outcome.check
    by_hand = f"sscq-desktop models use {record.model_id}"
    if check.n_photos == 0:
        lines = [f"the new model could not be checked: {check.reason}"]
    else:
        lines = [check.summary()]
        if check.active_score is not None:
            lines.append(
                f"copy score (mean reciprocal rank): new {check.new_score:.3f}, "
                f"current {check.active_score:.3f}"
            )
    if no_switch:
        found = "better" if check.better else "not better"
        verdict = f"; {found}: {check.reason}" if check.n_photos else ""
        lines.append(f"not switching (--no-switch){verdict}; to use it: {by_hand}")
    elif outcome.switched and active_before is None:
        lines.append(f"there was no model in use: using {record.model_id}")
    elif outcome.switched and check.n_photos == 0:
        lines.append(
            f"the current model {active_before} cannot be used: switching to "
            f"{record.model_id}"
        )
    elif outcome.switched:
        lines.append(f"switching to {record.model_id}: {check.reason}")
    elif check.n_photos == 0:
        lines.append(
            f"the current model {active_before} stays in use; to switch to the new "
            f"one by hand: {by_hand}"
        )
    else:
        lines.append(
            f"kept the current model {active_before}, as the new one is not "
            f"measurably better ({check.reason}); to use it anyway: {by_hand}"
        )
    return lines


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


def _library_note(progress: Progress) -> str | None:
    """The library's own notes during a retrain (how it trains, the check), for stderr.

    They are the snapshots that carry no trainer event.
    """
    if progress.event is None and progress.message:
        return f"sscq-desktop: {progress.message}"
    return None
