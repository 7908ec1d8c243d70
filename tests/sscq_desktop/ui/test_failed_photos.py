"""The failed photos dialog, the status bar's failed count and Retry all, with real files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from broken_files import break_in_place, repair_in_place
from conftest import age, gallery_names, index_folders, write_photo
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from sscq_desktop.ui.failed_photos_dialog import FailedPhotosDialog
from sscq_desktop.ui.failed_photos_model import FAILED_PHOTO_ROLE, FailedPhotosModel
from sscq_desktop.ui.main_window import MainWindow

SCREENSHOT_ENV = "SSCQ_TEST_SCREENSHOT"  # set to a .png path to keep a picture of it


@pytest.fixture
def folder_with_broken_photo(tmp_path: Path) -> tuple[Path, bytes]:
    """Four good JPEGs and ``broken.jpg`` (garbage); returns the folder and its repair."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(4):
        write_photo(folder / f"p_{i}.jpg", seed=300 + i)
    good = break_in_place(write_photo(folder / "broken.jpg", seed=399))
    age(folder)
    return folder, good


def test_failed_photos_model_keeps_its_rows_when_unchanged(qtbot: QtBot) -> None:
    model = FailedPhotosModel()
    ModelTester(qtbot).check(model)
    photos = [(Path("/a/x.jpg"), "truncated"), (Path("/b/y.png"), "?")]
    assert model.set_photos(photos)
    assert not model.set_photos(list(photos))  # no reset: selection and scroll stay
    assert model.columnCount() == 3 and model.rowCount() == 2
    assert [model.index(0, c).data() for c in range(3)] == [
        "x.jpg",
        "/a",
        "The photo could not be read (truncated).",  # a reason it cannot explain
    ]
    assert model.index(1, 0).data(FAILED_PHOTO_ROLE) == photos[1]
    assert "/b/y.png" in model.index(1, 2).data(Qt.ItemDataRole.ToolTipRole)


def test_dialog_lists_the_broken_file_and_retry_all_indexes_it_once_repaired(
    qtbot: QtBot, window: MainWindow, folder_with_broken_photo: tuple[Path, bytes]
) -> None:
    folder, good = folder_with_broken_photo
    broken = folder / "broken.jpg"
    index_folders(qtbot, window, folder)
    assert gallery_names(window) == {f"p_{i}.jpg" for i in range(4)}
    button = window.status_bar.failed_button
    qtbot.waitUntil(lambda: window.failed_count == 1, timeout=10_000)
    assert button.isVisible() and button.text() == "1 photo could not be read"
    # The folder list and the line above the grid count indexed photos only.
    assert [f.photo_count for f in window.folders_panel.folders] == [4]
    assert window.gallery_count.text() == "4 photos"

    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    dialog = window.failed_photos.dialog
    assert isinstance(dialog, FailedPhotosDialog) and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1, timeout=10_000)
    table = dialog.table.model()
    assert table.index(0, 0).data() == "broken.jpg"
    assert table.index(0, 1).data() == str(folder)
    reason = table.index(0, 2).data()  # in plain words; the whole reason below
    assert isinstance(reason, str) and reason.startswith("This file is not a photo")
    assert "1 photo could not be read" in dialog.summary_label.text()
    assert dialog.retry_button.isEnabled()
    dialog.table.selectRow(0)
    assert dialog.show_button.isEnabled()
    details = dialog.details_label.text().splitlines()
    assert details[:2] == [str(broken), reason]
    assert details[2].startswith("Details: not an image")  # the recorded reason, whole
    dialog.copy_paths()
    assert QGuiApplication.clipboard().text() == str(broken)
    menu = dialog.context_menu_for(table.index(0, 0))
    assert menu is not None
    assert [a.text() for a in menu.actions()] == ["Show in folder", "Open", "Copy path"]
    _save_screenshot(dialog)

    repair_in_place(broken, good)  # same size and mtime: no scan would notice
    assert window.library.count_errors() == 1
    with qtbot.waitSignal(window.failed_photos.retry_did_finish, timeout=30_000):
        qtbot.mouseClick(dialog.retry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "broken.jpg" in gallery_names(window), timeout=30_000)
    qtbot.waitUntil(lambda: window.failed_count == 0, timeout=10_000)
    assert not button.isVisible()
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 0, timeout=10_000)
    assert dialog.summary_label.text() == "Every photo in the library could be read."
    assert not dialog.retry_button.isEnabled()
    assert window.watching  # Retry all ran on the watch loop: it never stopped


def test_menu_opens_one_dialog_and_retry_all_keeps_what_still_fails(
    qtbot: QtBot, window: MainWindow, folder_with_broken_photo: tuple[Path, bytes]
) -> None:
    folder, good = folder_with_broken_photo
    (folder / "also_broken.png").write_bytes(b"\x89PNG garbage")
    index_folders(qtbot, window, folder)
    qtbot.waitUntil(lambda: window.failed_count == 2, timeout=10_000)
    assert window.status_bar.failed_button.text() == "2 photos could not be read"

    window.menus.failed_photos.trigger()
    dialog = window.failed_photos.dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 2, timeout=10_000)
    assert window.show_failed_photos() is dialog  # raised, not opened twice
    names = [dialog.table.model().index(r, 0).data() for r in range(2)]
    assert names == ["also_broken.png", "broken.jpg"]  # by folder, then by path
    dialog.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    assert dialog.table.model().index(0, 0).data() == "broken.jpg"
    dialog.table.clearSelection()
    dialog.copy_paths()  # nothing selected: every path
    assert QGuiApplication.clipboard().text().splitlines() == [
        str(folder / "also_broken.png"),
        str(folder / "broken.jpg"),
    ]

    repair_in_place(folder / "broken.jpg", good)  # only a retry reads it again
    with qtbot.waitSignal(window.failed_photos.retry_did_finish, timeout=30_000):
        dialog.retry_button.click()
    qtbot.waitUntil(lambda: window.failed_count == 1, timeout=10_000)
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1, timeout=10_000)
    assert dialog.model.photos[0][0].name == "also_broken.png"
    assert dialog.summary_label.text().startswith("1 photo could not be read")
    # The gallery refreshes on its own schedule (a read task after the retry's write).
    qtbot.waitUntil(lambda: "broken.jpg" in gallery_names(window), timeout=10_000)
    qtbot.waitUntil(
        lambda: "still cannot be read" in window.status_bar.currentMessage(),
        timeout=10_000,
    )
    dialog.close()
    qtbot.waitUntil(lambda: window.failed_photos.dialog is None, timeout=5_000)


def test_dialog_says_so_when_every_photo_could_be_read(
    qtbot: QtBot, window: MainWindow, photo_folders: tuple[Path, Path]
) -> None:
    a, _ = photo_folders
    index_folders(qtbot, window, a)
    assert not window.status_bar.failed_button.isVisible()
    dialog = window.show_failed_photos()
    with qtbot.waitSignal(dialog.photos_loaded, timeout=10_000):
        pass
    assert dialog.summary_label.text() == "Every photo in the library could be read."
    assert not dialog.retry_button.isEnabled()
    assert not dialog.copy_button.isEnabled()
    assert dialog.context_menu_for(dialog.table.model().index(0, 0)) is None


def _save_screenshot(dialog: FailedPhotosDialog) -> None:
    target = os.environ.get(SCREENSHOT_ENV)
    if target:
        dialog.resize(860, 320)
        assert dialog.grab().save(target)


def test_dialog_says_how_many_it_leaves_out_past_its_limit(
    qtbot: QtBot, window: MainWindow, folder_with_broken_photo: tuple[Path, bytes]
) -> None:
    folder, _ = folder_with_broken_photo
    for i in range(3):
        (folder / f"junk_{i}.jpg").write_bytes(b"junk")
    index_folders(qtbot, window, folder)
    dialog = FailedPhotosDialog(window.library, window.runner, limit=2, parent=window)
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 2, timeout=10_000)
    text = dialog.summary_label.text()
    assert text.startswith("4 photos could not be read")
    assert text.endswith("Showing the first 2, by path.")
    dialog.set_retrying(4)
    assert dialog.summary_label.text().startswith("Trying 4 photos again…")
    assert not dialog.retry_button.isEnabled()
    dialog.set_retrying(None)
    assert dialog.retry_button.isEnabled()


def test_the_open_dialog_reloads_only_when_the_failures_change(
    qtbot: QtBot,
    window: MainWindow,
    folder_with_broken_photo: tuple[Path, bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder, good = folder_with_broken_photo
    index_folders(qtbot, window, folder)
    qtbot.waitUntil(lambda: window.failed_count == 1, timeout=10_000)
    dialog = window.show_failed_photos()
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1, timeout=10_000)
    reloads: list[int | None] = []
    reload = dialog.reload

    def counting_reload(*, total: int | None = None) -> None:
        reloads.append(total)
        reload(total=total)

    monkeypatch.setattr(dialog, "reload", counting_reload)
    with qtbot.waitSignal(window.index_did_change, timeout=10_000):
        window.refresh_library()
    assert reloads == []  # nothing changed: the list is not read again

    repair_in_place(folder / "broken.jpg", good)  # only a retry reads it again
    with qtbot.waitSignal(window.failed_photos.retry_did_finish, timeout=30_000):
        dialog.retry_button.click()
    qtbot.waitUntil(
        lambda: (
            dialog.summary_label.text() == "Every photo in the library could be read."
        ),
        timeout=10_000,
    )
    qtbot.waitUntil(lambda: not window.runner.active_count, timeout=10_000)
    # Once when the count dropped, once when the retry ended (one when a quick
    # indexing ends first), each with the window's count: never twice per change.
    assert reloads in ([0], [0, 0])
    assert dialog.model.rowCount() == 0
