"""A stand-in for `python -m training train`: trainer events, then a tiny artifact.

Usage: fake_trainer.py --out PATH [--model-id ID] [--steps N] [--step-s S]
[--crash-at N] [--seed N] [--collapsed]

The library runs it as its trainer (a `TrainerCommand`, see ``conftest.fake_trainer``):
the seam between the app and the trainer's child process.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from sscq_desktop.model.trainer_events import (
    DoneEvent,
    EpochEndEvent,
    StartEvent,
    StepEvent,
    TrainerEvent,
    to_json_line,
)

# tests/ holds tiny_model; added once the app's package is imported, so that the
# folder tests/sscq_desktop cannot stand in for it.
sys.path.append(str(Path(__file__).resolve().parents[2]))

from tiny_model import make_tiny_artifact


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--model-id", default="")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--step-s", type=float, default=0.0)
    parser.add_argument("--crash-at", type=int, default=-1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--collapsed", action="store_true")
    args = parser.parse_args()

    def emit(event: TrainerEvent) -> None:
        print(to_json_line(event), flush=True)

    emit(
        StartEvent(
            total_steps=args.steps, n_images=20, config={"optim": {"batch_size": 16}}
        )
    )
    for step in range(1, args.steps + 1):
        if step == args.crash_at:
            print("RuntimeError: CUDA out of memory (simulated)", file=sys.stderr)
            return 3
        time.sleep(args.step_s)
        total = 4.0 * math.exp(-step / 3) + 0.5
        emit(
            StepEvent(
                step=step,
                total_steps=args.steps,
                losses={"total": total, "ic_z": total * 0.5, "cc": total * 0.3},
                eta_s=(args.steps - step) * max(args.step_s, 0.01),
                images_per_s=123.0,
                codeword_usage=[0.9, 0.8, 1.0, 0.7],
            )
        )
    emit(EpochEndEvent(epoch=1, step=args.steps))
    make_tiny_artifact(
        Path(args.out),
        model_id=args.model_id or f"trained-{int(time.time() * 1000)}",
        seed=args.seed,
        collapsed=args.collapsed,
    )
    emit(DoneEvent(steps=args.steps, export={"artifact": args.out}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
