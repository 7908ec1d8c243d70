"""Search latency at 100k and 1M photos, catalog bytes per photo, resident memory.

Run: ``python tests/benchmarks/bench_library_search.py [--sizes 100000 1000000]``.
Not collected by pytest. Builds synthetic catalogs (random embeddings, their real PQ codes
under a 32-bit tiny model: M=8, K=16, L=4) through the catalog writer, then times
`Library.similar_to_photo` (stored-embedding query: SQL fetch, ADC scan over
`core.PackedCodes`, top-k, path lookup) in a fresh process, which also reports its RSS.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from sscq_desktop.core import encode
from sscq_desktop.library.catalog.catalog import IngestRecord
from sscq_desktop.library.catalog.reconciliation import FileStat, Reconciliation
from sscq_desktop.library.library import Library
from sscq_desktop.library.records import FolderId, PhotoId
from sscq_desktop.paths import app_paths

sys.path.append(str(Path(__file__).resolve().parents[1]))  # tests/, after sscq_desktop
from tiny_model import make_tiny_artifact

sys.path.pop()  # decoder processes (spawn) start with this sys.path

BATCH = 20_000


def build(home: Path, n: int, *, content_key: str | None = None) -> float:
    """Create a catalog of `n` encoded photos; returns seconds taken.

    Each photo gets a content key of its own, or `content_key` for all (then they share
    one thumbnail, as identical copies do).
    """
    start = time.perf_counter()
    artifact = make_tiny_artifact(home / "bench.onnx", model_id="bench")
    meta = artifact.metadata
    lib = Library(app_paths(home))
    lib.import_model(artifact.path)
    lib.switch_model("bench")
    cat = lib.catalog
    folder_path = home / "photos"
    folder_path.mkdir()
    folder = cat.add_folder(folder_path)
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((1000, meta.embed_dim)).astype(np.float32) * 3
    for lo in range(0, n, BATCH):
        hi = min(n, lo + BATCH)
        files = [
            FileStat(
                folder.path / f"d{i // 1000:04d}" / f"IMG_{i:07d}.jpg",
                3_000_000 + i,
                i,
                FolderId(folder.id),
            )
            for i in range(lo, hi)
        ]
        cat.apply_reconciliation(Reconciliation(new=[(f, None) for f in files]))
        emb = centres[rng.integers(0, 1000, hi - lo)] + rng.standard_normal(
            (hi - lo, meta.embed_dim)
        ).astype(np.float32)
        codes = encode(emb, meta.codebooks)
        emb16 = emb.astype("<f2")
        work = cat.reader.missing_work(["bench"], after=lo, limit=hi - lo)
        records = [
            IngestRecord(
                w.photo_id,
                3_000_000,
                0,
                content_key or f"{3_000_000}:{w.photo_id:032x}",
                4000,
                3000,
                encodings={"bench": (codes[j].tobytes(), emb16[j].tobytes())},
            )
            for j, w in enumerate(work)
        ]
        cat.record_ingest(records)
    cat._db.sqlite.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    lib.close()
    return time.perf_counter() - start


def measure(home: Path, queries: int) -> dict[str, float]:
    """Run in a fresh process: index load, query latency, RSS."""
    lib = Library(app_paths(home))
    t0 = time.perf_counter()
    index = lib.code_index()
    load_s = time.perf_counter() - t0
    rng = np.random.default_rng(1)
    ids = rng.choice(index.photo_ids, size=queries, replace=False)
    lib.similar_to_photo(PhotoId(int(ids[0])), k=20)  # warm
    times = []
    for pid in ids:
        t = time.perf_counter()
        hits = lib.similar_to_photo(PhotoId(int(pid)), k=20)
        times.append(time.perf_counter() - t)
        assert len(hits) == 20
    scoped = []
    scope = [lib.folders()[0].path / "d0000", lib.folders()[0].path / "d0001"]
    for pid in ids[:10]:
        t = time.perf_counter()
        lib.similar_to_photo(PhotoId(int(pid)), k=20, folders=scope)
        scoped.append(time.perf_counter() - t)
    status = Path("/proc/self/status").read_text()
    rss = {
        line.split(":")[0]: int(line.split()[1]) / 1024
        for line in status.splitlines()
        if line.startswith(("VmRSS", "VmHWM"))
    }
    lib.close()
    times.sort()
    return {
        "n": float(index.size),
        "index_load_s": load_s,
        "median_ms": 1000 * statistics.median(times),
        "p95_ms": 1000 * times[int(0.95 * (len(times) - 1))],
        "scoped_median_ms": 1000 * statistics.median(scoped),
        "rss_mb": rss["VmRSS"],
        "peak_rss_mb": rss["VmHWM"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        print(json.dumps(measure(args.measure, args.queries)))
        return
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            build_s = build(home, n)
            db = home / "data" / "catalog.sqlite3"
            size = sum(p.stat().st_size for p in db.parent.glob("catalog.sqlite3*"))
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--measure",
                    str(home),
                    "--queries",
                    str(args.queries),
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"n={n:>9,}: build {build_s:6.1f} s | catalog {size / n:6.1f} B/photo "
                f"({size / 1e6:.1f} MB) | index load {r['index_load_s']:.2f} s | "
                f"similar_to_photo k=20 median {r['median_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms, "
                f"2-folder scope {r['scoped_median_ms']:.1f} ms | RSS {r['rss_mb']:.0f} MB "
                f"(peak {r['peak_rss_mb']:.0f} MB)"
            )


if __name__ == "__main__":
    main()
