"""The window's shared state, and what the window shows of it over a real library.

Counts that agree (gallery, folders, status bar), Remove asking first and the hint of
an empty library, and the date sort by date taken (issue #15, points 4 to 6).
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

import pytest
from conftest import Encoders, index_folders, write_photo
from PIL import Image
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from sscq_desktop.library.ingest.ingest import IngestOptions
from sscq_desktop.library.library import Library
from sscq_desktop.library.progress import Progress
from sscq_desktop.library.records import FolderId, FolderOverview, ModelRecord
from sscq_desktop.ui.folders_panel import remove_question
from sscq_desktop.ui.gallery_panel import EMPTY_HINT
from sscq_desktop.ui.main_window import MainWindow
from sscq_desktop.ui.settings import AppSettings
from sscq_desktop.ui.window_state import LibraryCounts, WindowState


def test_each_change_emits_one_signal_with_the_new_value_and_no_change_none(
    qtbot: QtBot,
) -> None:
    state = WindowState(AppSettings())
    seen: list[tuple[str, object]] = []
    for name in (
        "settings_changed",
        "active_model_changed",
        "provider_changed",
        "counts_changed",
        "last_error_changed",
        "gallery_folder_changed",
    ):
        getattr(state, name).connect(lambda v, n=name: seen.append((n, v)))
    sorted_by_name = AppSettings(gallery_sort="name")
    model = ModelRecord(
        "m1", Path("/m1.onnx"), "imported", "2026-01-01T00:00:00", 8, 256, 32
    )
    counts = LibraryCounts(
        photo_count=3,
        folders=(FolderOverview(FolderId(1), Path("/p"), 3),),
        failed_count=1,
        progress=Progress("ingest", 3, 9),
    )
    for _ in range(2):  # the second round sets equal values: nothing more is emitted
        state.settings = AppSettings(gallery_sort="name")
        state.active_model = model
        state.provider = "CPU"
        state.counts = LibraryCounts(**vars(counts))
        state.last_error = "Folder offline (photos kept): /p"
        state.gallery_folder = Path("/p/x")
    assert seen == [
        ("settings_changed", sorted_by_name),
        ("active_model_changed", model),
        ("provider_changed", "CPU"),
        ("counts_changed", counts),
        ("last_error_changed", "Folder offline (photos kept): /p"),
        ("gallery_folder_changed", Path("/p/x")),
    ]
    assert (state.photo_count, state.failed_count) == (3, 1)
    state.last_error = None
    assert seen[-1] == ("last_error_changed", None)


def test_folder_status_keeps_the_snapshots_counts() -> None:
    counts = LibraryCounts(
        photo_count=5, folders=(FolderOverview(FolderId(1), Path("/p"), 5),)
    )
    polled = (FolderOverview(FolderId(1), Path("/p"), 9, "not found"),)
    assert counts.with_folder_status(polled).folders == (
        FolderOverview(FolderId(1), Path("/p"), 5, "not found"),
    )


# -- counts that agree (#15, point 5) ------------------------------------------------


def _shown_counts(window: MainWindow) -> tuple[int | None, int, str]:
    """(the gallery's count, the folders' total, the status bar's line) on screen."""
    label = window.gallery_count.text()
    gallery = int(label.split()[0].replace(",", "")) if label else None
    folders = sum(f.photo_count for f in window.folders_panel.folders)
    return gallery, folders, window.status_bar.progress_label.text()


def test_gallery_folders_and_status_bar_counts_agree_while_indexing(
    qtbot: QtBot,
    window: MainWindow,
    library: Library,
    encoders: Encoders,
    tmp_path: Path,
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(40):
        write_photo(folder / f"p_{i:02d}.jpg", seed=500 + i, size=(96, 72))
    then = datetime(2024, 1, 1).timestamp()
    for path in folder.iterdir():
        os.utime(path, (then, then))
    library.ingest_options = IngestOptions(workers=2, batch_size=2)
    encoders.delay_s = 0.1  # twenty batches: two seconds or more of indexing
    samples: list[tuple[int | None, int, str]] = []
    probe = QTimer()
    probe.setInterval(5)
    probe.timeout.connect(lambda: samples.append(_shown_counts(window)))
    probe.start()
    try:
        index_folders(qtbot, window, folder)
        qtbot.waitUntil(lambda: _shown_counts(window)[0] == 40, timeout=10_000)
    finally:
        probe.stop()
    samples.append(_shown_counts(window))
    indexing = []
    for gallery, folders, status in samples:
        if gallery is not None and window.folders_panel.folders:
            assert gallery == folders, (gallery, folders, status)
        progress = re.match(r"Indexing ([\d,]+) / ([\d,]+)", status)
        if progress is not None:
            done = int(progress[1].replace(",", ""))
            indexing.append(done)
            # No photo fails here: every photo the status bar counts is in the gallery.
            assert gallery is not None and done <= gallery, (gallery, folders, status)
    assert any(done > 0 for done in indexing), "no indexing progress was sampled"
    assert samples[-1] == (40, 40, "40 photos indexed · watching folders")


# -- Remove asks first, and an empty library says what to do (#15, point 4) ----------


def test_remove_question_names_the_folder_its_photos_and_keeps_the_files(
    qtbot: QtBot,
) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    holidays = FolderOverview(FolderId(3), Path("/home/ann/Holidays"), 751)
    box = remove_question(holidays, parent)
    assert "/home/ann/Holidays" in box.text()
    assert "751 photos" in box.informativeText()
    assert "stay on disk" in box.informativeText()
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    assert box.button(QMessageBox.StandardButton.Ok).text() == "Remove"


def _select(window: MainWindow, path: Path) -> None:
    """Choose `path` in the folder tree, as a click does."""
    panel = window.folders_panel
    panel.tree.setCurrentItem(panel.item_of(path))


def test_remove_asks_first_and_the_empty_gallery_says_to_add_a_folder(
    qtbot: QtBot,
    window: MainWindow,
    library: Library,
    photo_folders: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b = photo_folders
    index_folders(qtbot, window, a, b)
    panel = window.folders_panel
    asked: list[FolderOverview] = []
    answer = [False]

    def confirm(folder: FolderOverview, parent: QWidget | None) -> bool:
        assert parent is window
        asked.append(folder)
        return answer[0]

    monkeypatch.setattr(panel, "confirm_remove", confirm, raising=False)
    _select(window, a)
    panel.remove_button.click()  # Cancel
    assert [(f.path, f.photo_count) for f in asked] == [(a, 10)]
    qtbot.wait(200)
    qtbot.waitUntil(lambda: not window.runner.active_count, timeout=10_000)
    assert {f.path for f in library.folders()} == {a, b}
    assert window.gallery_model.rowCount() == 10  # a chosen: its photos shown
    assert window.state.photo_count == 19  # nothing left the library

    answer[0] = True
    with qtbot.waitSignal(window.index_did_change, timeout=10_000):
        panel.remove_button.click()
    qtbot.waitUntil(lambda: [f.path for f in panel.folders] == [b], timeout=10_000)
    assert {f.path for f in library.folders()} == {b}
    # The chosen folder left: the gallery shows all photos again.
    qtbot.waitUntil(lambda: window.gallery_model.rowCount() == 9, timeout=10_000)
    assert panel.selected_folder() is None and window.state.gallery_folder is None
    assert a.is_dir() and len(list(a.iterdir())) == 10  # the files stay on disk
    assert not window.gallery_panel.hint_label.isVisible()

    _select(window, b)
    panel.remove_button.click()
    qtbot.waitUntil(lambda: not panel.folders, timeout=10_000)
    qtbot.waitUntil(lambda: window.gallery_panel.hint_label.isVisible(), timeout=5_000)
    assert window.gallery_panel.hint_label.text() == EMPTY_HINT
    assert "Add a folder to start" in EMPTY_HINT
    assert not window.gallery_view.isVisible()
    assert [f.path for f in asked] == [a, a, b]


# -- sort by date taken (#15, point 6) -------------------------------------------------


def _write_taken(path: Path, seed: int, taken: str | None, mtime: datetime) -> Path:
    """A real JPEG with EXIF ``DateTimeOriginal`` `taken` (none if None), dated `mtime`."""
    write_photo(path, seed=seed)
    if taken is not None:
        with Image.open(path) as im:
            pixels = im.copy()
        exif = Image.Exif()
        exif.get_ifd(0x8769)[0x9003] = taken  # Exif IFD: DateTimeOriginal
        pixels.save(path, quality=92, exif=exif)
    os.utime(path, (mtime.timestamp(), mtime.timestamp()))
    return path


def test_date_sort_uses_the_date_taken_then_the_modification_time(
    qtbot: QtBot, window: MainWindow, library: Library, tmp_path: Path
) -> None:
    folder = tmp_path / "copied"
    folder.mkdir()
    # Copied photos: their modification times run opposite to when they were taken.
    _write_taken(
        folder / "taken_2020.jpg", 1, "2020:06:01 12:00:00", datetime(1999, 1, 1)
    )
    _write_taken(folder / "no_exif_2010.jpg", 2, None, datetime(2010, 1, 1))
    _write_taken(
        folder / "taken_2001.jpg", 3, "2001:02:03 04:05:06", datetime(2015, 1, 1)
    )
    index_folders(qtbot, window, folder)
    record = library.photo_by_path(folder / "taken_2020.jpg")
    assert record is not None and record.taken_at == "2020-06-01T12:00:00"
    assert window.current_sort() == "date"
    assert [p.path.name for p in window.gallery_model.photos] == [
        "taken_2020.jpg",
        "no_exif_2010.jpg",
        "taken_2001.jpg",
    ]
