"""Metric tests: hand-worked AP values and a loop reference of METHOD.md."""

from __future__ import annotations

import numpy as np
import pytest

from sscq_desktop.core import (
    average_precision,
    mean_average_precision,
    precision_at,
    relevance,
)


def reference_ap(rel_row: list[bool]) -> float:
    """AP = (1/R) sum_r rel_r * precision@r over the row; 0 when R = 0 (METHOD.md)."""
    hits, total = 0, 0.0
    for r, is_rel in enumerate(rel_row, start=1):
        if is_rel:
            hits += 1
            total += hits / r
    return total / hits if hits else 0.0


def reference_map(
    ids: np.ndarray, q_labels: np.ndarray, db_labels: np.ndarray, n: int
) -> float:
    aps = []
    for qi in range(len(ids)):
        rel_row = []
        for j in ids[qi, :n]:
            if j < 0:
                rel_row.append(False)
            elif q_labels.ndim == 1:
                rel_row.append(bool(db_labels[j] == q_labels[qi]))
            else:
                rel_row.append(bool(np.any(db_labels[j] & q_labels[qi])))
        aps.append(reference_ap(rel_row))
    return float(np.mean(aps))


def test_average_precision_hand_worked_examples() -> None:
    rel = np.array(
        [
            [1, 0, 1, 0],  # (1/2) * (1/1 + 2/3) = 0.8333...
            [0, 1, 1, 0],  # (1/2) * (1/2 + 2/3) = 0.5833...
            [0, 0, 0, 1],  # (1/1) * (1/4) = 0.25
            [1, 1, 1, 1],  # (1/4) * (1 + 1 + 1 + 1) = 1
            [0, 0, 0, 0],  # R = 0 scores 0
        ],
        dtype=bool,
    )
    np.testing.assert_allclose(
        average_precision(rel), [5 / 6, 7 / 12, 0.25, 1.0, 0.0], rtol=1e-12
    )


def test_average_precision_matches_loop_reference() -> None:
    rel = np.random.default_rng(0).random((200, 50)) < 0.2
    want = [reference_ap(row.tolist()) for row in rel]
    np.testing.assert_allclose(average_precision(rel), want, rtol=1e-12)


def test_average_precision_accepts_zero_one_integers() -> None:
    np.testing.assert_allclose(average_precision(np.array([[1, 0, 1, 0]])), [5 / 6])


def test_mean_average_precision_matches_loop_reference_single_label() -> None:
    rng = np.random.default_rng(1)
    db_labels = rng.integers(0, 10, 500)
    q_labels = rng.integers(0, 10, 40)
    ids = rng.integers(0, 500, (40, 120))
    ids[:, 100:] = -1  # padding past the cut-off and inside it for n = 110
    want = reference_map(ids, q_labels, db_labels, 110)
    got = mean_average_precision(ids, q_labels, db_labels, n=110)
    assert got == pytest.approx(want, rel=1e-12)


def test_mean_average_precision_matches_loop_reference_multi_label() -> None:
    rng = np.random.default_rng(2)
    db_labels = rng.random((300, 24)) < 0.1
    q_labels = rng.random((30, 24)) < 0.1
    ids = rng.integers(-1, 300, (30, 80))
    want = reference_map(ids, q_labels, db_labels, 80)
    got = mean_average_precision(ids, q_labels, db_labels, n=80)
    assert got == pytest.approx(want, rel=1e-12)
    got_int = mean_average_precision(
        ids, q_labels.astype(np.uint8), db_labels.astype(np.int64), n=80
    )
    assert got_int == pytest.approx(want, rel=1e-12)


def test_mean_average_precision_uses_only_the_first_n_columns() -> None:
    ids = np.array([[0, 1, 2, 3]])
    db_labels = np.array([0, 1, 1, 0])
    # top 2: relevance [1, 0] -> AP = 1; all 4: [1, 0, 0, 1] -> (1/2)(1 + 2/4) = 0.75
    assert mean_average_precision(ids, np.array([0]), db_labels, n=2) == 1.0
    assert mean_average_precision(ids, np.array([0]), db_labels, n=4) == 0.75


def test_relevance_single_and_multi_label() -> None:
    ids = np.array([[0, 1, -1, 2]])
    single = relevance(ids, np.array([7]), np.array([7, 3, 7]))
    np.testing.assert_array_equal(single, [[True, False, False, True]])
    db_multi = np.array([[1, 0, 0], [0, 1, 1], [0, 0, 1]], dtype=bool)
    multi = relevance(ids, np.array([[0, 0, 1]], dtype=bool), db_multi)
    np.testing.assert_array_equal(multi, [[False, True, False, True]])


def test_precision_at_counts_empty_slots_as_misses() -> None:
    ids = np.array([[0, 1, 2, -1], [2, 2, 0, 1]])
    q_labels = np.array([0, 1])
    db_labels = np.array([0, 1, 0])
    # query 0: [1, 0, 1, 0] -> 2/4; query 1: [0, 0, 0, 1] -> 1/4; mean 0.375
    assert precision_at(ids, q_labels, db_labels, n=4) == pytest.approx(0.375)
    # top 1: [1], [0] -> mean 0.5
    assert precision_at(ids, q_labels, db_labels, n=1) == pytest.approx(0.5)


def test_metrics_reject_bad_inputs() -> None:
    ids = np.zeros((2, 5), np.int64)
    q, db = np.array([0, 1]), np.array([0, 1, 2])
    with pytest.raises(ValueError, match="5 columns, fewer than n=10"):
        mean_average_precision(ids, q, db, n=10)
    with pytest.raises(ValueError, match="n=0"):
        precision_at(ids, q, db, n=0)
    with pytest.raises(TypeError, match="float64"):
        relevance(ids.astype(np.float64), q, db)
    with pytest.raises(ValueError, match="found 3"):
        relevance(np.full((2, 5), 3), q, db)
    with pytest.raises(ValueError, match="3 rows but I has nq=2"):
        relevance(ids, np.array([0, 1, 2]), db)
    with pytest.raises(ValueError, match="both"):
        relevance(ids, q, np.zeros((3, 4), bool))
    with pytest.raises(ValueError, match="found 2"):
        relevance(ids, np.full((2, 4), 2), np.zeros((3, 4), bool))
    with pytest.raises(ValueError, match=r"shape \(2, 5, 1\)"):
        average_precision(np.zeros((2, 5, 1), bool))
    with pytest.raises(ValueError, match="nq=0"):
        mean_average_precision(np.zeros((0, 5), np.int64), q[:0], db, n=5)
