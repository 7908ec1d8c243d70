"""The pair scale of near-duplicate strictness: 1 at the floor, 0.5 at close, 0 at typical."""

from __future__ import annotations

import numpy as np
import pytest

from sscq_desktop.core import PackedCodes
from sscq_desktop.library.search.code_index import CodeIndex


def _index(*, close: float, typical: float) -> CodeIndex:
    return CodeIndex(
        model_id="m",
        photo_ids=np.arange(2, dtype=np.int64),
        packed=PackedCodes(np.zeros((2, 2), np.uint8), 16),
        codebook=np.zeros((2, 16, 2), np.float32),
        distance="subspace_l2",
        reference_distance=typical,
        close_distance=close,
    )


def test_score_is_one_at_the_query_floor_half_at_close_and_zero_at_typical() -> None:
    index = _index(close=6.0, typical=10.0)
    assert index.score(4.0, floor=4.0) == 1.0
    assert index.score(5.0, floor=4.0) == pytest.approx(0.75)
    assert index.score(6.0, floor=4.0) == pytest.approx(0.5)
    assert index.score(8.0, floor=4.0) == pytest.approx(0.25)
    assert index.score(10.0, floor=4.0) == 0.0
    assert index.score(30.0, floor=4.0) == 0.0


@pytest.mark.parametrize("floor", [0.0, 3.0, 7.0, 12.0])
def test_distance_for_score_inverts_score(floor: float) -> None:
    index = _index(close=6.0, typical=10.0)
    for score in np.linspace(0.0, 1.0, 21):
        d = index.distance_for_score(float(score), floor=floor)
        assert index.score(d, floor=floor) >= score - 1e-9
        assert index.score(d + 1e-3, floor=floor) <= score + 1e-9 or d + 1e-3 <= floor


def test_scores_are_monotone_in_distance() -> None:
    index = _index(close=6.0, typical=10.0)
    scores = [index.score(float(d), floor=5.0) for d in np.linspace(0, 15, 200)]
    assert all(a >= b for a, b in zip(scores, scores[1:], strict=False))
