"""The window's indexing survives a decoder that crashes or hangs (real `Library`).

The decoder traps (``tests/decoder_traps``) make Pillow abort the process that opens
``crash.jpg`` and hang on ``hang.jpg``; the library decodes in worker processes, so the
window indexes every other photo and lists those two as failed, with the reason.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import gallery_names, index_folders, write_photo
from pytestqt.qtbot import QtBot

from sscq_desktop.library.images.decode_pool import CRASH_ERROR
from sscq_desktop.library.ingest.ingest import IngestOptions
from sscq_desktop.library.library import Library
from sscq_desktop.model.artifact import ModelArtifact
from sscq_desktop.paths import app_paths
from sscq_desktop.ui.main_window import MainWindow
from sscq_desktop.ui.settings import AppSettings
from sscq_desktop.ui.tasks import TaskRunner

TIMEOUT_S = 3.0


@pytest.fixture
def trapped_window(
    qtbot: QtBot,
    tiny_artifact: ModelArtifact,
    runner: TaskRunner,
    decoder_traps: dict[str, str],
) -> Iterator[tuple[MainWindow, Library]]:
    library = Library(
        app_paths(),
        ingest_options=IngestOptions(workers=2, decode_timeout_s=TIMEOUT_S),
    )
    record = library.import_model(tiny_artifact.path)
    library.switch_model(record.model_id)
    win = MainWindow(
        library,
        runner,
        AppSettings(first_run_done=True, thumbnail_size=96, watch_folders=False),
    )
    qtbot.addWidget(win)
    win.show()
    yield win, library
    win.shutdown()
    library.close()


def test_window_indexing_survives_a_crashing_and_a_hanging_decoder(
    qtbot: QtBot, trapped_window: tuple[MainWindow, Library], tmp_path: Path
) -> None:
    window, library = trapped_window
    folder = tmp_path / "photos"
    folder.mkdir()
    good = {write_photo(folder / f"p_{i}.jpg", seed=500 + i).name for i in range(6)}
    write_photo(folder / "crash.jpg", seed=598)
    write_photo(folder / "hang.jpg", seed=599)

    started = time.monotonic()
    index_folders(qtbot, window, folder)
    assert time.monotonic() - started < 30  # the hang cost its timeout, not an hour

    assert gallery_names(window) == good
    qtbot.waitUntil(lambda: window.failed_count == 2, timeout=10_000)
    assert {p.name: e for p, e in library.errors()} == {
        "crash.jpg": f"{CRASH_ERROR} (exit code {-signal.SIGABRT})",
        "hang.jpg": f"decoding took longer than {TIMEOUT_S:g} s",
    }
    assert window.isVisible()  # the app goes on
