"""Time from Find similar to painted results with 100k indexed images (target: < 200 ms).

Usage: python tests/benchmarks/bench_gui_search_latency.py [N_IMAGES]

An in-memory backend holds N random 32-bit PQ codes and answers with the project's ADC
search (`sscq_desktop.core.adc_search`); the window's gallery holds N rows. Each trial
triggers Find similar from the gallery's context menu and stops the clock once the results
view has repainted. Every photo's thumbnail is one small cached JPEG, read as the app reads
the library's thumbnail cache.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT)]

import numpy as np  # noqa: E402

from sscq_desktop.core import PackedCodes, adc_search  # noqa: E402
from sscq_desktop.ui.library_backend import (  # noqa: E402
    FailedPhoto,
    FolderState,
    Hit,
    ModelInfo,
    Photo,
    RetrainRequest,
    ThumbnailInfo,
)


class SyntheticBackend:
    """N photos with random codes; searches are real ADC scans."""

    def __init__(
        self, n: int, *, thumbnail: Path, M: int = 8, K: int = 16, L: int = 4
    ) -> None:
        self.thumbnail_file = thumbnail
        rng = np.random.default_rng(0)
        self.codebooks = rng.standard_normal((M, K, L)).astype(np.float32)
        self.codes = rng.integers(0, K, (n, M), dtype=np.uint8)
        self.packed = PackedCodes(self.codes, K)
        self.embeddings = self.codebooks[np.arange(M), self.codes].reshape(n, M * L)
        root = Path("/bench/photos")
        self._photos = [
            Photo(i, root / f"{i:06d}.jpg", root, float(i)) for i in range(n)
        ]

    def folders(self) -> Sequence[FolderState]:
        return [FolderState(Path("/bench/photos"), len(self._photos))]

    def thumbnail(self, path: Path) -> ThumbnailInfo:
        return ThumbnailInfo("ready", self.thumbnail_file)

    def render_image(self, path: Path, *, max_side: int) -> np.ndarray:
        return np.zeros((max_side * 3 // 4, max_side, 3), dtype=np.uint8)

    def failed_count(self) -> int:
        return 0

    def failed_photos(self, *, limit: int) -> Sequence[FailedPhoto]:
        return []

    def retry_failed(self) -> int:
        return 0

    def add_folder(self, path: Path) -> None: ...
    def remove_folder(self, path: Path) -> None: ...
    def photos(self) -> Sequence[Photo]:
        return self._photos

    def ingest(
        self, *, cancel: threading.Event, pause: threading.Event
    ) -> Iterator[Any]:
        return iter(())

    def watch(
        self, *, cancel: threading.Event, pause: threading.Event
    ) -> Iterator[Any]:
        return iter(())

    def similar_to_photo(
        self, photo_id: int, *, k: int, threshold: float, folders: Sequence[Path] | None
    ) -> Sequence[Hit]:
        dist, ids = adc_search(
            self.embeddings[photo_id][None],
            self.codebooks,
            self.packed,
            k,
            exclude=np.array([photo_id]),
        )
        d_max = float(dist[0, -1]) or 1.0
        return [
            Hit(
                int(i),
                self._photos[i].path,
                self._photos[i].folder,
                float(d),
                1 - float(d) / (2 * d_max),
            )
            for d, i in zip(dist[0], ids[0], strict=True)
            if i >= 0
        ]

    def similar_to_file(self, path: Path, **kw: Any) -> Sequence[Hit]:
        return self.similar_to_photo(0, **kw)

    def near_duplicates(self, *, threshold: float) -> Sequence[Sequence[Photo]]:
        return []

    def active_model(self) -> ModelInfo:
        return ModelInfo("synthetic", 32, True)

    def models(self) -> Sequence[ModelInfo]:
        return [self.active_model()]

    def provider_name(self) -> str:
        return "CPU"

    def switch_model(
        self, model_id: str, *, cancel: threading.Event, pause: threading.Event
    ) -> Iterator[Any]:
        return iter(())

    def retrain(
        self, request: RetrainRequest, *, cancel: threading.Event
    ) -> Iterator[Any]:
        return iter(())


def main(n: int, trials: int = 20) -> int:
    from PIL import Image
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    from sscq_desktop.ui.main_window import MainWindow
    from sscq_desktop.ui.settings import AppSettings
    from sscq_desktop.ui.tasks import TaskRunner

    app = QApplication(sys.argv)
    cache = tempfile.TemporaryDirectory(prefix="sscq-bench-thumbs-")
    thumbnail = Path(cache.name) / "thumbnail.jpg"
    noise = np.random.default_rng(2).integers(0, 256, (192, 256, 3), dtype=np.uint8)
    Image.fromarray(noise).save(thumbnail, quality=85)  # as large as ingest writes
    backend = SyntheticBackend(n, thumbnail=thumbnail)
    window = MainWindow(backend, TaskRunner(), AppSettings(first_run_done=True))
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
    del app
    cache.cleanup()
    return 0 if median < 200 else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
