"""The calibrated score and the bands: monotone, ordered, and the constants as fitted."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sscq_desktop.core import PackedCodes
from sscq_desktop.library.records import SimilarityBand
from sscq_desktop.library.search import similarity_scale as scale
from sscq_desktop.library.search.code_index import CodeIndex

FIT = Path(__file__).resolve().parents[3] / "docs/results/score_calibration_fit.json"


def test_the_constants_are_the_recorded_fit() -> None:
    fit = json.loads(FIT.read_text())
    assert fit["probability"]["intercept"] == scale.PROBABILITY_INTERCEPT
    assert fit["probability"]["slope"] == scale.PROBABILITY_SLOPE
    assert fit["copy_max_u_q99_of_copy_edits"] == scale.COPY_MAX_U
    assert fit["near_copy_max_u_q95_of_near_copy_edits"] == scale.NEAR_COPY_MAX_U


def test_bands_run_from_closest_to_farthest_and_meet_their_probabilities() -> None:
    cuts = [scale.max_relative_distance(b) for b in SimilarityBand]
    assert cuts == sorted(cuts) and len(set(cuts)) == len(cuts)
    for band, p in [
        (SimilarityBand.VERY_SIMILAR, scale.VERY_SIMILAR_PROBABILITY),
        (SimilarityBand.RELATED, scale.RELATED_PROBABILITY),
    ]:
        u = scale.max_relative_distance(band)
        assert float(scale.same_kind_probability(u)) == pytest.approx(p)
    assert scale.band_of(0.0) is SimilarityBand.COPY
    assert scale.band_of(scale.COPY_MAX_U) is SimilarityBand.COPY
    assert scale.band_of(scale.COPY_MAX_U * 1.01) is SimilarityBand.NEAR_COPY
    assert scale.band_of(1.0) is None  # a typical photo of the library: no band


def test_probability_falls_with_distance_and_stays_in_range() -> None:
    p = scale.same_kind_probability(np.linspace(0.0, 5.0, 500))
    assert np.all(np.diff(p) <= 0) and p[-1] > 0.0 and p[0] <= 1.0


def test_relative_distance_without_a_scale_reads_any_distance_as_typical() -> None:
    assert scale.relative_distance([2.0, 4.0], 2.0).tolist() == [1.0, 2.0]
    assert scale.relative_distance([0.0, 3.0], 0.0).tolist() == [0.0, 1.0]


def test_query_scale_is_the_median_distance_to_the_sample_leaving_the_query_out() -> (
    None
):
    sample = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [9.0, 0.0]], np.float32)
    index = CodeIndex(
        model_id="m",
        photo_ids=np.arange(4, dtype=np.int64),
        packed=PackedCodes(np.zeros((4, 1), np.uint8), 16),
        codebook=np.zeros((1, 16, 2), np.float32),
        distance="subspace_l2",
        sample=sample,
    )
    assert index.query_scale(np.zeros(2, np.float32)) == 3.0  # of 1, 3, 9
    empty = CodeIndex(
        model_id="m",
        photo_ids=np.zeros(0, dtype=np.int64),
        packed=PackedCodes(np.zeros((0, 1), np.uint8), 16),
        codebook=np.zeros((1, 16, 2), np.float32),
        distance="subspace_l2",
    )
    assert empty.query_scale(np.zeros(2, np.float32)) == 0.0
