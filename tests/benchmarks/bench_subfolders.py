"""Time `Library.subfolders` (the folders panel's tree) on a catalog of 100k photos.

Run: ``python tests/benchmarks/bench_subfolders.py [N]``. Not collected by pytest.
Builds a catalog of N indexed photos through the catalog writer, spread over a nested
tree (year / month / event folders: 1,000 leaf folders, 3 levels deep), then times the
tree from the catalog (read and count) and from records already read (the window's
snapshot passes its photos), best of five.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from sscq_desktop.library.catalog.catalog import IngestRecord
from sscq_desktop.library.catalog.reconciliation import FileStat, Reconciliation
from sscq_desktop.library.library import Library
from sscq_desktop.library.records import FolderId
from sscq_desktop.paths import app_paths

BATCH = 20_000


def build(home: Path, n: int) -> Library:
    """A library whose one root holds `n` indexed photos in 1,000 nested folders."""
    lib = Library(app_paths(home))
    root = home / "photos"
    root.mkdir()
    folder = lib.catalog.add_folder(root)
    for lo in range(0, n, BATCH):
        hi = min(n, lo + BATCH)
        files = [
            FileStat(
                root / f"{2000 + i % 10}" / f"{i // 10 % 10:02d}" / f"event_{i % 1000:04d}"
                / f"IMG_{i:07d}.jpg",
                3_000_000 + i,
                i,
                FolderId(folder.id),
            )
            for i in range(lo, hi)
        ]  # fmt: skip
        lib.catalog.apply_reconciliation(Reconciliation(new=[(f, None) for f in files]))
        pending = lib.catalog.reader.photos(status="pending")
        lib.catalog.record_ingest(
            [
                IngestRecord(p.id, p.size, p.mtime_ns, f"k{p.id}", 40, 30)
                for p in pending
            ]
        )
    return lib


def best_of(runs: int, fn: object) -> float:
    assert callable(fn)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        lib = build(Path(tmp), n)
        photos = lib.photos()
        assert len(photos) == n, len(photos)
        nodes = lib.subfolders(photos)
        print(f"{n:,} photos, {len(nodes):,} folders in the tree")
        print(
            f"subfolders(photos): {best_of(5, lambda: lib.subfolders(photos)) * 1e3:.0f} ms"
        )
        print(
            f"subfolders():       {best_of(5, lib.subfolders) * 1e3:.0f} ms (reads the catalog)"
        )
        print(f"photos() alone:     {best_of(5, lib.photos) * 1e3:.0f} ms")
        lib.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
