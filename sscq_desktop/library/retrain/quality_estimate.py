"""A label-free estimate of a model's retrieval quality, measured on the user's own photos.

Users have no labels, so "is the new model better?" has to be answered from the photos
alone. `estimate_quality` encodes a sample of photos under random edits and reports
several candidate signals in one pass; which of them tracks labeled mAP@100 across
models is a measured question (``tests/benchmarks/bench_quality_estimate.py`` computes
the rank correlation on labeled photo sets):

- ``neighbour_agreement_mild`` / ``_strong``: for each photo, the overlap (Jaccard) of
  its k nearest neighbours among the other sampled photos, found once from one edited
  copy and once from another; mild edits are what photos go through (crop to 80-92% of
  the area, brightness +-15%, JPEG quality 40-80), strong ones what a learned notion of
  "the same kind of photo" should survive (crop to 30-60%, flip, colour shifts, grey);
- ``copy_top1_mild`` / ``copy_mrr_strong``: how often an edited copy finds its own
  original first among the sampled originals, and its mean reciprocal rank;
- ``effective_rank``: exp(entropy) of the embedding's normalised singular values over
  its dimension (RankMe, Garrido et al. 2023): collapsed features score low;
- ``distinct_codes`` and ``codeword_entropy``: how well the PQ codes spread the sample.

Every search is the app's own: continuous queries against stored PQ codes (ADC).
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import cast

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageEnhance, ImageOps

from sscq_desktop.core import adc_search
from sscq_desktop.model.encoder import Embedder
from sscq_desktop.model.preprocessing import to_model_input

Edit = Callable[[Image.Image, random.Random], Image.Image]

DEFAULT_NEIGHBOURS = 10
WORKING_SIDE = 256  # photos are shrunk to this side before editing: edits stay cheap


@dataclass(frozen=True)
class QualityEstimate:
    """The candidate signals of one model on one photo sample (all higher = better)."""

    neighbour_agreement_mild: float
    neighbour_agreement_strong: float
    copy_top1_mild: float
    copy_mrr_strong: float
    effective_rank: float
    distinct_codes: float
    codeword_entropy: float
    n_photos: int
    strong_copy_ranks: tuple[int, ...] = field(default=(), repr=False)
    """Per photo: where its strongly edited copy found the original (0 = first)."""

    def as_dict(self) -> dict[str, float | int]:
        """Plain dict of the signals (JSON); the per-photo ranks are left out."""
        out = asdict(self)
        del out["strong_copy_ranks"]
        return cast(dict[str, float | int], out)


def mild_edit(image: Image.Image, rng: random.Random) -> Image.Image:
    """What a photo goes through when copied around: crop, brightness, JPEG."""
    out = _crop(image, rng, area=(0.80, 0.92))
    out = ImageEnhance.Brightness(out).enhance(rng.uniform(0.85, 1.15))
    return _jpeg(out, quality=rng.randint(40, 80))


def strong_edit(image: Image.Image, rng: random.Random) -> Image.Image:
    """A different view of the same photo: small crop, flip, colour shifts, grey."""
    out = _crop(image, rng, area=(0.30, 0.60))
    if rng.random() < 0.5:
        out = ImageOps.mirror(out)
    out = ImageEnhance.Brightness(out).enhance(rng.uniform(0.7, 1.3))
    out = ImageEnhance.Contrast(out).enhance(rng.uniform(0.7, 1.3))
    out = ImageEnhance.Color(out).enhance(rng.uniform(0.6, 1.4))
    if rng.random() < 0.2:
        out = ImageOps.grayscale(out).convert("RGB")
    return out


def estimate_quality(
    encoder: Embedder,
    photos: Sequence[Image.Image],
    *,
    seed: int = 0,
    k: int = DEFAULT_NEIGHBOURS,
) -> QualityEstimate:
    """Encode `photos` and edited copies of them; compute every candidate signal.

    Args:
        encoder: The model (onnxruntime in the app).
        photos: Upright decoded photos, at least ``k + 2`` of them.
        seed: Seed of the edits (the same seed gives every model the same edits).
        k: Neighbours compared by the agreement signals.

    Raises:
        ValueError: with fewer than ``k + 2`` photos.
    """
    n = len(photos)
    if n < k + 2:
        raise ValueError(f"need at least {k + 2} photos to estimate quality, got {n}")
    meta = encoder.metadata
    base = [_working_copy(p) for p in photos]
    rng = random.Random(seed)
    views = {
        "original": base,
        "mild_a": [mild_edit(p, rng) for p in base],
        "mild_b": [mild_edit(p, rng) for p in base],
        "strong_a": [strong_edit(p, rng) for p in base],
        "strong_b": [strong_edit(p, rng) for p in base],
    }
    size, policy = meta.input.size, meta.input.resize
    enc = {
        name: encoder.encode(
            np.stack([to_model_input(img, size=size, policy=policy) for img in imgs])
        )
        for name, imgs in views.items()
    }
    book, dist = meta.codebooks, meta.distance
    order = np.random.default_rng(seed)

    def ranked(queries: str, database: str, top: int) -> npt.NDArray[np.int64]:
        """Ids of the `top` nearest `database` codes; ties in a fresh random order.

        Search breaks ties by position; a collapsed model (every code equal) would then
        return the same "neighbours" for every edit. Shuffling the database per search
        makes ties count as what they are: no information.
        """
        perm = order.permutation(n)
        codes = enc[database].codes[perm]
        _, ids = adc_search(enc[queries].embedding, book, codes, top, distance=dist)
        return np.asarray(perm[ids], dtype=np.int64)

    def neighbours(view: str) -> npt.NDArray[np.int64]:
        return _drop_self(ranked(view, view, k + 1), k)

    def copy_ranks(view: str) -> npt.NDArray[np.int64]:
        hit = ranked(view, "original", n) == np.arange(n)[:, None]
        return np.asarray(np.argmax(hit, axis=1), dtype=np.int64)  # 0 = found first

    strong_ranks = copy_ranks("strong_a")
    codes = enc["original"].codes
    return QualityEstimate(
        neighbour_agreement_mild=_jaccard(neighbours("mild_a"), neighbours("mild_b")),
        neighbour_agreement_strong=_jaccard(
            neighbours("strong_a"), neighbours("strong_b")
        ),
        copy_top1_mild=float(np.mean(copy_ranks("mild_a") == 0)),
        copy_mrr_strong=float(np.mean(1.0 / (strong_ranks + 1))),
        effective_rank=_effective_rank(enc["original"].embedding),
        distinct_codes=len({bytes(c) for c in codes}) / n,
        codeword_entropy=_codeword_entropy(codes, meta.K),
        n_photos=n,
        strong_copy_ranks=tuple(int(r) for r in strong_ranks),
    )


def _working_copy(image: Image.Image) -> Image.Image:
    img = image.convert("RGB")
    img.thumbnail((WORKING_SIDE, WORKING_SIDE), Image.Resampling.BILINEAR)
    return img


def _crop(
    image: Image.Image, rng: random.Random, *, area: tuple[float, float]
) -> Image.Image:
    """A random crop keeping `area` of the photo, aspect ratio kept."""
    side = math.sqrt(rng.uniform(*area))
    w, h = image.size
    cw, ch = max(1, round(w * side)), max(1, round(h * side))
    left, top = rng.randint(0, w - cw), rng.randint(0, h - ch)
    return image.crop((left, top, left + cw, top + ch))


def _jpeg(image: Image.Image, *, quality: int) -> Image.Image:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    with Image.open(buf) as decoded:
        return decoded.convert("RGB")


def _drop_self(ids: npt.NDArray[np.int64], k: int) -> npt.NDArray[np.int64]:
    """Each row's first `k` ids other than the row's own index."""
    rows = np.arange(len(ids))[:, None]
    keep = ids != rows
    out = np.empty((len(ids), k), dtype=np.int64)
    for i in range(len(ids)):
        out[i] = ids[i][keep[i]][:k]
    return out


def _jaccard(a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> float:
    scores = [
        len(set(x) & set(y)) / len(set(x) | set(y))
        for x, y in zip(a.tolist(), b.tolist(), strict=True)
    ]
    return float(np.mean(scores))


def _effective_rank(x: npt.NDArray[np.float32]) -> float:
    """RankMe over the embedding dimension: 1.0 = all directions used equally."""
    centred = x.astype(np.float64) - x.mean(axis=0)
    s = np.linalg.svd(centred, compute_uv=False)
    p = s / max(float(s.sum()), 1e-12) + 1e-12
    return float(np.exp(-np.sum(p * np.log(p))) / x.shape[1])


def _codeword_entropy(codes: npt.NDArray[np.uint8], ksub: int) -> float:
    """Mean over codebooks of the usage entropy, over its maximum log(ksub)."""
    ent = []
    for m in range(codes.shape[1]):
        p = np.bincount(codes[:, m], minlength=ksub) / len(codes)
        p = p[p > 0]
        ent.append(float(-np.sum(p * np.log(p))) / math.log(ksub))
    return float(np.mean(ent))
