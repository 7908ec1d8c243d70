"""Ingest throughput on 12-megapixel JPEGs, end to end vs the decode-only ceiling vs naive.

Run: ``python tests/benchmarks/bench_library_ingest.py [--images 48] [--workers 2]``.
Not collected by pytest. Prints images/s for three pipelines on the same files:

- ceiling: the loader alone (draft decode + EXIF + RGB) on the same thread pool;
- end to end: `Library.ingest` (decode, resize, encode with onnxruntime, catalog, thumbnail);
- naive: full-size decode then resize, same pool, no encoder, no catalog.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from sscq_desktop.library.images.image_loader import load_image
from sscq_desktop.library.ingest.ingest import IngestOptions
from sscq_desktop.library.library import Library
from sscq_desktop.library.progress import run_job
from sscq_desktop.model.preprocessing import to_model_input
from sscq_desktop.paths import app_paths

# tests/ holds tiny_model; appended after sscq_desktop is imported, because its
# tests/sscq_desktop folder would otherwise shadow the package as a namespace, and
# removed again: the decoder processes (spawn) start with this sys.path.
sys.path.append(str(Path(__file__).resolve().parents[1]))
from tiny_model import make_tiny_artifact

sys.path.pop()

SIZE = 224  # model input side, as a real model would have


def make_photos(folder: Path, n: int) -> list[Path]:
    """Photo-like 4000x3000 JPEGs (smooth gradients plus sensor-like noise)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:3000, 0:4000].astype(np.float32)
    noise = rng.normal(0, 10, size=(3000, 4000, 3)).astype(np.float32)  # sensor-like
    paths = []
    for i in range(n):
        a, b, c = rng.random(3) * 0.002
        base = np.stack([np.sin(xx * a + i), np.cos(yy * b), np.sin((xx + yy) * c)], -1)
        shifted = np.roll(noise, shift=(97 * i, 131 * i), axis=(0, 1))
        arr = np.clip(base * 100 + 128 + shifted, 0, 255).astype(np.uint8)
        path = folder / f"img{i:04d}.jpg"
        Image.fromarray(arr).save(path, quality=90)
        paths.append(path)
    return paths


def ceiling(paths: list[Path], workers: int) -> float:
    def one(p: Path) -> None:
        loaded = load_image(p, targets=[(SIZE, "center_crop")], thumbnail_size=256)
        to_model_input(loaded.image, size=SIZE, policy="center_crop")

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, paths))
    return len(paths) / (time.perf_counter() - start)


def naive(paths: list[Path], workers: int) -> float:
    def one(p: Path) -> None:
        with Image.open(p) as im:
            to_model_input(im.convert("RGB"), size=SIZE, policy="center_crop")

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, paths))
    return len(paths) / (time.perf_counter() - start)


def end_to_end(paths: list[Path], workers: int, home: Path) -> float:
    artifact = make_tiny_artifact(home / "bench.onnx", size=SIZE)
    lib = Library(
        app_paths(home), ingest_options=IngestOptions(workers=workers, batch_size=16)
    )
    lib.import_model(artifact.path)
    lib.switch_model(artifact.model_id)
    lib.add_folder(paths[0].parent)
    run_job(lib.scan())
    lib.encoder(artifact.model_id)  # load the session before timing
    start = time.perf_counter()
    summary = run_job(lib.ingest())
    elapsed = time.perf_counter() - start
    assert summary.done == len(paths) and summary.errors == 0, summary
    lib.close()
    return len(paths) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=48)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        photos = root / "photos"
        photos.mkdir()
        t0 = time.perf_counter()
        paths = make_photos(photos, args.images)
        mb = sum(p.stat().st_size for p in paths) / len(paths) / 1e6
        print(
            f"{len(paths)} JPEGs 4000x3000 (~{mb:.1f} MB each) made in {time.perf_counter() - t0:.0f} s"
        )
        print(f"cpus={os.cpu_count()} workers={args.workers} model input={SIZE}")
        ceiling(paths[:4], args.workers)  # warm the page cache
        c = ceiling(paths, args.workers)
        e = end_to_end(paths, args.workers, root / "home")
        n = naive(paths, args.workers)
        print(f"decode-only ceiling : {c:6.1f} img/s")
        print(
            f"end to end (ingest) : {e:6.1f} img/s  ({100 * e / c:.0f}% of the ceiling)"
        )
        print(
            f"naive full decode   : {n:6.1f} img/s  (decode+resize only, no encode/catalog)"
        )


if __name__ == "__main__":
    main()
