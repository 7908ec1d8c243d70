"""Fixtures for training tests: generated photo folders and a tiny CIFAR-10-shaped archive."""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CIFAR_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip


def write_photo_folder(
    root: Path, *, per_class: int = 12, size: int = 48, classes: int = 3
) -> Path:
    """Class subfolders of coloured JPEG/PNG photos with a random square."""
    rng = np.random.default_rng(0)
    palette = [(200, 40, 40), (40, 200, 40), (40, 40, 200), (200, 200, 40)]
    for c in range(classes):
        folder = root / f"class{c}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            img = np.clip(
                rng.normal(palette[c], 30, (size, size + 8, 3)), 0, 255
            ).astype(np.uint8)
            x, y = rng.integers(0, size // 2, 2)
            img[y : y + size // 3, x : x + size // 3] = rng.integers(0, 255, 3)
            ext = ".jpg" if i % 2 else ".png"
            Image.fromarray(img).save(folder / f"img{i:03d}{ext}")
    return root


@pytest.fixture
def photo_folder(tmp_path: Path) -> Path:
    return write_photo_folder(tmp_path / "photos")


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("SSCQ_TRAINING_CACHE", str(folder))
    return folder


@pytest.fixture
def tiny_cifar_archive(tmp_path: Path) -> Path:
    """cifar10/{train,test}/<class>/NNNN.jpg, 6 train and 2 test images per class."""
    root = tmp_path / "src"
    rng = np.random.default_rng(1)
    for split, n in (("train", 6), ("test", 2)):
        for c, name in enumerate(CIFAR_CLASSES):
            folder = root / "cifar10" / split / name
            folder.mkdir(parents=True)
            for i in range(n):
                base = np.array([c * 25, 255 - c * 25, (c * 70) % 255])
                img = np.clip(rng.normal(base, 20, (32, 32, 3)), 0, 255).astype(
                    np.uint8
                )
                Image.fromarray(img).save(folder / f"{i:04d}.jpg", quality=75)
    archive = tmp_path / "cifar10-jpeg.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root / "cifar10", arcname="cifar10")
    return archive
