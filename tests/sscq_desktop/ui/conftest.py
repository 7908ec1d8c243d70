"""GUI test fixtures: generated photo folders, a real `Library`, a window, no stray threads.

The window runs over a real `Library` (SQLite catalog and models in the test's app home,
the tiny generated model as its default model, real JPEG files); the fakes are at the
seams only: the encoder can be slowed down (`encoders`), and the trainer is a script
that speaks its protocol (`fake_trainer`).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import shiboken6
from PIL import Image
from PySide6.QtCore import QObject, QThreadPool
from pytestqt.qtbot import QtBot

from sscq_desktop.library.ingest.ingest import IngestOptions
from sscq_desktop.library.library import Library
from sscq_desktop.library.progress import run_job
from sscq_desktop.library.retrain.retrain_request import TrainerJob
from sscq_desktop.library.retrain.retrainer import TrainerCommand
from sscq_desktop.model.artifact import ModelArtifact
from sscq_desktop.model.encoder import EncodedBatch, OnnxEncoder
from sscq_desktop.paths import DEFAULT_MODEL_ENV, app_paths
from sscq_desktop.ui.main_window import MainWindow
from sscq_desktop.ui.settings import AppSettings
from sscq_desktop.ui.tasks import TaskRunner

FAKE_TRAINER = Path(__file__).with_name("fake_trainer.py")


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


def age(*folders: Path, seconds: float = 3_600.0) -> None:
    """Date every file below `folders` back by `seconds`.

    A watched library leaves files modified in the last seconds for later (they may
    still be being written): aged files added to it are indexed in one go, so one
    ``ingest_did_finish`` means all of them are in.
    """
    then = time.time() - seconds
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                os.utime(path, (then, then))


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
    age(a, b)
    return a, b


def write_grid_photo(path: Path, seed: int, size: tuple[int, int] = (96, 64)) -> Path:
    """A JPEG of a random 4 x 4 colour grid filling the frame, with mild noise.

    Unlike `write_photo`'s (a grid beside a black band), these photos stay told apart
    by the tiny model under the strong edits of the library's model check.
    """
    rng = np.random.default_rng(seed)
    grid = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
    image = Image.fromarray(grid).resize(size, Image.Resampling.NEAREST)
    noise = rng.integers(-6, 7, (size[1], size[0], 3))
    noisy = np.clip(np.asarray(image, dtype=np.int16) + noise, 0, 255)
    Image.fromarray(noisy.astype(np.uint8)).save(path, quality=95)
    return path


class Encoders:
    """The library's encoder factory: real onnxruntime encoders, optionally slowed.

    Attributes:
        delay_s: Seconds each encoder call waits first (a test watching an ingest run).
    """

    def __init__(self) -> None:
        self.delay_s = 0.0

    def __call__(self, artifact: ModelArtifact) -> _SlowableEncoder:
        return _SlowableEncoder(
            OnnxEncoder(artifact, device="cpu", intra_op_threads=1), self
        )


class _SlowableEncoder:
    def __init__(self, inner: OnnxEncoder, owner: Encoders) -> None:
        self._inner = inner
        self._owner = owner

    @property
    def metadata(self) -> Any:
        return self._inner.metadata

    @property
    def provider_name(self) -> str:
        return self._inner.provider_name

    def encode(self, images: npt.NDArray[np.uint8]) -> EncodedBatch:
        if self._owner.delay_s:
            time.sleep(self._owner.delay_s)
        return self._inner.encode(images)


@pytest.fixture
def encoders() -> Encoders:
    return Encoders()


@pytest.fixture
def library(
    tiny_artifact: ModelArtifact,
    encoders: Encoders,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Library]:
    """A real library in the test's app home; the tiny model is its default model."""
    monkeypatch.setenv(DEFAULT_MODEL_ENV, str(tiny_artifact.path))
    lib = Library(
        app_paths(),
        encoder_factory=encoders,
        ingest_options=IngestOptions(workers=2, batch_size=8),
    )
    assert lib.active_model_id == tiny_artifact.model_id
    yield lib
    lib.close()


def index_directly(library: Library, *folders: Path) -> None:
    """Add `folders` and index them with the library alone (no window involved)."""
    for folder in folders:
        library.add_folder(folder)
    run_job(library.update())


def fake_trainer(*args: str) -> TrainerCommand:
    """The trainer command of `fake_trainer.py`: events, then a tiny model, for a job.

    Args:
        args: More of its options (``--step-s``, ``--crash-at``, ``--seed``...).
    """

    def command(job: TrainerJob) -> list[str]:
        steps = job.request.max_steps or 5
        return [
            sys.executable, str(FAKE_TRAINER), "--out", str(job.model_path),
            "--model-id", job.model_id, "--steps", str(steps), *args,
        ]  # fmt: skip

    return command


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
def window(qtbot: QtBot, library: Library, runner: TaskRunner) -> Iterator[MainWindow]:
    """The app's window over `library`, folders watched (once indexing starts)."""
    win = MainWindow(
        library, runner, AppSettings(first_run_done=True, thumbnail_size=96)
    )
    qtbot.addWidget(win)
    win.show()
    yield win
    win.shutdown()


def gallery_names(window: MainWindow) -> set[str]:
    return {p.path.name for p in window.gallery_model.photos}


def index_folders(qtbot: QtBot, window: MainWindow, *folders: Path) -> None:
    """Add `folders` and wait until indexing is over and the gallery is refreshed."""
    for folder in folders:
        with qtbot.waitSignal(window.ingest_did_finish, timeout=60_000):
            window.add_folder(folder)
    qtbot.waitUntil(lambda: not window.runner.active_count, timeout=30_000)
