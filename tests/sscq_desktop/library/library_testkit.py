"""Test kit for the library tests: generated photos (no binary assets) and a counting encoder."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from sscq_desktop.model.artifact import ModelArtifact
from sscq_desktop.model.encoder import EncodedBatch, OnnxEncoder

# EXIF orientation -> how to store an upright image so that a viewer shows it upright.
STORE_AS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def grid_image(seed: int, size: tuple[int, int] = (96, 64)) -> Image.Image:
    """A distinctive photo: a random 4x4 colour grid with a little noise."""
    rng = np.random.default_rng(seed)
    grid = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
    w, h = size
    img = Image.fromarray(grid, "RGB").resize((w, h), Image.Resampling.NEAREST)
    noise = rng.integers(-6, 7, size=(h, w, 3))
    arr = np.clip(np.asarray(img, dtype=np.int16) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB")


class CountingEncoder:
    """A real onnxruntime encoder that counts its calls and images."""

    def __init__(self, artifact: ModelArtifact, counter: Counter) -> None:
        self._inner = OnnxEncoder(artifact, device="cpu", intra_op_threads=1)
        self._counter = counter

    @property
    def metadata(self) -> Any:
        return self._inner.metadata

    def encode(self, images: np.ndarray) -> EncodedBatch:
        self._counter.calls += 1
        self._counter.images += len(images)
        return self._inner.encode(images)


class Counter:
    def __init__(self) -> None:
        self.calls = 0
        self.images = 0

    def factory(self, artifact: ModelArtifact) -> CountingEncoder:
        return CountingEncoder(artifact, self)


def make_photos(folder: Path, n: int, *, first_seed: int = 0) -> list[Path]:
    """Write `n` small distinct JPEGs into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"img_{i:05d}.jpg"
        grid_image(first_seed + i, (32, 24)).save(path, quality=90)
        paths.append(path)
    return paths


def wait_until(
    condition: Callable[[], bool], *, timeout: float = 20.0, interval: float = 0.05
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        time.sleep(interval)
