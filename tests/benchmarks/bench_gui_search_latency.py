"""Time from Find similar to painted results with 100k indexed images (target: < 200 ms).

Usage: python tests/benchmarks/bench_gui_search_latency.py [N_IMAGES]

The window runs over a real `Library`: a SQLite catalog of N photos written through the
catalog writer by `bench_library_search.build` (random embeddings around 1,000 centres and
their real 32-bit PQ codes under the tiny test model, M=8, K=16), searched by the
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
from bench_library_search import build  # noqa: E402  (this folder: the catalog builder)
from PIL import Image  # noqa: E402

from sscq_desktop.library.images.thumbnails import write_thumbnail  # noqa: E402
from sscq_desktop.library.library import Library  # noqa: E402
from sscq_desktop.paths import AppPaths, app_paths  # noqa: E402

CONTENT_KEY = "bench-shared-thumbnail"


def build_library(home: Path, n: int) -> AppPaths:
    """A catalog of `n` encoded photos (no files) and their one shared thumbnail."""
    build(home, n, content_key=CONTENT_KEY)
    paths = app_paths(home).ensure()
    noise = np.random.default_rng(2).integers(0, 256, (768, 1024, 3), dtype=np.uint8)
    write_thumbnail(
        Image.fromarray(noise), paths.thumbnails_dir, CONTENT_KEY
    )  # as large as ingest writes
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
