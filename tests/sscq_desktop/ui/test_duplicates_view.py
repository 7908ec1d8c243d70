"""The Near duplicates tab over a real window and library: levels, facts, keep the best, trash.

The tiny generated model is the library's model; the photos are real JPEGs: a photo,
its half-size copy and a 6%-cropped copy among distinct photos. The trash is replaced at
its seam only (`sscq_desktop.library.folders.trash.send2trash`): files move to a folder
of the test; the catalog, the window and the dialogs are real.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import gallery_names, index_folders, write_photo, write_resized_copy
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from sscq_desktop.library.folders import trash
from sscq_desktop.library.library import Library
from sscq_desktop.library.records import PhotoRecord
from sscq_desktop.ui.main_window import MainWindow
from sscq_desktop.ui.settings import AppSettings


@pytest.fixture
def copies(tmp_path: Path) -> Path:
    """``beach.jpg`` (200 x 150), a half-size copy, a 6% crop, and six distinct photos."""
    folder = tmp_path / "copies"
    folder.mkdir()
    beach = write_photo(folder / "beach.jpg", seed=1)
    write_resized_copy(beach, folder / "beach_small.jpg", 0.5)
    with Image.open(beach) as im:
        im.crop((0, 0, im.width, round(im.height * 0.94))).save(
            folder / "beach_crop.jpg", quality=90
        )
    for i in range(6):
        write_photo(folder / f"other_{i}.jpg", seed=100 + i)
    then = os.stat(beach).st_mtime - 3600
    for path in folder.iterdir():
        os.utime(path, (then, then))
    return folder


@pytest.fixture
def fake_trash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The desktop trash, replaced by a folder of the test."""
    bin_dir = tmp_path / "trash"
    bin_dir.mkdir()

    def send2trash(path: Path) -> None:
        os.replace(path, bin_dir / Path(path).name)

    monkeypatch.setattr(trash, "send2trash", send2trash)
    return bin_dir


def show_groups(qtbot: QtBot, window: MainWindow) -> list[list[PhotoRecord]]:
    with qtbot.waitSignal(
        window.duplicates_view.groups_ready, timeout=20_000
    ) as blocker:
        window.duplicates_action.trigger()
    groups: list[list[PhotoRecord]] = blocker.args[0]
    return groups


def test_the_crop_joins_its_copies_and_distinct_photos_stay_apart(
    qtbot: QtBot, window: MainWindow, copies: Path
) -> None:
    index_folders(qtbot, window, copies)
    groups = show_groups(qtbot, window)
    assert [[p.path.name for p in g] for g in groups] == [
        ["beach.jpg", "beach_crop.jpg", "beach_small.jpg"]  # largest resolution first
    ]


def test_each_photo_shows_resolution_size_and_date_and_the_best_is_kept(
    qtbot: QtBot, window: MainWindow, copies: Path
) -> None:
    index_folders(qtbot, window, copies)
    show_groups(qtbot, window)
    view = window.duplicates_view
    tree = view.tree
    assert [tree.headerItem().text(c) for c in range(tree.columnCount())] == [
        "Photo", "Resolution", "Size", "Date taken", "Folder",
    ]  # fmt: skip
    group = tree.topLevelItem(0)
    rows = [group.child(i) for i in range(group.childCount())]
    size = (copies / "beach.jpg").stat().st_size
    assert rows[0].text(0) == "beach.jpg"
    assert rows[0].text(1) == "200 × 150"
    assert rows[0].text(2) == f"{size / 1000:.1f} KB"
    assert rows[0].text(3) == "—"  # no EXIF date in these files
    assert rows[1].text(1) == "200 × 141"  # the crop
    assert rows[2].text(1) == "100 × 75"
    assert [r.checkState(0) for r in rows] == [
        Qt.CheckState.Unchecked, Qt.CheckState.Checked, Qt.CheckState.Checked,
    ]  # fmt: skip
    assert [p.path.name for p in view.marked()] == ["beach_crop.jpg", "beach_small.jpg"]
    assert view.trash_button.isEnabled()


def test_the_level_is_chosen_on_the_tab_refreshes_it_and_is_saved(
    qtbot: QtBot, window: MainWindow, copies: Path
) -> None:
    index_folders(qtbot, window, copies)
    show_groups(qtbot, window)
    view = window.duplicates_view
    labels = [view.level_combo.itemText(i) for i in range(view.level_combo.count())]
    assert labels == ["Exact copies", "Edited copies", "Similar shots"]
    assert view.level_combo.currentText() == "Edited copies"
    with (
        qtbot.waitSignal(view.groups_ready, timeout=20_000),
        qtbot.waitSignal(window.settings_did_change, timeout=5_000) as saved,
    ):
        view.level_combo.setCurrentIndex(0)
    assert view.level == "exact"
    assert saved.args[0].duplicate_level == "exact"
    assert window.settings.duplicate_level == "exact"


def test_a_window_opens_on_the_saved_level(
    qtbot: QtBot, library: Library, runner: object
) -> None:
    from sscq_desktop.ui.tasks import TaskRunner

    assert isinstance(runner, TaskRunner)
    win = MainWindow(
        library,
        runner,
        AppSettings(
            first_run_done=True, watch_folders=False, duplicate_level="similar"
        ),
    )
    qtbot.addWidget(win)
    assert win.duplicates_view.level_combo.currentText() == "Similar shots"
    win.shutdown()


def test_moving_the_marked_copies_to_the_trash_asks_then_forgets_them(
    qtbot: QtBot, window: MainWindow, copies: Path, fake_trash: Path
) -> None:
    index_folders(qtbot, window, copies)
    window.apply_settings(window.settings.replace(watch_folders=False))
    qtbot.waitUntil(lambda: not window.watching, timeout=10_000)
    show_groups(qtbot, window)
    view = window.duplicates_view
    marked = view.marked()
    total = sum(p.size for p in marked)
    view.trash_button.click()
    box = view.confirm_box
    assert box is not None
    assert box.text() == f"Move 2 photos ({total / 1000:.1f} KB) to the Trash?"
    with (
        qtbot.waitSignal(view.trash_done, timeout=20_000) as done,
        qtbot.waitSignal(view.groups_ready, timeout=20_000) as refreshed,
    ):
        box.button(QMessageBox.StandardButton.Yes).click()
    assert done.args[0].freed_bytes == total and not done.args[0].failed
    assert sorted(p.name for p in fake_trash.iterdir()) == [
        "beach_crop.jpg", "beach_small.jpg",
    ]  # fmt: skip
    assert (copies / "beach.jpg").exists()
    assert all(window.library.photo(p.id) is None for p in marked)
    assert refreshed.args[0] == []  # the group is gone: one copy is left
    # The gallery and counts follow at once, even with no watcher to notice.
    qtbot.waitUntil(
        lambda: "beach_small.jpg" not in gallery_names(window), timeout=5_000
    )
    assert "beach_crop.jpg" not in gallery_names(window)


def test_cancel_moves_nothing(
    qtbot: QtBot, window: MainWindow, copies: Path, fake_trash: Path
) -> None:
    index_folders(qtbot, window, copies)
    show_groups(qtbot, window)
    view = window.duplicates_view
    view.trash_button.click()
    assert view.confirm_box is not None
    view.confirm_box.button(QMessageBox.StandardButton.Cancel).click()
    qtbot.wait(200)
    assert list(fake_trash.iterdir()) == []
    assert (copies / "beach_small.jpg").exists()


def test_a_file_that_cannot_be_trashed_stays_with_a_message(
    qtbot: QtBot, window: MainWindow, copies: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(path: Path) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(trash, "send2trash", refuse)
    index_folders(qtbot, window, copies)
    show_groups(qtbot, window)
    view = window.duplicates_view
    marked = view.marked()
    view.trash_button.click()
    assert view.confirm_box is not None
    with qtbot.waitSignal(view.groups_ready, timeout=20_000) as refreshed:
        view.confirm_box.button(QMessageBox.StandardButton.Yes).click()
    assert view.report_box is not None
    assert view.report_box.text().startswith("2 photos could not be moved to the Trash")
    assert "Permission denied" in view.report_box.detailedText()
    assert all((copies / p.path.name).exists() for p in marked)
    assert all(window.library.photo(p.id) is not None for p in marked)
    assert len(refreshed.args[0]) == 1  # still listed
