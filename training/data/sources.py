"""Resolve a `DataConfig` into training pixels and, when labels exist, an evaluation set.

CIFAR-10: train on the 50,000 training images, evaluate with the standard protocol.
Folders: train on every readable image; with class subfolders and a holdout fraction,
a fixed-seed split holds queries out of training and the rest is the database. Several
folders (``data.path`` joined with ``os.pathsep``, or ``--data A B``) are corpora: each is
split on its own, with the same seed, they train together and are evaluated apart.
Image lists: train on exactly the listed readable images (the app's retrain); unlabeled
unless ``list_labels = "parent"`` asks for folder names as classes.
Synthetic: generated images (tests and smoke runs), four colour classes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from training.config import DataConfig
from training.data.cifar10 import load_cifar10
from training.data.image_folder import (
    DecodedImages,
    class_of,
    decode_images,
    list_images,
)
from training.data.image_list import image_list_label, read_image_list

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvalSet:
    """Labeled queries and database for retrieval evaluation.

    Shape:
        query_pixels: (Nq, S, S, 3) uint8; database_pixels: (Nb, S, S, 3) uint8;
        labels: (Nq,), (Nb,) int64.
    """

    protocol: str  # "cifar10" (mAP@1000) or "folder" (mAP@100, precision@10)
    query_pixels: npt.NDArray[np.uint8]
    query_labels: npt.NDArray[np.int64]
    database_pixels: npt.NDArray[np.uint8]
    database_labels: npt.NDArray[np.int64]
    top_n: int
    precision_k: int | None
    split_seed: int | None


@dataclass(frozen=True)
class TrainingData:
    """What the loop trains on, what it says about it, and what it evaluates on.

    `eval_sets` maps a corpus name to its evaluation set (one per labeled corpus; empty
    when nothing is labeled).

    Shape:
        pixels: (N, H, W, 3) uint8, H = W = store size.
    """

    pixels: npt.NDArray[np.uint8]
    description: str
    n_broken: int
    eval_sets: Mapping[str, EvalSet] = field(default_factory=dict)

    @property
    def eval_set(self) -> EvalSet | None:
        """The first corpus's evaluation set (the only one for a single corpus)."""
        return next(iter(self.eval_sets.values()), None)


def split_paths(path: str) -> list[Path]:
    """The folders of a ``data.path`` that lists several with ``os.pathsep``."""
    return [Path(p) for p in path.split(os.pathsep) if p]


def corpus_name(root: Path) -> str:
    """A short readable name for a corpus folder (its last two path parts)."""
    return "/".join(root.parts[-2:]) if len(root.parts) >= 2 else str(root)


def load_training_data(cfg: DataConfig, *, with_eval: bool = True) -> TrainingData:
    """Load the pixels (and evaluation set) a data config names.

    Raises:
        ValueError: for an unknown source, or a CIFAR run at another size than 32.
        FileNotFoundError: if the folder or archive is missing.
    """
    store = cfg.store_size or cfg.image_size
    if cfg.source == "cifar10":
        if cfg.image_size != 32 or store != 32:
            raise ValueError("CIFAR-10 runs use image_size = store_size = 32")
        data = load_cifar10(cfg.path, cache_dir=cfg.cache_dir)
        eval_sets: dict[str, EvalSet] = {}
        if with_eval:
            eval_sets["cifar10"] = EvalSet(
                "cifar10",
                data.test_x,
                data.test_y,
                data.train_x,
                data.train_y,
                1000,
                None,
                None,
            )
        return TrainingData(
            data.train_x, "CIFAR-10 training set (50,000 images)", 0, eval_sets
        )
    if cfg.source == "folder":
        return _load_folder(cfg, store=store, with_eval=with_eval)
    if cfg.source == "image_list":
        return _load_image_list(cfg, store=store, with_eval=with_eval)
    if cfg.source == "synthetic":
        return _synthetic(cfg, store=store, with_eval=with_eval)
    raise ValueError(
        f"unknown data source {cfg.source!r}; "
        "use 'folder', 'image_list', 'cifar10' or 'synthetic'"
    )


def holdout_split(
    n: int, *, fraction: float, seed: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Fixed-seed split of ``range(n)`` into (database, queries) indices, both sorted."""
    perm = np.random.default_rng(seed).permutation(n)
    n_query = int(round(n * fraction))
    return np.sort(perm[n_query:]), np.sort(perm[:n_query])


def _load_folder(cfg: DataConfig, *, store: int, with_eval: bool) -> TrainingData:
    roots = split_paths(cfg.path)
    if not roots:
        raise ValueError("data.path must name an image folder (--data FOLDER)")
    _check_excluded(excluded_classes(cfg), roots)
    if len(roots) == 1:
        return _load_one_folder(roots[0], cfg, store=store, with_eval=with_eval)
    parts = [_load_one_folder(r, cfg, store=store, with_eval=with_eval) for r in roots]
    eval_sets: dict[str, EvalSet] = {}
    for root, part in zip(roots, parts, strict=True):
        if part.eval_set is not None:
            eval_sets[corpus_name(root)] = part.eval_set
    return TrainingData(
        np.concatenate([p.pixels for p in parts]),
        " + ".join(
            f"{corpus_name(r)}: {p.description}"
            for r, p in zip(roots, parts, strict=True)
        ),
        sum(p.n_broken for p in parts),
        eval_sets,
    )


def _load_one_folder(
    root: Path, cfg: DataConfig, *, store: int, with_eval: bool
) -> TrainingData:
    listed = list_images(root)
    excluded = excluded_classes(cfg)
    paths = [p for p in listed if class_of(p, root) not in excluded]
    n_excluded = len(listed) - len(paths)
    train = decode_images(paths, size=store, policy=cfg.resize, cache_dir=cfg.cache_dir)
    if not len(train.pixels):
        raise ValueError(f"no readable images under {root}")
    desc = f"image folder {root.name!r} ({len(train.pixels)} images, {train.n_broken} unreadable)"
    if n_excluded:
        desc += f"; {n_excluded} photos of excluded classes left out"
    return _with_holdout(
        train, cfg, desc, label_of=lambda p: class_of(p, root), store=store,
        with_eval=with_eval,
    )  # fmt: skip


def _check_excluded(excluded: frozenset[str], roots: list[Path]) -> None:
    """Refuse a list that is partly unknown (a typo); warn when none of it is here.

    Raises:
        ValueError: naming the unknown classes when others of the list are present.
    """
    present = {d.name for r in roots if r.is_dir() for d in r.iterdir() if d.is_dir()}
    unknown = excluded - present
    if not unknown:
        return
    if unknown == excluded:
        logger.warning(
            "data.exclude_classes: none of its %d classes is a folder here",
            len(excluded),
        )
        return
    raise ValueError(
        "data.exclude_classes names no class folder of "
        f"{', '.join(map(str, roots))}: {', '.join(sorted(unknown))}"
    )


def excluded_classes(cfg: DataConfig) -> frozenset[str]:
    """The class folder names ``data.exclude_classes`` keeps out (comma-separated)."""
    return frozenset(c.strip() for c in cfg.exclude_classes.split(",") if c.strip())


def _load_image_list(cfg: DataConfig, *, store: int, with_eval: bool) -> TrainingData:
    if not cfg.path:
        raise ValueError("data.path must name an image list file (--image-list FILE)")
    if cfg.list_labels not in ("none", "parent"):
        raise ValueError(
            f"data.list_labels must be 'none' or 'parent', got {cfg.list_labels!r}"
        )
    source = Path(cfg.path)
    paths = read_image_list(source)
    train = decode_images(paths, size=store, policy=cfg.resize, cache_dir=cfg.cache_dir)
    if not len(train.pixels):
        raise ValueError(
            f"no readable images in the list {source} ({train.n_broken} unreadable)"
        )
    desc = f"image list ({len(train.pixels)} images, {train.n_broken} unreadable)"
    if cfg.list_labels == "none":  # a plain photo library: train on all of it
        return TrainingData(train.pixels, desc, train.n_broken)
    return _with_holdout(
        train, cfg, desc, label_of=image_list_label, store=store, with_eval=with_eval
    )


def _with_holdout(
    train: DecodedImages,
    cfg: DataConfig,
    desc: str,
    *,
    label_of: Callable[[Path], str],
    store: int,
    with_eval: bool,
) -> TrainingData:
    """Hold labeled queries out of training when there are classes and a fraction.

    With fewer than two classes, an unlabeled image or ``holdout_fraction == 0``,
    everything trains and nothing is evaluated.
    """
    classes = sorted({label_of(p) for p in train.paths})
    labeled = len(classes) >= 2 and "" not in classes and cfg.holdout_fraction > 0
    if not labeled:
        return TrainingData(train.pixels, desc, train.n_broken)
    labels = np.array([classes.index(label_of(p)) for p in train.paths], dtype=np.int64)
    db_idx, q_idx = holdout_split(
        len(labels), fraction=cfg.holdout_fraction, seed=cfg.split_seed
    )
    desc += f"; {len(q_idx)} held out as queries (split seed {cfg.split_seed})"
    eval_sets: dict[str, EvalSet] = {}
    if with_eval:
        sized = train
        if store != cfg.image_size:
            sized = decode_images(
                train.paths,
                size=cfg.image_size,
                policy=cfg.resize,
                cache_dir=cfg.cache_dir,
            )
        eval_sets["folder"] = EvalSet(
            "folder", sized.pixels[q_idx], labels[q_idx], sized.pixels[db_idx], labels[db_idx],
            100, 10, cfg.split_seed,
        )  # fmt: skip
    return TrainingData(
        np.asarray(train.pixels[db_idx]), desc, train.n_broken, eval_sets
    )


def _synthetic(cfg: DataConfig, *, store: int, with_eval: bool) -> TrainingData:
    """Colour-class images with random rectangles; labels = base colour."""
    rng = np.random.default_rng(cfg.split_seed)
    n = cfg.synthetic_images
    labels = np.arange(n, dtype=np.int64) % 4
    palette = np.array(
        [[200, 40, 40], [40, 200, 40], [40, 40, 200], [200, 200, 40]], np.float32
    )
    pixels = palette[labels][:, None, None, :] + rng.normal(0, 25, (n, store, store, 3))
    for i in range(n):
        x0, y0 = rng.integers(0, store // 2, size=2)
        pixels[i, y0 : y0 + store // 3, x0 : x0 + store // 3] = rng.uniform(0, 255, 3)
    images = np.clip(pixels, 0, 255).astype(np.uint8)  # (n, store, store, 3)
    eval_sets: dict[str, EvalSet] = {}
    if with_eval and cfg.holdout_fraction > 0:
        sized = images[:, : cfg.image_size, : cfg.image_size]
        db_idx, q_idx = holdout_split(
            n, fraction=cfg.holdout_fraction, seed=cfg.split_seed
        )
        eval_sets["synthetic"] = EvalSet(
            "folder", sized[q_idx], labels[q_idx], sized[db_idx], labels[db_idx], 100, 10,
            cfg.split_seed,
        )  # fmt: skip
    return TrainingData(images, f"synthetic ({n} generated images)", 0, eval_sets)
