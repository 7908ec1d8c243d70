"""The label-free quality estimate: real ONNX models, generated photos, real edits."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest
from PIL import Image

from sscq_desktop.library.retrain.quality_estimate import (
    estimate_quality,
    mild_edit,
    strong_edit,
)
from sscq_desktop.model.artifact import write_artifact
from sscq_desktop.model.encoder import OnnxEncoder
from tests.tiny_model import build_tiny_graph, make_tiny_artifact, make_tiny_metadata


def photos(n: int, seed: int = 0) -> list[Image.Image]:
    """Distinct colourful photos: a gradient background and two random blocks."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        img = np.zeros((96, 128, 3), np.float32)
        img[:] = rng.uniform(0, 255, 3)
        img += np.linspace(0, 1, 128)[None, :, None] * rng.uniform(-80, 80, 3)
        for _ in range(2):
            x, y = rng.integers(0, 80, 2)
            img[y : y + 40, x : x + 48] = rng.uniform(0, 255, 3)
        out.append(Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)))
    return out


@pytest.fixture
def encoder(tmp_path):
    return OnnxEncoder(make_tiny_artifact(tmp_path / "tiny.onnx"), device="cpu")


@pytest.fixture
def collapsed_encoder(tmp_path):
    """Same codebooks, a projection of zeros: every photo gets the same embedding."""
    meta, projection = make_tiny_metadata(model_id="collapsed")
    graph = build_tiny_graph(
        size=32, codebooks=meta.codebooks, projection=np.zeros_like(projection)
    )
    return OnnxEncoder(write_artifact(graph, meta, tmp_path / "c.onnx"), device="cpu")


def test_signals_are_fractions_and_repeat_with_the_seed(encoder):
    sample = photos(30)
    a = estimate_quality(encoder, sample, seed=3, k=5)
    b = estimate_quality(encoder, sample, seed=3, k=5)
    assert a == b and a.n_photos == 30
    for field in dataclasses.fields(a):
        if field.name not in ("n_photos", "strong_copy_ranks"):
            assert 0.0 <= getattr(a, field.name) <= 1.0, field.name


def test_a_working_model_beats_a_collapsed_one_on_every_signal(
    encoder, collapsed_encoder
):
    sample = photos(40)
    good = estimate_quality(encoder, sample, k=5)
    bad = estimate_quality(collapsed_encoder, sample, k=5)
    assert good.copy_top1_mild > 0.5 > bad.copy_top1_mild
    assert good.distinct_codes > 0.5 and bad.distinct_codes == pytest.approx(1 / 40)
    assert good.effective_rank > 0.05 > bad.effective_rank
    assert good.codeword_entropy > bad.codeword_entropy
    assert good.copy_mrr_strong > bad.copy_mrr_strong
    assert good.neighbour_agreement_mild > 0.2


def test_edits_keep_the_photo_recognisable_and_differ_by_strength():
    img = photos(1)[0]
    rng = random.Random(0)
    mild, strong = mild_edit(img, rng), strong_edit(img, rng)
    w, h = img.size
    assert 0.80 <= mild.width * mild.height / (w * h) <= 0.93
    assert 0.29 <= strong.width * strong.height / (w * h) <= 0.61
    assert mild.mode == strong.mode == "RGB"


def test_too_few_photos_is_a_clear_error(encoder):
    with pytest.raises(ValueError, match="at least 12 photos"):
        estimate_quality(encoder, photos(5), k=10)


def test_ties_carry_no_information(collapsed_encoder):
    # Every code is the same: neighbour sets from two edits must agree only by chance.
    est = estimate_quality(collapsed_encoder, photos(40), k=5)
    assert est.neighbour_agreement_mild < 0.5
    assert est.neighbour_agreement_strong < 0.5
