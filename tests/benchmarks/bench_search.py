"""Benchmark: numpy ADC top-k (sscq_desktop.core) against faiss on identical PQ data.

Run as ``python tests/benchmarks/bench_search.py``; not collected by pytest. Needs the
``bench`` extra (faiss-cpu). faiss indexes get the same codebook and the same codes.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import faiss
import numpy as np
import numpy.typing as npt

from sscq_desktop.core import (
    Distance,
    PackedCodes,
    decode,
    distance_tables,
    encode,
    search,
)

D_DIM, M_SUB, NBITS, K = 32, 8, 4, 100  # 32-bit codes: M = 8 codebooks of 16 codewords


def median_ms(fn: Callable[[int], object], reps: int) -> float:
    """Median wall time of ``fn(rep)`` over ``reps`` calls after one warm-up, in ms."""
    fn(0)
    times = []
    for rep in range(reps):
        start = time.perf_counter()
        fn(rep)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def faiss_pack(codes: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """faiss 4-bit layout: subspace 2j in the low nibble of byte j, 2j + 1 high."""
    return (codes[:, 0::2] | (codes[:, 1::2] << 4)).astype(np.uint8)  # (n, M / 2)


def set_centroids(
    pq: faiss.ProductQuantizer, codebook: npt.NDArray[np.float32]
) -> None:
    """Overwrite a trained faiss PQ's centroids with ``codebook`` (M, ksub, dsub)."""
    faiss.copy_array_to_vector(codebook.ravel(), pq.centroids)
    if pq.transposed_centroids.size():
        pq.sync_transposed_centroids()


def make_index_pq(
    codebook: npt.NDArray[np.float32], codes: npt.NDArray[np.uint8]
) -> faiss.IndexPQ:
    """A faiss IndexPQ with our codebook and our codes copied in verbatim."""
    M, _, dsub = codebook.shape
    xt = np.random.default_rng(1).standard_normal((4096, M * dsub)).astype(np.float32)
    index = faiss.IndexPQ(M * dsub, M, NBITS)
    index.train(xt)  # only to set the PQ up; the centroids are replaced next
    set_centroids(index.pq, codebook)
    packed = faiss_pack(codes)
    faiss.copy_array_to_vector(packed.ravel(), index.codes)
    index.ntotal = len(codes)
    # the byte layout is right iff faiss decodes our codes to our vectors
    got = index.sa_decode(packed[:1000])
    assert np.array_equal(got, decode(codes[:1000], codebook)), "code layout"
    return index


def make_index_fast_scan(
    codebook: npt.NDArray[np.float32], codes: npt.NDArray[np.uint8]
) -> faiss.IndexPQFastScan:
    """A faiss IndexPQFastScan with our codebook, fed our decoded vectors."""
    M, _, dsub = codebook.shape
    xt = np.random.default_rng(1).standard_normal((4096, M * dsub)).astype(np.float32)
    index = faiss.IndexPQFastScan(M * dsub, M, NBITS)
    index.train(xt)
    set_centroids(index.pq, codebook)
    xb = decode(codes, codebook)  # codeword vectors: they re-encode to our codes
    assert np.array_equal(index.pq.compute_codes(xb[:1000]), faiss_pack(codes[:1000]))
    index.add(xb)
    return index


@dataclass
class Row:
    """One line of the table; times in ms."""

    n: int
    ours: float
    ours_ref: float
    pq: dict[int, float]  # threads -> ms
    fs: dict[int, float]
    ids_equal: int  # queries whose top-K ids equal faiss IndexPQ's
    max_dist_err: float
    fs_overlap: float  # mean |ours & FastScan| / K


def run(n: int, reps: int, rng: np.random.Generator, *, threads: int) -> Row:
    """Time single-query top-K searches over ``n`` codes, ours and faiss."""
    codebook = rng.standard_normal((M_SUB, 2**NBITS, D_DIM // M_SUB)).astype(np.float32)
    codes = encode(rng.standard_normal((n, D_DIM)).astype(np.float32), codebook)
    xq = rng.standard_normal((reps, D_DIM)).astype(np.float32)
    db = PackedCodes(codes, 2**NBITS)
    index_pq, index_fs = (
        make_index_pq(codebook, codes),
        make_index_fast_scan(codebook, codes),
    )

    def ours(
        rep: int, distance: Distance = "squared_l2"
    ) -> tuple[np.ndarray, np.ndarray]:
        tables = distance_tables(xq[rep : rep + 1], codebook, distance=distance)
        return search(tables, db, K)

    row = Row(n, median_ms(ours, reps), 0.0, {}, {}, 0, 0.0, 0.0)
    row.ours_ref = median_ms(lambda r: ours(r, "subspace_l2"), reps)
    for nt in (threads, 1):
        faiss.omp_set_num_threads(nt)
        row.pq[nt] = median_ms(lambda r: index_pq.search(xq[r : r + 1], K), reps)
        row.fs[nt] = median_ms(lambda r: index_fs.search(xq[r : r + 1], K), reps)
    faiss.omp_set_num_threads(threads)

    dist, ids = search(distance_tables(xq, codebook, distance="squared_l2"), db, K)
    dist_pq, ids_pq = index_pq.search(xq, K)
    _, ids_fs = index_fs.search(xq, K)
    row.ids_equal = int(np.all(ids == ids_pq, axis=1).sum())
    row.max_dist_err = float(np.abs(dist - dist_pq).max())
    overlap = [
        len(set(a.tolist()) & set(b.tolist())) for a, b in zip(ids, ids_fs, strict=True)
    ]
    row.fs_overlap = float(np.mean(overlap))
    return row


def run_eval(rng: np.random.Generator, nq: int, nb: int, k: int) -> None:
    """Time the evaluation-sized batch (CIFAR-10: 10k queries, 50k codes, k = 1000)."""
    codebook = rng.standard_normal((M_SUB, 2**NBITS, 16)).astype(np.float32)
    codes = encode(rng.standard_normal((nb, M_SUB * 16)).astype(np.float32), codebook)
    xq = rng.standard_normal((nq, M_SUB * 16)).astype(np.float32)
    start = time.perf_counter()
    _, ids = search(distance_tables(xq, codebook, distance="squared_l2"), codes, k)
    ours = time.perf_counter() - start
    index = make_index_pq(codebook, codes)
    start = time.perf_counter()
    _, ids_pq = index.search(xq, k)
    theirs = time.perf_counter() - start
    same = np.mean(ids == ids_pq)
    print(
        f"\nevaluation batch (d=128, M=8, nbits=4): {nq} queries x {nb} codes, k={k}: "
        f"ours {ours:.2f} s, faiss IndexPQ {theirs:.2f} s "
        f"({faiss.omp_get_max_threads()} threads); ids equal in {same:.2%} of slots"
    )


def main() -> None:
    """Parse arguments, run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=20, help="queries timed per cell")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--skip-eval", action="store_true", help="skip 10k x 50k run")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    t = faiss.omp_get_max_threads()
    print(
        f"top-{K}, one query per call, d={D_DIM}, M={M_SUB}, nbits={NBITS}, median of "
        f"{args.reps} calls; numpy {np.__version__}, faiss {faiss.__version__}"
    )
    print(f"faiss.omp_get_max_threads() = {t}: '@{t}t' columns; '@1t' = 1 thread")
    print("ours = squared_l2 tables + exact top-k over PackedCodes; ours(ref) = same")
    print("with subspace_l2. faiss IndexPQ holds our codebook and our codes verbatim;")
    print("IndexPQFastScan holds our codebook and was fed the DECODED vectors (checked")
    print(
        "to re-encode to our codes); it ranks with 8-bit tables, so ids only overlap."
    )
    print()
    print(
        f"{'n':>9} {'ours ms':>8} {'ours(ref)':>9} {f'PQ@{t}t ms':>10} {'PQ@1t ms':>9}"
        f" {f'FS@{t}t ms':>10} {'FS@1t ms':>9} {f'ours/PQ@{t}t':>12}"
        f" {'ours/PQ@1t':>10} {'ids==PQ':>8} {'max|dD|':>8} {'FS overlap':>10}"
    )
    for n in args.sizes:
        r = run(n, args.reps, rng, threads=t)
        print(
            f"{n:>9} {r.ours:>8.2f} {r.ours_ref:>9.2f} {r.pq[t]:>10.2f} {r.pq[1]:>9.2f}"
            f" {r.fs[t]:>10.2f} {r.fs[1]:>9.2f} {r.ours / r.pq[t]:>12.2f}"
            f" {r.ours / r.pq[1]:>10.2f} {f'{r.ids_equal}/{args.reps}':>8}"
            f" {r.max_dist_err:>8.1e} {f'{r.fs_overlap:.1f}/{K}':>10}"
        )
    if not args.skip_eval:
        run_eval(rng, 10_000, 50_000, 1000)


if __name__ == "__main__":
    main()
