"""Time from Find similar to painted results with 100k indexed images (target: < 200 ms).

Usage: python tests/benchmarks/bench_gui_search_latency.py [N_IMAGES]

The window runs over a real `Library`: a SQLite catalog of N photos written through the
catalog writer (random embeddings around 1,000 centres and their real 32-bit PQ codes under
the tiny test model, M=8, K=16, as `bench_library_search.py` builds them), searched by the
library's own ADC scan. No photo file exists and indexing is never started (a scan would
find the files gone); every photo shares one content key, so the gallery and the results
read one small cached thumbnail JPEG, as the app reads the library's thumbnail cache. Each
trial triggers Find similar from the gallery's context menu and stops the clock once the
results view has repainted.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT)]

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from sscq_desktop.core import encode  # noqa: E402
from sscq_desktop.library.catalog.catalog import IngestRecord  # noqa: E402
from sscq_desktop.library.catalog.reconciliation import FileStat, Reconciliation  # noqa: E402
from sscq_desktop.library.images.thumbnails import write_thumbnail  # noqa: E402
from sscq_desktop.library.library import Library  # noqa: E402
from sscq_desktop.library.records import FolderId  # noqa: E402
from sscq_desktop.paths import AppPaths, app_paths  # noqa: E402

sys.path.append(str(ROOT / "tests"))  # tiny_model, after sscq_desktop
from tiny_model import make_tiny_artifact  # noqa: E402

sys.path.pop()  # decoder processes (spawn) start with this sys.path

BATCH = 20_000
CONTENT_KEY = "bench-shared-thumbnail"


def build_library(home: Path, n: int) -> AppPaths:
    """A catalog of `n` encoded photos (no files) and their one shared thumbnail."""
    paths = app_paths(home).ensure()
    artifact = make_tiny_artifact(home / "bench.onnx", model_id="bench")
    meta = artifact.metadata
    lib = Library(paths)
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
        cat.record_ingest(
            [
                IngestRecord(
                    w.photo_id,
                    3_000_000,
                    0,
                    CONTENT_KEY,
                    4000,
                    3000,
                    encodings={"bench": (codes[j].tobytes(), emb16[j].tobytes())},
                )  # fmt: skip
                for j, w in enumerate(work)
            ]
        )
    noise = np.random.default_rng(2).integers(0, 256, (768, 1024, 3), dtype=np.uint8)
    write_thumbnail(
        Image.fromarray(noise), paths.thumbnails_dir, CONTENT_KEY
    )  # as large as ingest writes
    lib.close()
    return paths


def main(n: int, trials: int = 20) -> int:
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    from sscq_desktop.ui.main_window import MainWindow
    from sscq_desktop.ui.settings import AppSettings
    from sscq_desktop.ui.tasks import TaskRunner

    app = QApplication(sys.argv)
    home = tempfile.TemporaryDirectory(prefix="sscq-bench-gui-search-")
    t0 = time.perf_counter()
    paths = build_library(Path(home.name), n)
    print(f"catalog of {n} photos built in {time.perf_counter() - t0:.1f} s")
    library = Library(paths)
    window = MainWindow(
        library, TaskRunner(), AppSettings(first_run_done=True, watch_folders=False)
    )
    window.resize(1280, 820)
    window.show()
    loop = QEventLoop()
    window.refresh_library()
    while window.gallery_model.rowCount() != n:
        loop.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
    view = window.results_panel.view
    times = []
    rng = np.random.default_rng(1)
    for _ in range(trials):
        row = int(rng.integers(0, n))
        menu = window.gallery_view.context_menu_for(window.gallery_model.index(row))
        assert menu is not None
        ready: list[bool] = []
        window.results_panel.results_ready.connect(ready.append)
        start = time.perf_counter()
        menu.actions()[0].trigger()
        while not ready:
            loop.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
        view.viewport().repaint()  # synchronous paint of the visible results
        times.append((time.perf_counter() - start) * 1000)
        window.results_panel.results_ready.disconnect()
        menu.deleteLater()
    window.shutdown()
    median, worst = statistics.median(times), max(times)
    print(
        f"images={n} trials={trials}: Find similar -> painted results median {median:.1f} ms, max {worst:.1f} ms"
    )
    print("PASS" if median < 200 else "FAIL", "(target: under 200 ms)")
    library.close()
    del app
    home.cleanup()
    return 0 if median < 200 else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
