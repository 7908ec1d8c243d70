"""GUI test fixtures: a generated photo folder, an in-memory library, a window, no stray threads."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import shiboken6
from memory_library import MemoryLibrary
from PIL import Image
from PySide6.QtCore import QObject, QThreadPool
from pytestqt.qtbot import QtBot

from sscq_desktop.model.artifact import ModelArtifact
from sscq_desktop.paths import app_paths
from sscq_desktop.ui.main_window import MainWindow
from sscq_desktop.ui.settings import AppSettings
from sscq_desktop.ui.tasks import TaskRunner


def write_photo(path: Path, seed: int, size: tuple[int, int] = (200, 150)) -> Path:
    """A JPEG of a random 4 x 4 colour grid (what the tiny model sees), with mild noise."""
    rng = np.random.default_rng(seed)
    grid = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
    image = Image.fromarray(grid).resize(
        (size[0] * 3 // 4, size[1]), Image.Resampling.NEAREST
    )
    canvas = Image.new("RGB", size, (0, 0, 0))
    canvas.paste(image, ((size[0] - image.width) // 2, 0))
    noisy = np.asarray(canvas, dtype=np.int16) + rng.integers(
        -6, 7, (size[1], size[0], 3)
    )
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(path, quality=92)
    return path


def write_resized_copy(src: Path, dest: Path, scale: float = 0.5) -> Path:
    with Image.open(src) as im:
        im.resize((round(im.width * scale), round(im.height * scale))).save(
            dest, quality=92
        )
    return dest


@pytest.fixture
def photo_folders(tmp_path: Path) -> tuple[Path, Path]:
    """Two folders of real JPEGs; ``a/beach.jpg`` has a resized copy in each folder."""
    a, b = tmp_path / "photos_a", tmp_path / "photos_b"
    a.mkdir()
    b.mkdir()
    beach = write_photo(a / "beach.jpg", seed=1)
    write_resized_copy(beach, a / "beach_small.jpg", 0.5)
    write_resized_copy(beach, b / "beach_copy.jpg", 0.75)
    for i in range(8):
        write_photo(a / f"a_{i:02d}.jpg", seed=100 + i)
        write_photo(b / f"b_{i:02d}.jpg", seed=200 + i)
    return a, b


@pytest.fixture
def library(tiny_artifact: ModelArtifact) -> MemoryLibrary:
    return MemoryLibrary(tiny_artifact, models_dir=app_paths().ensure().models_dir)


@pytest.fixture
def runner() -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.cancel_all()
    assert runner.wait_for_done(10_000)


THREAD_GRACE_S = 5.0
"""After a test (and its fixtures' cleanup), how long its background work may take to end."""


@pytest.fixture(autouse=True)
def _no_dangling_threads(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail a test that leaves background work running after its own cleanup.

    Checks what the app really runs on: every `QThreadPool` that a `sscq_desktop.ui`
    module creates during the test (the task runner's lanes, the thumbnail decoders)
    must be idle, and every Python thread started meanwhile (decoders, folder
    watchers, the trainer's output reader) must have ended, within `THREAD_GRACE_S`.
    """
    pools: list[QThreadPool] = []

    class TrackedPool(QThreadPool):
        def __init__(self, parent: QObject | None = None) -> None:
            super().__init__(parent)
            pools.append(self)

    for name, module in list(sys.modules.items()):
        if name.startswith("sscq_desktop.ui") and (
            getattr(module, "QThreadPool", None) is QThreadPool
        ):
            monkeypatch.setattr(module, "QThreadPool", TrackedPool)
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + THREAD_GRACE_S

    def left_ms() -> int:
        return max(0, int((deadline - time.monotonic()) * 1000))

    # A pool whose C++ object is gone was waited for by its destructor.
    busy = [
        type(p.parent()).__name__
        for p in pools
        if shiboken6.isValid(p) and not p.waitForDone(left_ms())
    ]
    threads = [  # a _DummyThread is a Qt pool thread that ran Python: checked above
        t
        for t in threading.enumerate()
        if t not in before and not isinstance(t, threading._DummyThread)
    ]
    for thread in threads:
        thread.join(left_ms() / 1000)
    alive = [t.name for t in threads if t.is_alive()]
    assert not busy, f"thread pools still busy after the test, owned by {busy}"
    assert not alive, f"threads still running after the test: {alive}"


@pytest.fixture
def window(
    qtbot: QtBot, library: MemoryLibrary, runner: TaskRunner
) -> Iterator[MainWindow]:
    win = MainWindow(
        library, runner, AppSettings(first_run_done=True, thumbnail_size=96)
    )
    qtbot.addWidget(win)
    win.show()
    yield win
    win.shutdown()


@pytest.fixture
def real_window(
    qtbot: QtBot, tiny_artifact: ModelArtifact, runner: TaskRunner
) -> Iterator[MainWindow]:
    """A window over the real `Library` (through `LibraryAdapter`), the tiny model active."""
    from sscq_desktop.library.library import Library
    from sscq_desktop.ui.library_adapter import LibraryAdapter

    library = Library(app_paths())
    record = library.import_model(tiny_artifact.path)
    library.switch_model(record.model_id)
    win = MainWindow(
        LibraryAdapter(library),
        runner,
        AppSettings(first_run_done=True, thumbnail_size=96),
    )
    qtbot.addWidget(win)
    win.show()
    yield win
    win.shutdown()
    library.close()


def gallery_names(window: MainWindow) -> set[str]:
    return {p.path.name for p in window.gallery_model.photos}


def index_folders(qtbot: QtBot, window: MainWindow, *folders: Path) -> None:
    """Add `folders` and wait until indexing is over and the gallery is refreshed."""
    for folder in folders:
        with qtbot.waitSignal(window.ingest_did_finish, timeout=60_000):
            window.add_folder(folder)
    qtbot.waitUntil(lambda: not window.runner.active_count, timeout=30_000)
