"""Pack the training split of labeled photo folders into a small folder for another machine.

A GPU machine receives a working tree of tens of megabytes, not the shared data sets.
``python -m training pack-corpus SRC... --out DIR`` writes, for each source folder, only
its *training* photos (the trainer's own split: held-out queries never leave this
machine, so the model trained there is still scored on photos it never saw), at most
``--per-class`` per class subfolder (a fixed-seed pick), centre-cropped square at
``--size`` px, as JPEG. The class subfolders are kept (labels stay unused by training).
Train there with ``--set data.holdout_fraction=0`` on ``DIR/<name>`` folders.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from training.data.image_folder import decode_images
from training.evaluation.photo_baselines import photo_split

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PackedFolder:
    """What one source folder became."""

    source: str
    folder: str
    photos: int
    bytes: int


def pack_corpus(
    sources: Sequence[Path],
    out: Path,
    *,
    per_class: int,
    size: int,
    quality: int = 90,
    holdout_fraction: float = 0.1,
    split_seed: int = 2022,
    seed: int = 0,
) -> list[PackedFolder]:
    """Write the training split of each source under ``out/<source folder name>``.

    Raises:
        ValueError: for a non-positive `per_class` or `size`, or two sources with the
            same folder name.
    """
    if per_class <= 0 or size <= 0:
        raise ValueError("per_class and size must be positive")
    names = [_pack_name(s) for s in sources]
    if len(set(names)) != len(names):
        raise ValueError(f"two sources would pack into the same folder: {names}")
    packed = []
    for source, name in zip(sources, names, strict=True):
        split = photo_split(
            source, holdout_fraction=holdout_fraction, split_seed=split_seed,
            size=size, policy="center_crop",
        )  # fmt: skip
        pixels = decode_images(split.paths, size=size, policy="center_crop").pixels
        rng = np.random.default_rng(seed)
        chosen: list[int] = []
        for label in range(len(split.classes)):
            rows = split.database[split.labels[split.database] == label]
            take = rng.permutation(rows)[:per_class]
            chosen.extend(sorted(int(i) for i in take))
        total = 0
        for i in chosen:
            path = split.paths[i]
            dest = out / name / split.classes[int(split.labels[i])] / f"{path.stem}.jpg"
            dest.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.asarray(pixels[i])).save(dest, quality=quality)
            total += dest.stat().st_size
        packed.append(PackedFolder(str(source), name, len(chosen), total))
        logger.info("packed %d photos of %s into %s (%d bytes)", len(chosen), source, out / name, total)  # fmt: skip
    return packed


def _pack_name(source: Path) -> str:
    """``tiny-imagenet-200/train`` -> ``tiny-imagenet-200``; a plain folder keeps its name."""
    return source.parent.name if source.name == "train" else source.name
