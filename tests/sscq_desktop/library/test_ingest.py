from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from tiny_model import make_tiny_metadata  # type: ignore[import-not-found]

from sscq_desktop.library.catalog import Catalog
from sscq_desktop.library.image_loader import LoadedImage, load_image
from sscq_desktop.library.ingest import IngestOptions, IngestPipeline
from sscq_desktop.library.progress import Progress, run_job
from sscq_desktop.library.scanner import FileStat, Reconciliation
from sscq_desktop.model.encoder import EncodedBatch


class FakeEmbedder:
    """Embedding = mean colour repeated; codes = zeros. Counts calls."""

    def __init__(self) -> None:
        self.metadata, _ = make_tiny_metadata(model_id="fake")
        self.batches: list[int] = []

    def encode(self, images: np.ndarray) -> EncodedBatch:
        self.batches.append(len(images))
        mean = images.reshape(len(images), -1, 3).mean(axis=1) / 255.0  # (N, 3)
        emb = np.tile(mean, (1, 11))[:, :32].astype(np.float32)
        return EncodedBatch(embedding=emb, codes=np.zeros((len(images), 8), np.uint8))


def _setup(tmp_path: Path, n: int) -> tuple[Catalog, list[Path]]:
    cat = Catalog(tmp_path / "catalog.sqlite3")
    folder = cat.add_folder(tmp_path)
    meta = FakeEmbedder().metadata
    cat.register_model(
        model_id="fake",
        path=tmp_path / "fake.onnx",
        source="imported",
        M=meta.M,
        K=meta.K,
        L=meta.L,
    )
    paths = []
    for i in range(n):
        p = tmp_path / f"p{i:03d}.png"
        Image.new("RGB", (40, 30), (i, 2 * i % 256, 50)).save(p)
        paths.append(p)
    cat.apply_reconciliation(
        Reconciliation(
            new=[
                (FileStat(p, p.stat().st_size, p.stat().st_mtime_ns, folder.id), None)
                for p in paths
            ]
        )
    )
    return cat, paths


def test_ingest_batches_progress_and_thumbnails(tmp_path: Path) -> None:
    cat, _ = _setup(tmp_path, 20)
    fake = FakeEmbedder()
    thumbs = tmp_path / "thumbs"
    pipeline = IngestPipeline(
        cat,
        {"fake": fake},
        thumbnails_dir=thumbs,
        options=IngestOptions(workers=2, batch_size=8),
    )
    snapshots: list[Progress] = []
    summary = run_job(pipeline.run(), snapshots.append)
    assert (
        summary.done == 20 and summary.errors == 0 and summary.encoded == {"fake": 20}
    )
    assert fake.batches == [8, 8, 4]
    assert [s.done for s in snapshots] == [0, 8, 16, 20]
    assert all(s.total == 20 for s in snapshots)
    assert snapshots[-1].rate > 0 and snapshots[-1].eta_s == 0
    assert len(list(thumbs.rglob("*.jpg"))) == 20
    assert cat.count_missing(["fake"]) == 0
    cat.close()


def test_a_hung_decoder_is_abandoned_and_recorded(tmp_path: Path) -> None:
    cat, paths = _setup(tmp_path, 6)
    release = threading.Event()

    def loader(path: Any, **kw: Any) -> LoadedImage:
        if Path(path).name == "p002.png":
            release.wait(30)  # hangs until the test ends
        return load_image(path, **kw)

    pipeline = IngestPipeline(
        cat,
        {"fake": FakeEmbedder()},
        thumbnails_dir=None,
        options=IngestOptions(workers=2, batch_size=4, decode_timeout_s=0.5),
        loader=loader,
    )
    try:
        summary = run_job(pipeline.run())
    finally:
        release.set()
    assert summary.done == 6 and summary.errors == 1
    errors = cat.errors()
    assert [(p.name, "did not finish" in e) for p, e in errors] == [("p002.png", True)]
    cat.close()


def test_cancel_stops_between_batches_and_keeps_results(tmp_path: Path) -> None:
    cat, _ = _setup(tmp_path, 30)
    cancel = threading.Event()
    pipeline = IngestPipeline(
        cat,
        {"fake": FakeEmbedder()},
        thumbnails_dir=None,
        options=IngestOptions(workers=1, batch_size=5),
    )
    job = pipeline.run(cancel=cancel)
    next(job)
    next(job)
    cancel.set()
    summary = run_job(job)
    assert summary.cancelled and summary.done == 5
    assert cat.count_missing(["fake"]) == 25
    cat.close()
