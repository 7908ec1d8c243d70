"""What a retrain asks for (`RetrainRequest`) and the one place its trainer command is built.

The GUI, the CLI and tests describe a retrain with a frozen `RetrainRequest`; the library
fills in the files of one run (`TrainerJob`) and `trainer_command` turns both into the
argument list of ``python -m training train`` (never a shell string). Nothing here runs
a process or imports the trainer: the flags are the trainer's public command line.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import tomli_w

CodeBits = Literal[16, 32, 64]
TrainDevice = Literal["auto", "cpu", "cuda"]

RECIPE = "photos_cpu"
"""The trainer recipe of "Retrain on my photos" (training/recipes/photos_cpu.toml)."""
RECIPE_BATCH_SIZE = 128
"""That recipe's batch; a smaller library trains with one batch of all its photos."""
NBITS = 4
"""Bits per codebook: ksub = 16 codewords, the paper's K; n_codebooks = bits / 4."""
MIN_PHOTOS = 8
"""Fewer photos than this cannot make a contrastive batch worth training on."""


@dataclass(frozen=True)
class RetrainRequest:
    """A retrain, as the user (or a test) asks for it.

    Attributes:
        bits: Code length per photo: 16, 32 or 64 bits (``bits / 4`` codebooks of 16
            codewords).
        minutes: Time budget of the training; the trainer sizes its schedule to fit.
        device: ``auto`` (CUDA when the trainer sees a GPU), ``cpu`` or ``cuda``.
        warm_start: Start from the active model's weights when it has a companion
            checkpoint with the same code length (much faster on a CPU); otherwise,
            or when False, train from scratch.
        max_steps: Cap on training steps (tests and smoke runs); None lets the budget
            decide.
        max_photos: Train on at most this many photos (an even sample of the
            library); None for all.

    Raises:
        ValueError: naming the offending field.
    """

    bits: CodeBits = 32
    minutes: float = 10.0
    device: TrainDevice = "auto"
    warm_start: bool = True
    max_steps: int | None = None
    max_photos: int | None = None

    def __post_init__(self) -> None:
        if self.bits not in get_args(CodeBits):
            raise ValueError(f"bits must be 16, 32 or 64, got {self.bits!r}")
        if (
            isinstance(self.minutes, bool)
            or not isinstance(self.minutes, int | float)
            or not math.isfinite(self.minutes)
            or self.minutes <= 0
        ):
            raise ValueError(f"minutes must be a positive number, got {self.minutes!r}")
        if self.device not in get_args(TrainDevice):
            raise ValueError(
                f"device must be 'auto', 'cpu' or 'cuda', got {self.device!r}"
            )
        for name in ("max_steps", "max_photos"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ValueError(
                    f"{name} must be None or a positive integer, got {value!r}"
                )

    @property
    def n_codebooks(self) -> int:
        """M, the number of codebooks: ``bits / 4``."""
        return self.bits // NBITS


@dataclass(frozen=True)
class TrainerJob:
    """One run of the trainer: the request and the files the library chose for it.

    Attributes:
        request: What was asked for.
        image_list: UTF-8 file listing the photos to train on, one absolute path a line.
        n_images: How many paths the list holds.
        run_dir: The trainer's run folder (checkpoints, metrics).
        model_path: Where the trainer exports the new artifact (a companion ``.pt``
            for the next warm start lands beside it).
        model_id: The new model's id.
        init_from: Companion checkpoint to warm start from; None trains from scratch.
        cache_dir: The trainer's decoded-pixel cache, inside the app's cache folder.
    """

    request: RetrainRequest
    image_list: Path
    n_images: int
    run_dir: Path
    model_path: Path
    model_id: str
    init_from: Path | None
    cache_dir: Path


def trainer_command(job: TrainerJob) -> list[str]:
    """The argument list of ``python -m training train`` for `job`, this interpreter.

    Args:
        job: The run.

    Returns:
        ``[sys.executable, "-m", "training", "train", "--recipe", "photos_cpu",
        "--image-list", LIST, "--out", RUN_DIR, "--export", MODEL, "--model-id", ID,
        "--progress", "json", "--time-budget-min", N, "--set", KEY=VALUE, ...]``, plus
        ``--init-from PT`` for a warm start.
    """
    request = job.request
    argv = [
        sys.executable, "-m", "training", "train",
        "--recipe", RECIPE,
        "--image-list", str(job.image_list),
        "--out", str(job.run_dir),
        "--export", str(job.model_path),
        "--model-id", job.model_id,
        "--progress", "json",
        "--time-budget-min", repr(float(request.minutes)),
    ]  # fmt: skip
    overrides = [
        f"model.n_codebooks={request.n_codebooks}",
        f"model.nbits={NBITS}",
        f"run.device={_toml_string(request.device)}",
        f"data.cache_dir={_toml_string(str(job.cache_dir))}",
    ]
    if job.n_images < RECIPE_BATCH_SIZE:
        overrides.append(f"optim.batch_size={job.n_images}")
    if request.max_steps is not None:
        overrides.append(f"optim.max_steps={request.max_steps}")
    for item in overrides:
        argv += ["--set", item]
    if job.init_from is not None:
        argv += ["--init-from", str(job.init_from)]
    return argv


def _toml_string(text: str) -> str:
    """A TOML string: the trainer parses ``--set`` values as TOML (``v = <value>``)."""
    return tomli_w.dumps({"v": text}).removeprefix("v = ").rstrip("\n")
