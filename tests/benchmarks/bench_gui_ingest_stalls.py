"""GUI event-loop stalls while 2,000 images are ingested (target: no stall over 50 ms).

Usage: python tests/benchmarks/bench_gui_ingest_stalls.py [N_IMAGES]

A 5 ms QTimer probe records the longest gap between its ticks while the real `Library`
(through `LibraryAdapter`) indexes generated JPEGs with the tiny test model and the window
refreshes its gallery. Offscreen; a throwaway app home.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT)]
sys.path.append(str(ROOT / "tests"))


def main(n: int) -> int:
    import numpy as np
    from PIL import Image
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication
    from tiny_model import make_tiny_artifact

    home = Path(tempfile.mkdtemp(prefix="sscq-bench-"))
    os.environ["SSCQ_DESKTOP_HOME"] = str(home / "home")
    from sscq_desktop.library.library import Library
    from sscq_desktop.paths import app_paths
    from sscq_desktop.ui.library_adapter import LibraryAdapter
    from sscq_desktop.ui.main_window import MainWindow
    from sscq_desktop.ui.settings import AppSettings
    from sscq_desktop.ui.tasks import TaskRunner

    _app = QApplication(sys.argv)  # kept alive for the whole run
    photos = home / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        grid = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
        Image.fromarray(grid).resize((320, 240)).save(
            photos / f"{i:05d}.jpg", quality=85
        )
    library = Library(app_paths())
    adapter = LibraryAdapter(library)
    import threading

    model = adapter.register_model(make_tiny_artifact(home / "tiny.onnx").path)
    never = threading.Event()
    list(adapter.switch_model(model.model_id, cancel=never, pause=never))
    window = MainWindow(adapter, TaskRunner(), AppSettings(first_run_done=True))
    window.show()

    gaps: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed()]

    def tick() -> None:
        now = clock.nsecsElapsed()
        gaps.append((now - last[0]) / 1e6)
        last[0] = now

    probe = QTimer()
    probe.setInterval(5)
    probe.timeout.connect(tick)
    done: list[bool] = []
    window.ingest_did_finish.connect(lambda: done.append(True))
    started = time.perf_counter()
    probe.start()
    window.add_folder(photos)
    loop = QEventLoop()
    while not done:
        loop.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    elapsed = time.perf_counter() - started
    while window.runner.active_count:  # the final gallery refresh
        loop.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    probe.stop()
    window.shutdown()
    library.close()
    worst = max(gaps) if gaps else 0.0
    p99 = float(np.percentile(gaps, 99)) if gaps else 0.0
    print(f"images={n} indexed={window.gallery_model.rowCount()} in {elapsed:.1f}s")
    print(f"event-loop gaps: max {worst:.1f} ms, p99 {p99:.1f} ms, ticks {len(gaps)}")
    print("PASS" if worst <= 50.0 else "FAIL", "(target: no stall over 50 ms)")
    return 0 if worst <= 50.0 else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
