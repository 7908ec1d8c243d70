"""Image folders, the CIFAR-10 archive loader and augmentations."""

from __future__ import annotations

import os
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


def test_several_folders_train_together_and_are_evaluated_apart(tmp_path, cache_dir):
    from tests.training.conftest import write_photo_folder

    a = write_photo_folder(tmp_path / "corpusA" / "train", per_class=12, classes=3)
    b = write_photo_folder(tmp_path / "corpusB" / "train", per_class=8, classes=2)
    one = DataConfig(source="folder", image_size=32, holdout_fraction=0.25)
    one.path = str(a)
    alone = load_training_data(one)
    both = DataConfig(source="folder", image_size=32, holdout_fraction=0.25)
    both.path = os.pathsep.join([str(a), str(b)])
    data = load_training_data(both)
    assert list(data.eval_sets) == ["corpusA/train", "corpusB/train"]
    # Each corpus is split on its own, exactly as it would be alone.
    first = data.eval_sets["corpusA/train"]
    assert alone.eval_set is not None
    np.testing.assert_array_equal(first.query_pixels, alone.eval_set.query_pixels)
    second = data.eval_sets["corpusB/train"]
    assert len(second.query_labels) == 4 and len(second.database_labels) == 12
    assert len(data.pixels) == 27 + 12  # both databases train, no query does
    assert "corpusA/train: image folder" in data.description
    assert "corpusB/train: image folder" in data.description


def test_excluded_classes_are_neither_trained_nor_evaluated(tmp_path, cache_dir):
    from tests.training.conftest import write_photo_folder

    root = write_photo_folder(tmp_path / "corpus" / "train", per_class=12, classes=4)
    cfg = DataConfig(source="folder", image_size=32, holdout_fraction=0.25)
    cfg.path = str(root)
    cfg.exclude_classes = "class1, class3,"
    data = load_training_data(cfg)
    every = load_training_data(
        DataConfig(source="folder", image_size=32, path=str(root))
    )
    assert len(every.pixels) == 48
    assert len(data.pixels) == 18  # 24 photos of two classes, 6 held out as queries
    ev = data.eval_set
    assert ev is not None and len(ev.query_labels) == 6
    assert set(ev.query_labels.tolist()) | set(ev.database_labels.tolist()) == {0, 1}
    assert "24 photos of excluded classes left out" in data.description
    # Only the two kept colours (red, blue) remain: no green or yellow photo trains.
    means = data.pixels.reshape(len(data.pixels), -1, 3).mean(axis=1)
    assert (means[:, 1] < 120).all()
    cfg.exclude_classes = "class1,clas3"  # a typo is refused, not ignored
    with pytest.raises(ValueError, match="names no class folder .*: clas3"):
        load_training_data(cfg)


def test_evaluation_reports_each_corpus_and_their_mean(tmp_path, cache_dir):
    from tests.training.conftest import write_photo_folder
    from training.config import ModelConfig
    from training.evaluation.protocol import evaluate_corpora
    from training.models.sscq_model import build_model

    a = write_photo_folder(tmp_path / "a" / "train", per_class=8, classes=2)
    b = write_photo_folder(tmp_path / "b" / "train", per_class=8, classes=3)
    cfg = DataConfig(source="folder", image_size=32, holdout_fraction=0.25)
    cfg.path = os.pathsep.join([str(a), str(b)])
    data = load_training_data(cfg)
    model = build_model(
        ModelConfig(backbone="convpool", width=0.25, n_codebooks=4, dsub=8),
        image_size=32,
    ).eval()
    metrics = evaluate_corpora(model, data.eval_sets, device=torch.device("cpu"))
    per = metrics["corpora"]
    assert set(per) == {"a/train", "b/train"}
    assert metrics["map"] == pytest.approx(
        (per["a/train"]["map"] + per["b/train"]["map"]) / 2
    )
    single = evaluate_corpora(
        model, {"a": data.eval_sets["a/train"]}, device=torch.device("cpu")
    )
    assert "corpora" not in single and single["map"] == per["a/train"]["map"]


def test_augment_crop_scale_and_jitter_are_settings():
    images = torch.full((64, 40, 40, 3), 128, dtype=torch.uint8)
    images[:, :, :20] = 30  # left half dark: crops see different means
    still = TensorAugment(24, crop_scale_min=1.0, color_jitter=0.0)
    assert not any("ColorJitter" in type(m).__name__ for m in still.chain)
    full = TensorAugment(24, crop_scale_min=0.08, color_jitter=0.4)
    assert any("ColorJitter" in type(m).__name__ for m in full.chain)
    assert any("GaussianBlur" in type(m).__name__ for m in full.chain)
    sharp = TensorAugment(24, blur_sigma_max=0.0)
    assert not any("GaussianBlur" in type(m).__name__ for m in sharp.chain)
    torch.manual_seed(0)
    # Full-area crops keep the photo's mean; small crops spread it.
    still_means = still(images).mean(dim=(1, 2, 3))
    full_means = full(images).mean(dim=(1, 2, 3))
    assert float(still_means.std()) < float(full_means.std())
    for bad in ({"crop_scale_min": 0.0}, {"color_jitter": 1.5}):
        with pytest.raises(ValueError):
            TensorAugment(24, **bad)


def test_pil_augment_without_jitter_keeps_colours():
    img = Image.new("RGB", (32, 32), (200, 40, 40))
    aug = PilAugment(16, rng=random.Random(0), crop_scale_min=1.0, color_jitter=0.0)
    outs = [aug(img) for _ in range(20)]
    # Only grayscale (p 0.2) may change a flat colour: every other draw stays red.
    red = [o for o in outs if abs(int(o[8, 8, 0]) - 200) <= 2]
    assert len(red) >= 10 and all(abs(int(o[8, 8, 1]) - 40) <= 2 for o in red)
