"""Indexing and watching, and the GUI's writes reaching the library's one writer."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Encoders, age, gallery_names, index_folders, write_photo
from pytestqt.qtbot import QtBot
from watchdog.utils import BaseThread

from sscq_desktop.library.folders import scanner as scanner_module
from sscq_desktop.library.folders.watcher import FolderWatcher
from sscq_desktop.library.ingest import indexer as indexer_module
from sscq_desktop.library.library import Library
from sscq_desktop.library.progress import Progress
from sscq_desktop.library.records import FolderRecord
from sscq_desktop.ui.indexing_worker import throttle_progress
from sscq_desktop.ui.main_window import MainWindow
from sscq_desktop.ui.settings import AppSettings
from sscq_desktop.ui.tasks import Task, TaskContext, TaskRunner

WATCHED = 40
"""Photos watched when a folder is added (tests/sscq_desktop/library: 400)."""


def test_throttle_keeps_phase_changes_and_the_last_report() -> None:
    times = iter([0.0, 0.01, 0.02, 0.05, 0.12, 0.13, 0.14, 0.15, 0.16, 0.17])
    reports = [
        Progress("scan", 1000, 0),
        Progress("ingest", 0, 100),
        Progress("ingest", 10, 100),  # dropped: 10 ms after the last one kept
        Progress("ingest", 20, 100),  # dropped
        Progress("ingest", 30, 100),  # kept: 100 ms later
        Progress("ingest", 40, 100, paused=True),  # kept: paused
        Progress("ingest", 50, 100),  # dropped
        Progress("ingest", 100, 100),  # kept: the last one
        Progress("watch", 0, 0),
        Progress("watch", 1, 0),
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
    qtbot: QtBot, window: MainWindow, photo_folders: tuple[Path, Path]
) -> None:
    a, _ = photo_folders
    index_folders(qtbot, window, a)
    assert window.watching
    assert "watching folders" in window.status_bar.progress_label.text()
    assert len(gallery_names(window)) == 10

    outside = write_photo(a.parent / "from_camera.jpg", seed=77)
    shutil.copy(outside, a / "copied.jpg")
    qtbot.waitUntil(lambda: "copied.jpg" in gallery_names(window), timeout=30_000)
    assert window.gallery_model.rowCount() == 11

    (a / "a_03.jpg").unlink()
    qtbot.waitUntil(lambda: "a_03.jpg" not in gallery_names(window), timeout=30_000)
    assert window.gallery_model.rowCount() == 10

    assert _watch_threads()
    window.close()  # cancels the watcher: no observer or decoder may be left
    qtbot.waitUntil(lambda: not _watch_threads(), timeout=10_000)


def _watch_threads() -> list[threading.Thread]:
    return [
        t
        for t in threading.enumerate()
        if isinstance(t, BaseThread) or t.name.startswith("sscq-decode")
    ]


class _Spy:
    """The watch loops started, the scanner's walks and the folder watchers started."""

    def __init__(self) -> None:
        self.watch_threads: list[int] = []
        self.walked: list[Path] = []
        self.watcher_starts = 0
        self.adders: list[int] = []


@pytest.fixture
def spy(library: Library, monkeypatch: pytest.MonkeyPatch) -> Iterator[_Spy]:
    found = _Spy()
    watch, walk = library.watch, scanner_module.walk_images
    start, add = FolderWatcher.start, library.catalog.add_folder

    def counting_watch(**kw: Any) -> Generator[Progress, None, None]:
        found.watch_threads.append(threading.get_ident())
        yield from watch(**kw)

    def counting_walk(root: Path, folder_id: Any, **kw: Any) -> Any:
        found.walked.append(root)
        return walk(root, folder_id, **kw)

    def counting_start(self: FolderWatcher) -> None:
        found.watcher_starts += 1
        start(self)

    def recording_add(path: Path) -> FolderRecord:
        found.adders.append(threading.get_ident())
        return add(path)

    monkeypatch.setattr(library, "watch", counting_watch)
    monkeypatch.setattr(scanner_module, "walk_images", counting_walk)
    monkeypatch.setattr(indexer_module, "walk_images", counting_walk)
    monkeypatch.setattr(FolderWatcher, "start", counting_start)
    monkeypatch.setattr(library.catalog, "add_folder", recording_add)
    yield found


def test_writes_reach_the_running_watcher_without_restarting_it(
    qtbot: QtBot, window: MainWindow, spy: _Spy, tmp_path: Path
) -> None:
    watched = tmp_path / "watched"
    watched.mkdir()
    for i in range(WATCHED):
        write_photo(watched / f"w_{i:03d}.jpg", seed=1_000 + i, size=(60, 45))
    new = tmp_path / "new"
    new.mkdir()
    for i in range(8):
        write_photo(new / f"n_{i}.jpg", seed=5_000 + i, size=(60, 45))
    age(watched, new)
    index_folders(qtbot, window, watched)
    assert window.watching and len(spy.watch_threads) == 1
    spy.walked.clear()
    spy.watcher_starts = 0
    order: list[str] = []

    def write(ctx: TaskContext) -> None:
        order.append("write")  # runs beside the watcher: it never let go of anything

    with qtbot.waitSignal(window.ingest_did_finish, timeout=60_000):
        window.indexer.write(Task(write, lane="write"))
        window.add_folder(new)  # a second write, in order behind the first
        assert window.watching  # the watcher goes on meanwhile
    qtbot.waitUntil(
        lambda: window.gallery_model.rowCount() == WATCHED + 8, timeout=30_000
    )
    assert order == ["write"]
    assert {f"n_{i}.jpg" for i in range(8)} <= gallery_names(window)
    assert spy.adders[-1] == spy.watch_threads[0]  # written by the watch loop
    assert spy.walked and all(p.is_relative_to(new) for p in spy.walked)
    assert len(spy.watch_threads) == 1  # never restarted
    assert spy.watcher_starts == 0
    assert window.watching


def test_a_write_waits_for_a_one_shot_scan_to_end(
    qtbot: QtBot,
    library: Library,
    runner: TaskRunner,
    encoders: Encoders,
    photo_folders: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With watching off no loop owns the library's writer: writes wait for the job."""
    a, _ = photo_folders
    library.add_folder(a)
    events: list[str] = []
    update = library.update

    def recording_update(**kw: Any) -> Generator[Progress, None, Any]:
        try:
            return (yield from update(**kw))
        finally:
            events.append("update ended")

    monkeypatch.setattr(library, "update", recording_update)
    encoders.delay_s = 0.3  # two batches of 8: the scan runs for a while
    window = MainWindow(
        library,
        runner,
        AppSettings(first_run_done=True, thumbnail_size=96, watch_folders=False),
    )
    qtbot.addWidget(window)
    try:
        with qtbot.waitSignal(window.ingest_will_start, timeout=30_000):
            window.start_indexing()
        assert not window.watching

        def write(ctx: TaskContext) -> None:
            events.append("write")

        done: list[bool] = []
        task: Task[None] = Task(write, lane="write").on_finished(
            lambda: done.append(True)
        )
        window.indexer.write(task)
        qtbot.waitUntil(lambda: bool(done), timeout=60_000)
        assert events == ["update ended", "write"]
    finally:
        window.shutdown()


def test_watching_can_be_switched_off(
    qtbot: QtBot, window: MainWindow, photo_folders: tuple[Path, Path]
) -> None:
    a, _ = photo_folders
    index_folders(qtbot, window, a)
    # The watch ends, then one scan runs in its place (once the watch has let go).
    with qtbot.waitSignal(window.ingest_did_finish, timeout=30_000):
        window.apply_settings(window.settings.replace(watch_folders=False))
        assert not window.watching
    qtbot.waitUntil(lambda: not window.runner.active_count, timeout=30_000)
    write_photo(a / "late.jpg", seed=5)
    qtbot.wait(4_000)  # a watcher would have seen it by now (debounce and settle)
    assert "late.jpg" not in gallery_names(window)
    with qtbot.waitSignal(window.ingest_did_finish, timeout=30_000):
        window.rescan_action.trigger()
    qtbot.waitUntil(lambda: "late.jpg" in gallery_names(window), timeout=10_000)
