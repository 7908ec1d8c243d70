"""A storm of file events under `watch`: time until the catalog equals the disk.

Run: ``python tests/benchmarks/bench_watch_storm.py [--photos 10000] [--polling]
[--add-folder 1000]``.
Not collected by pytest. With `Library.watch` running on a real watchdog observer (the
same job as ``sscq-desktop watch``), four storms hit one watched root, one after another:

1. copy: N small photos are copied in (every one must be encoded);
2. rename: their folder is renamed;
3. move: half of them are moved to another folder;
4. delete: a quarter of them are deleted;
5. add (with ``--add-folder M``): a new folder of M photos is added to the library
   while the rest stay watched (issue #14, item 2): only that folder may be walked,
   and the watcher goes on.

For each it prints the seconds until the catalog equals the disk (every file on disk is
a catalog row with codes, and no row is stale) and how many photos were encoded; moves
and renames must encode none (their content keys carry the codes over).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from sscq_desktop.library.ingest.ingest import IngestOptions
from sscq_desktop.library.library import Library
from sscq_desktop.library.records import FolderId
from sscq_desktop.model.artifact import ModelArtifact
from sscq_desktop.model.artifact_metadata import ArtifactMetadata
from sscq_desktop.model.encoder import Embedder, EncodedBatch, OnnxEncoder
from sscq_desktop.paths import app_paths, default_model_path

# tests/ holds tiny_model; appended after sscq_desktop is imported, because its
# tests/sscq_desktop folder would otherwise shadow the package as a namespace.
sys.path.append(str(Path(__file__).resolve().parents[1]))
from tiny_model import make_tiny_artifact

sys.path.pop()  # decoder processes (spawn) start with this sys.path


class CountingEncoder:
    """The real onnxruntime encoder, counting the photos it encodes."""

    def __init__(self, artifact: ModelArtifact, counts: list[int]) -> None:
        self._inner = OnnxEncoder(artifact, device="cpu", intra_op_threads=1)
        self._counts = counts

    @property
    def metadata(self) -> ArtifactMetadata:
        return self._inner.metadata

    def encode(self, images: np.ndarray) -> EncodedBatch:
        self._counts[0] += len(images)
        return self._inner.encode(images)


def make_photos(folder: Path, n: int, *, seed: int = 0) -> list[Path]:
    """Distinct 64x48 JPEGs: a random 4x4 colour grid each, a few KB."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        grid = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
        path = folder / f"img_{i:05d}.jpg"
        Image.fromarray(grid).resize((64, 48)).save(path, quality=90)
        paths.append(path)
    return paths


def catalog_matches_disk(library: Library, root: Path) -> bool:
    """Every image on disk is a catalog row with codes; no row is stale."""
    on_disk = {Path(d) / f for d, _, files in os.walk(root) for f in files}
    known = {k.path for k in library.catalog.reader.known_files()}
    stats = library.stats()
    encoded = stats.encoded.get(library.active_model_id or "", 0)
    return known == on_disk and stats.ok == encoded == len(on_disk)


def storm(
    name: str,
    action: Callable[[], None],
    library: Library,
    root: Path,
    counts: list[int],
    *,
    timeout_s: float,
) -> None:
    """Run one storm and print the time to a consistent catalog and the encodes."""
    before = counts[0]
    start = time.perf_counter()
    action()
    acted = time.perf_counter() - start
    while not catalog_matches_disk(library, root):
        if time.perf_counter() - start > timeout_s:
            raise SystemExit(
                f"{name}: the catalog did not match the disk in {timeout_s} s"
            )
        time.sleep(0.2)
    took = time.perf_counter() - start
    print(
        f"{name:<8} {took:9.1f} s  (the file operations: {acted:5.1f} s)  "
        f"{counts[0] - before:8d} encoded",
        flush=True,
    )


def add_folder(
    library: Library, work: Path, n: int, counts: list[int], *, timeout_s: float
) -> None:
    """Add a folder of `n` photos while the others are watched; print what it cost.

    Counts the scanner's walks (each names the folder it walks): only the new folder
    may be walked, whatever the number of photos watched.
    """
    from sscq_desktop.library.folders import scanner
    from sscq_desktop.library.ingest import indexer

    folder = work / "added"
    make_photos(folder, n, seed=1)
    time.sleep(2.5)  # past settle_s: a folder the user had, not one being written
    watched = library.stats().images
    walked: list[Path] = []
    walk = scanner.walk_images

    def counting_walk(root: Path, folder_id: FolderId, **kw: Any) -> Any:
        walked.append(root)
        return walk(root, folder_id, **kw)

    def patch(fn: Any) -> None:  # the scanner's walk, where both modules find it
        for module in (scanner, indexer):
            module.__dict__["walk_images"] = fn

    patch(counting_walk)
    try:
        before = counts[0]
        start = time.perf_counter()
        record = library.add_folder(folder)
        returned = time.perf_counter() - start
        while True:
            stats = library.stats()
            encoded = stats.encoded.get(library.active_model_id or "", 0)
            if stats.images == encoded == watched + n:
                break
            if time.perf_counter() - start > timeout_s:
                raise SystemExit(f"add: not indexed in {timeout_s} s")
            time.sleep(0.2)
        took = time.perf_counter() - start
    finally:
        patch(walk)
    outside = [p for p in walked if not p.is_relative_to(record.path)]
    print(
        f"{'add':<8} {took:9.1f} s  (add_folder returned in {returned:5.2f} s)  "
        f"{counts[0] - before:8d} encoded; {watched} photos watched, "
        f"{len(walked)} walk(s), {len(outside)} outside the new folder",
        flush=True,
    )
    if outside:
        raise SystemExit(f"add: folders already watched were walked: {outside}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=10_000, help="photos copied in")
    parser.add_argument(
        "--polling", action="store_true", help="poll instead of native events"
    )
    parser.add_argument(
        "--tiny-model",
        action="store_true",
        help="encode with a tiny generated model instead of the shipped default",
    )
    parser.add_argument(
        "--add-folder",
        type=int,
        default=0,
        metavar="M",
        help="then add a folder of M photos beside the watched ones (0: skip)",
    )
    parser.add_argument("--timeout", type=float, default=1800.0, help="per storm, s")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-storm-") as tmp:
        work = Path(tmp)
        os.environ["SSCQ_DESKTOP_HOME"] = str(work / "home")
        staging = work / "camera"
        print(f"making {args.photos} photos...", flush=True)
        make_photos(staging, args.photos)
        if args.tiny_model:
            model = make_tiny_artifact(work / "tiny.onnx").path
        else:
            model = default_model_path()
        counts = [0]

        def factory(artifact: ModelArtifact) -> Embedder:
            return CountingEncoder(artifact, counts)

        root = work / "photos"
        root.mkdir()
        library = Library(
            app_paths(), encoder_factory=factory, ingest_options=IngestOptions()
        )
        record = library.import_model(model)
        library.switch_model(record.model_id)
        library.add_folder(root)
        cancel = threading.Event()
        failures: list[BaseException] = []

        def watch() -> None:
            try:
                for _ in library.watch(
                    cancel=cancel,
                    debounce_s=1.0,
                    settle_s=2.0,
                    force_polling=args.polling,
                    polling_interval_s=2.0,
                ):
                    pass
            except BaseException as exc:
                failures.append(exc)
                raise

        thread = threading.Thread(target=watch, daemon=True)
        thread.start()
        time.sleep(2.0)  # the observer is up
        first = counts[0]  # a model's acceptance check may encode a test batch

        def copy() -> None:
            (root / "incoming").mkdir()
            for path in sorted(staging.iterdir()):
                shutil.copy2(path, root / "incoming" / path.name)

        def rename() -> None:
            (root / "incoming").rename(root / "renamed")

        def move_half() -> None:
            (root / "other").mkdir()
            for path in sorted((root / "renamed").iterdir())[::2]:
                path.rename(root / "other" / path.name)

        def delete_quarter() -> None:
            everything = sorted(root.rglob("*.jpg"))
            for path in everything[: args.photos // 4]:
                path.unlink()

        print(f"{'storm':<8} {'to match':>11}  {'':34}  {'photos':>8}", flush=True)
        try:
            for name, action in [
                ("copy", copy),
                ("rename", rename),
                ("move", move_half),
                ("delete", delete_quarter),
            ]:
                storm(name, action, library, root, counts, timeout_s=args.timeout)
            if args.add_folder:
                add_folder(
                    library, work, args.add_folder, counts, timeout_s=args.timeout
                )
                first += args.add_folder  # encoded by the add, not re-encoded
        finally:
            cancel.set()
            thread.join(timeout=30)
            library.close()
        if failures:
            raise SystemExit(f"watch failed: {failures[0]!r}")
        re_encoded = counts[0] - first - args.photos
        print(
            f"{args.photos} photos; re-encoded by renames, moves and deletions: "
            f"{re_encoded}"
        )


if __name__ == "__main__":
    main()
