"""The retrain check: real ONNX models scored on generated photos, and the decision."""

from __future__ import annotations

import math

import pytest

from sscq_desktop.library.retrain.model_check import (
    MARGIN,
    MIN_CHECK_PHOTOS,
    check_photo_count,
    compare_models,
    decide,
)
from sscq_desktop.model.encoder import OnnxEncoder
from tests.sscq_desktop.library.test_quality_estimate import photos
from tests.tiny_model import make_tiny_artifact


@pytest.fixture
def working(tmp_path):
    return OnnxEncoder(make_tiny_artifact(tmp_path / "w.onnx"), device="cpu")


@pytest.fixture
def collapsed(tmp_path):
    path = tmp_path / "c.onnx"
    return OnnxEncoder(
        make_tiny_artifact(path, model_id="collapsed", collapsed=True), device="cpu"
    )


def test_a_better_model_is_taken_with_both_figures(working, collapsed):
    check = compare_models(collapsed, working, photos(60))
    assert check.better and check.n_photos == 60
    assert check.active_score is not None and check.stderr is not None
    assert check.difference == pytest.approx(check.new_score - check.active_score)
    assert check.difference >= max(MARGIN, 2 * check.stderr)
    assert check.new_found_first > check.active_found_first  # type: ignore[operator]
    words = check.summary()
    assert f"{check.new_found_first:.0%}" in words
    assert f"the current one {check.active_found_first:.0%}" in words
    assert "60 photos the new model did not train on" in words


def test_a_worse_or_equal_model_is_not_taken_and_says_why(working, collapsed):
    worse = compare_models(working, collapsed, photos(60))
    assert not worse.better and "not higher" in worse.reason
    same = compare_models(working, working, photos(60))
    assert not same.better
    assert same.difference == 0.0 and "not higher: +0.000" in same.reason


def test_a_gain_within_the_noise_is_not_enough():
    n = 100
    # 55 photos gain a lot (rank 1 -> 0), 45 lose as much (0 -> 1): mean +0.05.
    active = [1] * 55 + [0] * 45
    noisy = [0] * 55 + [1] * 45
    better, stderr, reason = decide(noisy, active)
    gain = (55 - 45) * 0.5 / n
    assert gain >= MARGIN and 2 * stderr > gain and not better
    assert f"only {gain:.3f}" in reason
    # The same mean gain on every photo alike is certain: taken.
    steady_active = [3] * n  # 1/4 each
    steady_new = [2] * 30 + [3] * 70  # +1/12 on 30 photos: mean +0.025, below MARGIN
    assert not decide(steady_new, steady_active)[0]
    steady_new = [2] * 60 + [3] * 40  # mean +0.05, small spread
    better, stderr, reason = decide(steady_new, steady_active)
    assert better and 2 * stderr < 0.05 and "higher by 0.050" in reason


def test_too_few_photos_keep_the_active_model_unless_there_is_none(working, collapsed):
    few = photos(MIN_CHECK_PHOTOS - 1)
    kept = compare_models(collapsed, working, few)
    assert not kept.better and kept.n_photos == 0 and math.isnan(kept.new_score)
    assert f"only {len(few)} photos" in kept.reason
    assert kept.summary().startswith("The new model was not checked:")
    first = compare_models(None, working, few)
    assert first.better
    scored = compare_models(None, working, photos(MIN_CHECK_PHOTOS))
    assert scored.better and scored.reason == "there was no model in use"
    assert scored.active_score is None and "the current one" not in scored.summary()


@pytest.mark.parametrize(
    ("library", "held_out"),
    [(0, 0), (99, 0), (100, 50), (600, 60), (1_000, 100), (50_000, 300)],
)
def test_a_tenth_of_the_library_is_held_out_within_bounds(library, held_out):
    assert check_photo_count(library) == held_out
