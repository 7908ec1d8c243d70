"""ADC search tests: top-k equals a brute-force decode-then-distance ranking."""
# ruff: noqa: E741 (faiss vocabulary: I)

from __future__ import annotations

import importlib

import numpy as np
import numpy.typing as npt
import pytest

from sscq_desktop.core import (
    Distance,
    PackedCodes,
    adc_search,
    decode,
    distance_tables,
    search,
)

# The package re-exports the function `search`, which shadows the submodule attribute.
search_module = importlib.import_module("sscq_desktop.core.search")
DISTANCES: list[Distance] = ["subspace_l2", "squared_l2"]
SIZES = [(8, 4), (4, 8), (3, 4), (2, 1), (5, 2), (1, 4)]  # (M, nbits)


def brute_force(
    xq: np.ndarray,
    codebook: np.ndarray,
    codes: np.ndarray,
    distance: Distance,
) -> npt.NDArray[np.float64]:
    """Decode every code and measure the distance directly, in float64: (nq, n)."""
    M, _, dsub = codebook.shape
    xb = decode(codes, codebook).astype(np.float64)  # (n, d)
    diff = xq.astype(np.float64)[:, None, :] - xb[None]  # (nq, n, d)
    per_sub = (diff**2).reshape(len(xq), len(xb), M, dsub).sum(-1)  # (nq, n, M)
    per_item = np.sqrt(per_sub) if distance == "subspace_l2" else per_sub
    out: npt.NDArray[np.float64] = per_item.sum(-1)  # (nq, n)
    return out


def expected_ids(
    ref: npt.NDArray[np.float64],
    k: int,
    mask: np.ndarray | None = None,
    exclude: np.ndarray | None = None,
) -> npt.NDArray[np.int64]:
    """Stable-argsort ranking with blocked items removed, padded with -1: (nq, k)."""
    out = np.full((len(ref), k), -1, dtype=np.int64)
    for qi, row in enumerate(ref):
        order = np.argsort(row, kind="stable")
        allowed = np.ones(row.size, bool) if mask is None else mask.copy()
        if exclude is not None:
            ids = exclude[qi] if exclude.ndim == 2 else exclude
            allowed[ids[ids >= 0]] = False
        order = order[allowed[order]][:k]
        out[qi, : order.size] = order
    return out


def assert_matches(
    D: np.ndarray,
    I: np.ndarray,
    ref: npt.NDArray[np.float64],
    want: npt.NDArray[np.int64],
    *,
    exact: bool,
) -> None:
    """Check (D, I) against the reference ranking; near-ties may swap unless exact."""
    assert D.dtype == np.float32 and I.dtype == np.int64 and D.shape == I.shape
    pad = want < 0
    np.testing.assert_array_equal(I < 0, pad)
    assert np.all(np.isposinf(D[pad]))
    ref_at_want = np.take_along_axis(ref, np.where(pad, 0, want), 1)[~pad]
    np.testing.assert_allclose(D[~pad], ref_at_want, rtol=1e-5, atol=1e-5)
    assert all(np.all(np.diff(row[np.isfinite(row)]) >= 0) for row in D)
    if exact:
        np.testing.assert_array_equal(I, want)
        np.testing.assert_array_equal(D[~pad], ref_at_want)
    else:  # float32 vs float64: only ids whose distances nearly tie may swap
        ref_at_got = np.take_along_axis(ref, np.where(pad, 0, I), 1)[~pad]
        np.testing.assert_allclose(ref_at_got, ref_at_want, rtol=1e-5, atol=1e-5)
        assert np.mean(want == I) > 0.95


def grid_problem(
    seed: int,
    M: int,
    nbits: int,
    n: int,
    nq: int,
    dsub: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Half-integer data: every distance is exact in float32, so ties are exact."""
    rng = np.random.default_rng(seed)
    codebook = (rng.integers(-4, 5, (M, 2**nbits, dsub)) / 2).astype(np.float32)
    codes = rng.integers(0, 2**nbits, (n, M)).astype(np.uint8)
    xq = (rng.integers(-4, 5, (nq, M * dsub)) / 2).astype(np.float32)
    return xq, codebook, codes


@pytest.fixture
def small_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the sampled-threshold path run on small databases."""
    monkeypatch.setattr(search_module, "_SAMPLE_SIZE", 64)


@pytest.mark.parametrize("distance", DISTANCES)
@pytest.mark.parametrize(("M", "nbits"), SIZES)
@pytest.mark.parametrize("packed", [True, False])
@pytest.mark.usefixtures("small_sample")
def test_search_matches_brute_force_on_random_data(
    distance: Distance,
    M: int,
    nbits: int,
    packed: bool,
) -> None:
    rng = np.random.default_rng(M * 10 + nbits)
    codebook = rng.standard_normal((M, 2**nbits, 3)).astype(np.float32)
    codes = rng.integers(0, 2**nbits, (3000, M)).astype(np.uint8)
    xq = rng.standard_normal((7, M * 3)).astype(np.float32)
    db = PackedCodes(codes, 2**nbits) if packed else codes
    D, I = adc_search(xq, codebook, db, 25, distance=distance)
    ref = brute_force(xq, codebook, codes, distance)
    assert_matches(D, I, ref, expected_ids(ref, 25), exact=False)


# Square roots of half-integer squares are exact only with one-dimensional subspaces.
TIE_CASES = [(dist, M, nbits, 1) for dist in DISTANCES for M, nbits in SIZES[3:]]
TIE_CASES += [("squared_l2", 4, 1, 3), ("squared_l2", 3, 4, 2)]


@pytest.mark.parametrize(("distance", "M", "nbits", "dsub"), TIE_CASES)
@pytest.mark.parametrize("packed", [True, False])
def test_search_breaks_ties_by_smaller_index(
    distance: Distance,
    M: int,
    nbits: int,
    dsub: int,
    packed: bool,
) -> None:
    # 20k items over a few distinct codes: thousands tie at the k-th distance, and
    # n is large enough for the sampled-threshold path with the default sample size.
    xq, codebook, codes = grid_problem(5, M, nbits, 20_000, 4, dsub)
    db = PackedCodes(codes, 2**nbits) if packed else codes
    D, I = adc_search(xq, codebook, db, 300, distance=distance)
    ref = brute_force(xq, codebook, codes, distance)
    assert_matches(D, I, ref, expected_ids(ref, 300), exact=True)


@pytest.mark.parametrize("distance", DISTANCES)
@pytest.mark.parametrize("k", [1, 40, 5000])
@pytest.mark.usefixtures("small_sample")
def test_search_respects_mask_and_exclude(distance: Distance, k: int) -> None:
    xq, codebook, codes = grid_problem(6, 4, 2, 4000, 5)
    rng = np.random.default_rng(6)
    mask = rng.random(4000) < 0.6
    exclude = rng.integers(-1, 4000, (5, 30))  # per query, -1 is padding
    D, I = adc_search(
        xq, codebook, codes, k, distance=distance, mask=mask, exclude=exclude
    )
    ref = brute_force(xq, codebook, codes, distance)
    want = expected_ids(ref, k, mask, exclude)
    assert_matches(D, I, ref, want, exact=True)
    assert mask[I[I >= 0]].all()
    for qi in range(5):
        assert not np.isin(I[qi], exclude[qi][exclude[qi] >= 0]).any()


def test_search_global_exclude_applies_to_every_query() -> None:
    xq, codebook, codes = grid_problem(7, 2, 1, 50, 3)
    exclude = np.array([0, 3, 3, 49])
    D, I = adc_search(xq, codebook, codes, 50, exclude=exclude)
    ref = brute_force(xq, codebook, codes, "subspace_l2")
    assert_matches(D, I, ref, expected_ids(ref, 50, exclude=exclude), exact=True)
    assert (I[:, -3:] == -1).all() and (I[:, :-3] >= 0).all()


def test_search_pads_missing_with_minus_one() -> None:
    xq, codebook, codes = grid_problem(8, 4, 2, 100, 2)
    mask = np.zeros(100, bool)
    mask[[5, 17, 42, 99]] = True
    D, I = adc_search(xq, codebook, codes, 10, mask=mask, exclude=[17])
    assert D.shape == I.shape == (2, 10)
    assert set(I[0, :3].tolist()) == {5, 42, 99}
    assert (I[:, 3:] == -1).all() and np.isposinf(D[:, 3:]).all()
    assert np.isfinite(D[:, :3]).all()


def test_search_with_nothing_allowed_returns_only_padding() -> None:
    xq, codebook, codes = grid_problem(9, 2, 2, 30, 2)
    D, I = adc_search(xq, codebook, codes, 4, mask=np.zeros(30, bool))
    assert (I == -1).all() and np.isposinf(D).all()


@pytest.mark.parametrize("distance", DISTANCES)
def test_search_falls_back_when_threshold_is_too_tight(
    distance: Distance, monkeypatch: pytest.MonkeyPatch
) -> None:
    xq, codebook, codes = grid_problem(10, 4, 1, 500, 3)

    def too_tight(dist: np.ndarray, k: int, *, n_avail: int) -> np.float32:
        return np.float32(np.nanmin(dist))  # fewer than k items pass

    monkeypatch.setattr(search_module, "_estimate_threshold", too_tight)
    D, I = adc_search(xq, codebook, codes, 60, distance=distance)
    ref = brute_force(xq, codebook, codes, distance)
    assert_matches(D, I, ref, expected_ids(ref, 60), exact=True)


@pytest.mark.usefixtures("small_sample")
def test_search_handles_many_queries_across_table_chunks() -> None:
    xq, codebook, codes = grid_problem(11, 8, 4, 2000, 300, dsub=2)
    D, I = adc_search(xq, codebook, codes, 50, distance="squared_l2")
    ref = brute_force(xq, codebook, codes, "squared_l2")
    assert_matches(D, I, ref, expected_ids(ref, 50), exact=True)


@pytest.mark.parametrize(("M", "nbits"), SIZES)
def test_packed_scan_equals_naive_gather(M: int, nbits: int) -> None:
    rng = np.random.default_rng(12)
    codes = rng.integers(0, 2**nbits, (1000, M)).astype(np.uint8)
    tables = rng.random((M, 2**nbits)).astype(np.float32)
    packed = PackedCodes(codes, 2**nbits)
    naive = sum(tables[m][codes[:, m]] for m in range(M))
    assert (packed.n, packed.M, packed.ksub) == (1000, M, 2**nbits)
    np.testing.assert_allclose(packed.scan(tables), naive, rtol=1e-6)


def test_search_on_plain_and_packed_codes_is_identical() -> None:
    rng = np.random.default_rng(13)
    codes = rng.integers(0, 16, (5000, 8))
    tables = rng.random((3, 8, 16)).astype(np.float32)
    d1, i1 = search(tables, codes, 10)
    d2, i2 = search(tables, PackedCodes(codes, 16), 10)
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_array_equal(d1, d2)


def test_search_validates_its_arguments() -> None:
    codes = np.zeros((10, 4), np.uint8)
    tables = np.zeros((1, 4, 16), np.float32)
    with pytest.raises(ValueError, match="k=0"):
        search(tables, codes, 0)
    with pytest.raises(TypeError, match="float"):
        search(tables, codes, 2.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"shape \(4, 16\)"):
        search(tables[0], codes, 1)
    with pytest.raises(ValueError, match=r"expected \(nq, M, ksub\)=\(4, 8\)"):
        search(tables, PackedCodes(codes, 8), 1)
    with pytest.raises(ValueError, match="found 16"):
        search(tables, np.full((10, 4), 16), 1)
    with pytest.raises(TypeError, match="int64"):
        search(tables, codes, 1, mask=np.ones(10, np.int64))
    with pytest.raises(ValueError, match=r"n=10"):
        search(tables, codes, 1, mask=np.ones(9, bool))
    with pytest.raises(ValueError, match="found 10"):
        search(tables, codes, 1, exclude=[10])
    with pytest.raises(ValueError, match="finite"):
        search(np.full((1, 4, 16), np.nan, np.float32), codes, 1)
    with pytest.raises(ValueError, match="ksub=300"):
        PackedCodes(codes, 300)


def test_adc_search_equals_search_on_distance_tables() -> None:
    xq, codebook, codes = grid_problem(14, 4, 4, 200, 3, dsub=2)
    tables = distance_tables(xq, codebook)
    for got, want in zip(
        adc_search(xq, codebook, codes, 7), search(tables, codes, 7), strict=True
    ):
        np.testing.assert_array_equal(got, want)
