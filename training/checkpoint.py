"""Checkpoints: one ``torch.save`` dict of plain types, loaded with ``weights_only=True``.

Holds model and optimizer state, the schedule position (step, total steps, warm-up),
the RNG state, the resolved config and the code version, so a resumed run takes the same
step at the same learning rate. Written atomically (temporary file, then rename).
"""

from __future__ import annotations

import functools
import os
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

CHECKPOINT_VERSION = 1


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write `payload` (plus a format version) to `path` atomically."""
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    torch.save({"checkpoint_version": CHECKPOINT_VERSION, **payload}, tmp)
    os.replace(tmp, dest)
    return dest


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint safely (tensors and plain containers only).

    Raises:
        FileNotFoundError: if `path` does not exist.
        ValueError: if it is not a checkpoint of this trainer.
    """
    src = Path(path)
    if not src.is_file():
        raise FileNotFoundError(f"checkpoint not found: {src}")
    payload = torch.load(src, map_location="cpu", weights_only=True)
    if (
        not isinstance(payload, dict)
        or "model" not in payload
        or "config" not in payload
    ):
        raise ValueError(f"{src} is not an SSCQ training checkpoint")
    return payload


@functools.cache
def code_version() -> str:
    """Git SHA of the source tree when available, else the installed package version."""
    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        if sha:
            return f"git:{sha}"
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return f"sscq-desktop {metadata.version('sscq-desktop')}"
    except metadata.PackageNotFoundError:
        return "unknown"
