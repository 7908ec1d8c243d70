from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image
from tiny_model import make_tiny_metadata  # type: ignore[import-not-found]

from sscq_desktop.library.catalog.catalog import Catalog
from sscq_desktop.library.catalog.reconciliation import FileStat, Reconciliation
from sscq_desktop.library.images.decode_pool import CRASH_ERROR
from sscq_desktop.library.ingest.ingest import IngestOptions, IngestPipeline
from sscq_desktop.library.progress import Progress, run_job
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


def _setup(
    tmp_path: Path, n: int, names: dict[int, str] | None = None
) -> tuple[Catalog, list[Path]]:
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
        p = tmp_path / (names or {}).get(i, f"p{i:03d}.png")
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
    assert cat.reader.count_missing(["fake"]) == 0
    cat.close()


def test_a_crashing_and_a_hanging_decoder_cost_their_file_only(
    tmp_path: Path, decoder_traps: dict[str, str]
) -> None:
    cat, paths = _setup(tmp_path, 6, {1: "crash.jpg", 4: "hang.jpg"})
    pipeline = IngestPipeline(
        cat,
        {"fake": FakeEmbedder()},
        thumbnails_dir=None,
        options=IngestOptions(workers=2, batch_size=4, decode_timeout_s=1.0),
    )
    started = time.monotonic()
    summary = run_job(pipeline.run())
    assert time.monotonic() - started < 30  # the hang cost its timeout, not an hour
    assert summary.done == 6 and summary.errors == 2
    assert summary.encoded == {"fake": 4}
    errors = {p.name: e for p, e in cat.reader.errors()}
    assert errors == {
        "crash.jpg": f"{CRASH_ERROR} (exit code {-signal.SIGABRT})",
        "hang.jpg": "decoding took longer than 1 s",
    }
    assert cat.reader.count_missing(["fake"]) == 0
    # Recorded with the file's size and time: the next scan does not retry them.
    for path, size, mtime_ns in cat._db.rows(
        "SELECT path, size, mtime_ns FROM images WHERE status = 'error'"
    ):
        st = Path(path).stat()
        assert (size, mtime_ns) == (st.st_size, st.st_mtime_ns)
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
    assert cat.reader.count_missing(["fake"]) == 25
    cat.close()
