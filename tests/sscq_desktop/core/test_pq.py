"""PQ codec and distance-table tests: exact codec, reference distances, errors."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from sscq_desktop.core import (
    check_codebook,
    check_codes,
    decode,
    distance_tables,
    encode,
)

SIZES = [
    (1, 1, 3),
    (3, 4, 2),
    (8, 4, 4),
    (4, 8, 2),
    (5, 8, 3),
    (2, 2, 1),
]  # M, nbits, dsub


def make_codebook(rng: np.random.Generator, M: int, ksub: int, dsub: int) -> np.ndarray:
    return rng.standard_normal((M, ksub, dsub)).astype(np.float32)


def reference_decode(
    codes: npt.NDArray[np.integer], codebook: np.ndarray
) -> np.ndarray:
    return np.concatenate(
        [codebook[m][codes[:, m]] for m in range(codebook.shape[0])], 1
    )


@pytest.mark.parametrize(("M", "nbits", "dsub"), SIZES)
def test_decode_of_encode_is_exact_for_codeword_vectors(
    M: int, nbits: int, dsub: int
) -> None:
    rng = np.random.default_rng(M * 100 + nbits)
    ksub = 2**nbits
    codebook = make_codebook(rng, M, ksub, dsub)
    codes = rng.integers(0, ksub, (500, M)).astype(np.uint8)
    x = reference_decode(codes, codebook)  # (500, d), built from codewords
    got = encode(x, codebook)
    assert got.dtype == np.uint8 and got.shape == (500, M)
    np.testing.assert_array_equal(got, codes)
    np.testing.assert_array_equal(decode(got, codebook), x)


@pytest.mark.parametrize(("M", "nbits", "dsub"), SIZES)
def test_encode_picks_the_nearest_codeword(M: int, nbits: int, dsub: int) -> None:
    rng = np.random.default_rng(7)
    ksub = 2**nbits
    codebook = make_codebook(rng, M, ksub, dsub)
    x = rng.standard_normal((300, M * dsub)).astype(np.float32)
    codes = encode(x, codebook)
    sub = x.reshape(300, M, 1, dsub).astype(np.float64)
    dist = ((sub - codebook[None].astype(np.float64)) ** 2).sum(-1)  # (300, M, ksub)
    chosen = np.take_along_axis(dist, codes[..., None].astype(np.int64), 2)[..., 0]
    np.testing.assert_allclose(chosen, dist.min(-1), rtol=1e-5, atol=1e-5)


def test_encode_accepts_float64_and_chunks_consistently() -> None:
    rng = np.random.default_rng(1)
    codebook = make_codebook(rng, 4, 16, 2)
    x = rng.standard_normal((2000, 8))
    np.testing.assert_array_equal(
        encode(x, codebook), encode(x.astype(np.float32), codebook)
    )


def test_decode_returns_float32_of_shape_n_by_d() -> None:
    codebook = make_codebook(np.random.default_rng(2), 3, 4, 5)
    out = decode(np.zeros((7, 3), dtype=np.int64), codebook)
    assert out.dtype == np.float32 and out.shape == (7, 15)


@pytest.mark.parametrize(("M", "nbits", "dsub"), SIZES)
def test_distance_tables_match_direct_distances(M: int, nbits: int, dsub: int) -> None:
    rng = np.random.default_rng(3)
    codebook = make_codebook(rng, M, 2**nbits, dsub)
    xq = rng.standard_normal((6, M * dsub)).astype(np.float32)
    sq = ((xq.reshape(6, M, 1, dsub) - codebook[None]).astype(np.float64) ** 2).sum(-1)
    squared = distance_tables(xq, codebook, distance="squared_l2")
    euclid = distance_tables(xq, codebook)  # default: the field's reference distance
    assert squared.dtype == euclid.dtype == np.float32
    assert squared.shape == (6, M, 2**nbits)
    np.testing.assert_allclose(squared, sq, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(euclid, np.sqrt(sq), rtol=1e-5, atol=1e-6)


def test_squared_l2_tables_sum_to_squared_distance_to_decoded() -> None:
    rng = np.random.default_rng(4)
    codebook = make_codebook(rng, 4, 16, 3)
    codes = rng.integers(0, 16, (50, 4))
    xq = rng.standard_normal((2, 12)).astype(np.float32)
    tables = distance_tables(xq, codebook, distance="squared_l2")  # (2, 4, 16)
    adc = tables[:, np.arange(4), codes].sum(-1)  # (2, 50)
    direct = ((xq[:, None, :] - decode(codes, codebook)[None]) ** 2).sum(-1)
    np.testing.assert_allclose(adc, direct, rtol=1e-5)


def test_check_codebook_returns_sizes() -> None:
    assert check_codebook(np.zeros((8, 16, 4), np.float32)) == (8, 16, 4)


@pytest.mark.parametrize(
    ("codebook", "error", "message"),
    [
        (np.zeros((8, 16, 4)), TypeError, "float64"),
        ([[[0.0]]], TypeError, "numpy array"),
        (np.zeros((8, 16), np.float32), ValueError, r"\(8, 16\)"),
        (np.zeros((8, 257, 2), np.float32), ValueError, "ksub=257"),
        (np.zeros((0, 16, 2), np.float32), ValueError, "empty"),
        (np.full((2, 4, 2), np.nan, np.float32), ValueError, "16 non-finite"),
    ],
)
def test_check_codebook_rejects_bad_codebooks(
    codebook: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        check_codebook(codebook)


def test_encode_rejects_wrong_dimension_and_dtype() -> None:
    codebook = np.zeros((4, 16, 2), np.float32)
    with pytest.raises(ValueError, match="d=5, expected d=M\\*dsub=8"):
        encode(np.zeros((3, 5), np.float32), codebook)
    with pytest.raises(ValueError, match=r"shape \(8,\)"):
        encode(np.zeros(8, np.float32), codebook)
    with pytest.raises(TypeError, match="int64"):
        encode(np.zeros((3, 8), np.int64), codebook)


def test_decode_rejects_codes_out_of_range_or_of_wrong_shape() -> None:
    codebook = np.zeros((4, 16, 2), np.float32)
    with pytest.raises(ValueError, match="ksub=16\\), found 16"):
        decode(np.full((2, 4), 16, np.uint8), codebook)
    with pytest.raises(ValueError, match="found -1"):
        decode(np.full((2, 4), -1, np.int32), codebook)
    with pytest.raises(ValueError, match="M=3 columns, expected M=4"):
        decode(np.zeros((2, 3), np.uint8), codebook)
    with pytest.raises(TypeError, match="float32"):
        decode(np.zeros((2, 4), np.float32), codebook)


def test_check_codes_converts_to_uint8() -> None:
    out = check_codes(np.array([[1, 255]], dtype=np.int64), ksub=256)
    assert out.dtype == np.uint8 and out.tolist() == [[1, 255]]


def test_distance_tables_rejects_unknown_distance() -> None:
    codebook = np.zeros((2, 4, 2), np.float32)
    with pytest.raises(ValueError, match="'cosine'"):
        distance_tables(np.zeros((1, 4), np.float32), codebook, distance="cosine")  # type: ignore[arg-type]
