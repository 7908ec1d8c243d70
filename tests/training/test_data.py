"""Image folders, the CIFAR-10 archive loader and augmentations."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from PIL import Image

from training.augment.pil_augment import PilAugment
from training.augment.tensor_augment import TensorAugment
from training.config import DataConfig
from training.data.cifar10 import load_cifar10
from training.data.image_folder import decode_images, list_images
from training.data.image_list import read_image_list
from training.data.sources import load_training_data


def test_folder_lists_every_app_format_recursively_and_skips_broken(
    tmp_path, cache_dir
):
    img = Image.new("RGB", (20, 10), (255, 0, 0))
    (tmp_path / "a" / "b").mkdir(parents=True)
    for i, ext in enumerate(["jpg", "jpeg", "png", "webp", "tiff", "bmp", "gif"]):
        img.save(tmp_path / "a" / "b" / f"x{i}.{ext}")
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    (tmp_path / "notes.txt").write_text("hi")
    (tmp_path / ".hidden").mkdir()
    img.save(tmp_path / ".hidden" / "h.png")
    paths = list_images(tmp_path)
    assert len(paths) == 8
    decoded = decode_images(paths, size=16, policy="center_crop")
    assert decoded.n_broken == 1 and decoded.pixels.shape == (7, 16, 16, 3)
    again = decode_images(paths, size=16, policy="center_crop")  # from the cache
    np.testing.assert_array_equal(again.pixels, decoded.pixels)


def test_exif_orientation_is_applied(tmp_path, cache_dir):
    img = Image.new("RGB", (40, 20), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 20, 20))  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    img.save(tmp_path / "r.jpg", exif=exif, quality=95)
    pixels = decode_images([tmp_path / "r.jpg"], size=20, policy="squash").pixels[0]
    assert pixels[2, 10, 0] > 200 and pixels[-3, 10, 2] > 200  # red on top, blue below


def test_labeled_folder_split_is_fixed_and_disjoint(photo_folder, cache_dir):
    cfg = DataConfig(
        source="folder", path=str(photo_folder), image_size=32, holdout_fraction=0.25
    )
    a, b = load_training_data(cfg), load_training_data(cfg)
    assert a.eval_set is not None and b.eval_set is not None
    assert len(a.eval_set.query_labels) == 9 and len(a.pixels) == 27
    np.testing.assert_array_equal(a.eval_set.query_pixels, b.eval_set.query_pixels)
    assert a.eval_set.top_n == 100 and a.eval_set.precision_k == 10


def _write_list(path, lines):
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def test_image_list_trains_on_exactly_the_listed_images(
    photo_folder, tmp_path, cache_dir
):
    listed = sorted(photo_folder.rglob("*.*"))[:7]
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    extra = [tmp_path / "broken.jpg", tmp_path / "gone.jpg", listed[0]]  # dup dropped
    image_list = _write_list(tmp_path / "list.txt", [*map(str, listed), "", *extra])
    cfg = DataConfig(
        source="image_list", path=str(image_list), image_size=16, holdout_fraction=0.25
    )
    data = load_training_data(cfg)
    assert data.pixels.shape == (7, 16, 16, 3) and data.n_broken == 2
    assert data.eval_set is None  # unlabeled, whatever the recipe's holdout says
    assert "image list (7 images, 2 unreadable)" in data.description


def test_image_list_reads_utf8_names_and_refuses_relative_paths(tmp_path):
    name = tmp_path / "été à la plage #1.jpg"
    _write_list(tmp_path / "ok.txt", ["# a comment", str(name)])
    assert read_image_list(tmp_path / "ok.txt") == [name]
    _write_list(tmp_path / "bad.txt", [str(name), "photos/relative.jpg"])
    with pytest.raises(ValueError, match=r"bad\.txt:2: .*absolute"):
        read_image_list(tmp_path / "bad.txt")
    with pytest.raises(FileNotFoundError):
        read_image_list(tmp_path / "missing.txt")


def test_image_list_with_parent_labels_holds_queries_out(
    photo_folder, tmp_path, cache_dir
):
    image_list = _write_list(
        tmp_path / "list.txt", map(str, sorted(photo_folder.rglob("*.*")))
    )
    cfg = DataConfig(
        source="image_list",
        path=str(image_list),
        image_size=16,
        holdout_fraction=0.25,
        list_labels="parent",
    )
    data = load_training_data(cfg)
    assert data.eval_set is not None and len(data.eval_set.query_labels) == 9
    assert len(data.pixels) == 27


def test_empty_image_list_is_refused(tmp_path, cache_dir):
    cfg = DataConfig(
        source="image_list", path=str(_write_list(tmp_path / "l.txt", ["/no/such.jpg"]))
    )
    with pytest.raises(ValueError, match="no readable images in the list"):
        load_training_data(cfg)


def test_cifar_loader_decodes_official_split_into_the_cache(
    tiny_cifar_archive, cache_dir
):
    data = load_cifar10(tiny_cifar_archive)
    assert data.train_x.shape == (60, 32, 32, 3) and data.test_x.shape == (
        20,
        32,
        32,
        3,
    )
    assert list(np.bincount(data.train_y)) == [6] * 10
    assert any(p.suffix == ".npy" for p in cache_dir.iterdir())
    again = load_cifar10(tiny_cifar_archive)
    np.testing.assert_array_equal(again.train_x, data.train_x)


def test_tensor_augment_draws_independently_per_sample():
    torch.manual_seed(0)
    images = torch.full((8, 40, 40, 3), 128, dtype=torch.uint8)
    images[:, :, :20] = 255
    a, b = TensorAugment(24).two_views(images)
    assert a.shape == (8, 3, 24, 24) and a.dtype == torch.float32
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0
    assert not torch.allclose(a[0], a[1]) and not torch.allclose(a, b)


def test_pil_augment_output_and_determinism():
    img = Image.fromarray(
        np.random.default_rng(0).integers(0, 255, (50, 60, 3), dtype=np.uint8)
    )
    a = PilAugment(24, rng=random.Random(3))(img)
    b = PilAugment(24, rng=random.Random(3))(img)
    assert a.shape == (24, 24, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
