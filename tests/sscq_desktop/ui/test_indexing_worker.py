from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import gallery_names, index_folders, write_photo
from memory_library import MemoryLibrary
from pytestqt.qtbot import QtBot
from watchdog.utils import BaseThread

from sscq_desktop.ui.indexing_worker import throttle_progress
from sscq_desktop.ui.main_window import MainWindow
from sscq_desktop.ui.tasks import Task, TaskContext


@dataclass(frozen=True)
class _Report:
    phase: str
    done: int
    total: int
    paused: bool = False
    rate: float = 0.0
    eta_s: float | None = None


def test_throttle_keeps_phase_changes_and_the_last_report() -> None:
    times = iter([0.0, 0.01, 0.02, 0.05, 0.12, 0.13, 0.14, 0.15, 0.16, 0.17])
    reports = [
        _Report("scan", 1000, 0),
        _Report("ingest", 0, 100),
        _Report("ingest", 10, 100),  # dropped: 10 ms after the last one kept
        _Report("ingest", 20, 100),  # dropped
        _Report("ingest", 30, 100),  # kept: 100 ms later
        _Report("ingest", 40, 100, paused=True),  # kept: paused
        _Report("ingest", 50, 100),  # dropped
        _Report("ingest", 100, 100),  # kept: the last one
        _Report("watch", 0, 0),
        _Report("watch", 1, 0),
    ]
    kept = list(throttle_progress(reports, 0.1, clock=lambda: next(times)))
    assert [(r.phase, r.done) for r in kept] == [
        ("scan", 1000),
        ("ingest", 0),
        ("ingest", 30),
        ("ingest", 40),
        ("ingest", 100),
        ("watch", 0),
        ("watch", 1),
    ]


def test_watched_folder_picks_up_copied_and_deleted_photos(
    qtbot: QtBot, real_window: MainWindow, photo_folders: tuple[Path, Path]
) -> None:
    a, _ = photo_folders
    index_folders(qtbot, real_window, a)
    assert real_window.watching
    assert "watching folders" in real_window.status_bar.progress_label.text()
    assert len(gallery_names(real_window)) == 10

    outside = write_photo(a.parent / "from_camera.jpg", seed=77)
    shutil.copy(outside, a / "copied.jpg")
    qtbot.waitUntil(lambda: "copied.jpg" in gallery_names(real_window), timeout=30_000)
    assert real_window.gallery_model.rowCount() == 11

    (a / "a_03.jpg").unlink()
    qtbot.waitUntil(
        lambda: "a_03.jpg" not in gallery_names(real_window), timeout=30_000
    )
    assert real_window.gallery_model.rowCount() == 10

    assert _watch_threads()
    real_window.close()  # cancels the watcher: no observer or decoder may be left
    qtbot.waitUntil(lambda: not _watch_threads(), timeout=10_000)


def _watch_threads() -> list[threading.Thread]:
    return [
        t
        for t in threading.enumerate()
        if isinstance(t, BaseThread) or t.name.startswith("sscq-decode")
    ]


def test_writes_suspend_the_watcher_and_restart_it(
    qtbot: QtBot,
    window: MainWindow,
    library: MemoryLibrary,
    photo_folders: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b = photo_folders
    index_folders(qtbot, window, a)
    assert window.watching
    watcher_runs: list[bool] = []
    original_watch = library.watch

    def counting_watch(
        *, cancel: threading.Event, pause: threading.Event
    ) -> Iterator[Any]:
        watcher_runs.append(True)
        yield from original_watch(cancel=cancel, pause=pause)

    monkeypatch.setattr(library, "watch", counting_watch)
    order: list[str] = []

    def write(ctx: TaskContext) -> None:
        order.append("write")  # runs only once the watcher has let go of the lane

    task: Task[None] = Task(write, lane="write")
    with qtbot.waitSignal(window.ingest_did_finish, timeout=30_000):
        window.indexer.run_write(task)
        window.add_folder(b)  # a second write, queued behind the first
    qtbot.waitUntil(lambda: window.gallery_model.rowCount() == 19, timeout=10_000)
    assert order == ["write"]
    assert watcher_runs == [True]  # restarted once, after both writes
    assert window.watching


def test_watching_can_be_switched_off(
    qtbot: QtBot, window: MainWindow, photo_folders: tuple[Path, Path]
) -> None:
    a, _ = photo_folders
    index_folders(qtbot, window, a)
    window.apply_settings(window.settings.replace(watch_folders=False))
    qtbot.waitUntil(lambda: not window.watching, timeout=10_000)
    qtbot.waitUntil(lambda: not window.runner.active_count, timeout=10_000)
    write_photo(a / "late.jpg", seed=5)
    qtbot.wait(500)  # a watcher would have seen it by now
    assert "late.jpg" not in gallery_names(window)
    with qtbot.waitSignal(window.ingest_did_finish, timeout=30_000):
        window.rescan_action.trigger()
    qtbot.waitUntil(lambda: "late.jpg" in gallery_names(window), timeout=10_000)
