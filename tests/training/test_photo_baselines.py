"""Hash and colour-histogram baselines: features, exact ranking, protocol scoring, split."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sscq_desktop.core import average_precision
from training.config import DataConfig
from training.data.image_folder import decode_images
from training.data.sources import load_training_data
from training.evaluation.photo_baselines import (
    HASH_BITS,
    HASH_METHODS,
    Metric,
    color_histogram,
    distances,
    photo_features,
    photo_split,
    rank_exhaustive,
    score_exhaustive,
)

pytest.importorskip("imagehash")


def generated_photos(n: int = 8, size: int = 96) -> list[Image.Image]:
    """Distinct photos: a gradient at its own angle and hue, a few blobs, some noise."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:size, 0:size] / size
    images = []
    for i in range(n):
        angle = np.pi * i / n
        ramp = np.cos(angle) * xx + np.sin(angle) * yy  # (size, size)
        base = rng.uniform(30, 220, 3)
        img = base + 90 * (ramp[..., None] - 0.5) * rng.uniform(-1, 1, 3)
        for _ in range(3):
            x, y = rng.integers(0, size - size // 4, 2)
            img[y : y + size // 4, x : x + size // 4] = rng.uniform(0, 255, 3)
        img += rng.normal(0, 6, img.shape)
        images.append(Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)))
    return images


def brute_force_ranking(
    q_rows: np.ndarray, db_rows: np.ndarray, dist: Callable[..., float], k: int
) -> np.ndarray:
    """Reference: sort every database index by (distance, index), one query at a time."""
    out = []
    for q in q_rows:
        keys = sorted(range(len(db_rows)), key=lambda j: (dist(q, db_rows[j]), j))
        out.append(keys[:k])
    return np.array(out, dtype=np.int64)


def test_identical_photo_ranks_first_for_every_hash_and_histogram(
    tmp_path: Path,
) -> None:
    photos = generated_photos()
    paths = []
    for i, img in enumerate(photos):
        paths.append(tmp_path / f"db{i}.png")
        img.save(paths[-1])
    query_of = [5, 2]  # lossless copies of database photos 5 and 2
    for j, i in enumerate(query_of):
        paths.append(tmp_path / f"q{j}.png")
        photos[i].save(paths[-1])
    feats = photo_features(paths)
    assert feats.n_broken == 0 and set(feats.seconds) >= {"decode", "histogram"}
    n_db = len(photos)
    for method in HASH_METHODS:
        bits = feats.bits[method]
        assert bits.shape == (len(paths), HASH_BITS[method])
        assert set(np.unique(bits)) <= {0, 1}
        dist = distances(bits[n_db:], bits[:n_db], metric="hamming")
        for row, i in enumerate(query_of):
            assert dist[row, i] == 0
            assert np.delete(dist[row], i).min() > 0, (
                method
            )  # the copy alone is nearest
        ids = rank_exhaustive(bits[n_db:], bits[:n_db], 3, metric="hamming")
        assert ids[:, 0].tolist() == query_of
    hists = feats.histograms
    assert hists.shape == (len(paths), 512)
    np.testing.assert_allclose(hists.sum(axis=1), 1.0, rtol=1e-5)
    ids = rank_exhaustive(hists[n_db:], hists[:n_db], 3, metric="l1")
    assert ids[:, 0].tolist() == query_of


def test_hamming_ranking_matches_brute_force_with_many_ties() -> None:
    rng = np.random.default_rng(0)
    db = rng.integers(0, 2, (60, 6), dtype=np.uint8)  # 6 bits: many equal distances
    q = rng.integers(0, 2, (9, 6), dtype=np.uint8)
    dist = distances(q, db, metric="hamming")
    ref_dist = (q[:, None, :] != db[None]).sum(axis=2)
    np.testing.assert_array_equal(dist, ref_dist)
    for chunk in (1, 4, 256):
        ids = rank_exhaustive(q, db, 25, metric="hamming", chunk=chunk)
        ref = brute_force_ranking(q, db, lambda a, b: int((a != b).sum()), 25)
        np.testing.assert_array_equal(ids, ref)


@pytest.mark.parametrize("metric", ["l1", "l2", "cosine"])
def test_float_rankings_match_brute_force(metric: Metric) -> None:
    rng = np.random.default_rng(1)
    db = rng.random((40, 5)).astype(np.float32)
    db[7] = db[3]  # an exact tie: the smaller index must come first
    q = np.concatenate([db[3:4], rng.random((4, 5)).astype(np.float32)])
    ref_dist: Callable[[np.ndarray, np.ndarray], float] = {
        "l1": lambda a, b: float(np.abs(a.astype(np.float64) - b).sum()),
        "l2": lambda a, b: float(np.linalg.norm(a.astype(np.float64) - b)),
        "cosine": lambda a, b: float(
            1 - a @ b / np.linalg.norm(a.astype(np.float64)) / np.linalg.norm(b)
        ),
    }[metric]
    got = distances(q, db, metric=metric)
    want = np.array([[ref_dist(a, b) for b in db] for a in q])
    np.testing.assert_allclose(got, want, atol=1e-5)
    ids = rank_exhaustive(q, db, 10, metric=metric)
    assert ids[0, :2].tolist() == [3, 7]
    assert ids.shape == (5, 10)
    # rows without near-ties agree with the reference order
    np.testing.assert_array_equal(ids[1:], brute_force_ranking(q[1:], db, ref_dist, 10))


def test_score_exhaustive_follows_the_permuted_protocol() -> None:
    rng = np.random.default_rng(2)
    db = rng.integers(0, 2, (50, 4), dtype=np.uint8)  # 16 distinct codes: ties
    db_labels = (np.arange(50) // 10).astype(np.int64)  # stored sorted by class
    q = rng.integers(0, 2, (7, 4), dtype=np.uint8)
    q_labels = rng.integers(0, 5, 7).astype(np.int64)
    result = score_exhaustive(
        q, db, metric="hamming", query_labels=q_labels, database_labels=db_labels,
        top_n=20, precision_k=10, permutation_seed=11,
    )  # fmt: skip
    perm = np.random.default_rng(11).permutation(50)
    pdb, plabels = db[perm], db_labels[perm]
    ref = brute_force_ranking(q, pdb, lambda a, b: int((a != b).sum()), 20)
    rel = plabels[ref] == q_labels[:, None]  # (7, 20)
    assert result["map"] == pytest.approx(float(average_precision(rel).mean()))
    assert result["precision"] == pytest.approx(float(rel[:, :10].mean()))
    assert result["map_at"] == 20 and result["precision_at"] == 10
    assert result["permutation_seed"] == 11 and result["n_database"] == 50
    assert result["distinct_rows"] == len(np.unique(db, axis=0))


def test_color_histogram_bins() -> None:
    red = Image.new("RGB", (10, 6), (250, 10, 10))
    hist = color_histogram(red, bins=4)
    assert hist.shape == (64,) and hist.dtype == np.float32
    assert hist[(3 * 4 + 0) * 4 + 0] == 1.0
    grey = color_histogram(Image.new("L", (4, 4), 128))
    assert grey[(4 * 8 + 4) * 8 + 4] == 1.0
    with pytest.raises(ValueError):
        color_histogram(red, bins=6)


def test_photo_split_is_the_trainers_split(photo_folder: Path, cache_dir: Path) -> None:
    cfg = DataConfig(
        source="folder", path=str(photo_folder), image_size=24,
        holdout_fraction=0.25, split_seed=7,
    )  # fmt: skip
    eval_set = load_training_data(cfg).eval_set
    assert eval_set is not None
    split = photo_split(
        photo_folder, holdout_fraction=0.25, split_seed=7, size=24,
        policy="center_crop",
    )  # fmt: skip
    assert len(split.paths) == 36 and split.classes == ["class0", "class1", "class2"]
    assert len(split.queries) == 9 and len(split.database) == 27
    assert not set(split.queries.tolist()) & set(split.database.tolist())
    np.testing.assert_array_equal(split.labels[split.queries], eval_set.query_labels)
    np.testing.assert_array_equal(
        split.labels[split.database], eval_set.database_labels
    )
    # the same photos, in the same order
    pixels = decode_images(split.paths, size=24, policy="center_crop").pixels
    np.testing.assert_array_equal(pixels[split.queries], eval_set.query_pixels)
    np.testing.assert_array_equal(pixels[split.database], eval_set.database_pixels)
    for i in split.queries:
        assert split.paths[i].parent.name == split.classes[split.labels[i]]
