"""The folder tree and the results' folder scope list real folders (#15, point 7).

A real window over a real library (tiny model, JPEGs on disk) whose one root holds
photos in nested folders: ``a`` (1), ``a/x`` (2), ``a/x/y`` (2), ``a/z`` (3).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import age, gallery_names, index_folders, write_photo, write_resized_copy
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTreeWidgetItem
from pytestqt.qtbot import QtBot

from sscq_desktop.library.records import FolderId, PhotoId, PhotoRecord
from sscq_desktop.ui.gallery_model import photos_below
from sscq_desktop.ui.main_window import MainWindow

LAYOUT = {"": ["top"], "x": ["x1", "x2"], "x/y": ["y1", "y2"], "z": ["z1", "z2", "z3"]}


@pytest.fixture
def nested(tmp_path: Path) -> Path:
    """The root ``a`` with photos in ``x``, ``x/y`` and ``z``; ``a/empty`` has none."""
    a = tmp_path / "a"
    seed = 700
    for sub, names in LAYOUT.items():
        (a / sub).mkdir(parents=True, exist_ok=True)
        for name in names:
            write_photo(a / sub / f"{name}.jpg", seed=seed)
            seed += 1
    (a / "empty").mkdir()
    age(a)
    return a


def _tree(item: QTreeWidgetItem) -> list[object]:
    """A row's text and, when it has any, its children's trees."""
    children = [_tree(item.child(i)) for i in range(item.childCount())]
    return [item.text(0), children] if children else [item.text(0)]


def _click(qtbot: QtBot, window: MainWindow, item: QTreeWidgetItem | None) -> None:
    assert item is not None
    tree = window.folders_panel.tree
    tree.scrollToItem(item)
    rect = tree.visualItemRect(item)
    assert rect.isValid()
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_folder_tree_shows_subfolders_and_a_click_filters_the_gallery(
    qtbot: QtBot, window: MainWindow, nested: Path
) -> None:
    a = nested
    index_folders(qtbot, window, a)
    panel = window.folders_panel
    tree = panel.tree
    assert [_tree(tree.topLevelItem(i)) for i in range(tree.topLevelItemCount())] == [
        ["All photos  —  8 photos"],
        [
            "a  —  8 photos",
            [["x  —  4 photos", [["y  —  2 photos"]]], ["z  —  3 photos"]],
        ],
    ]
    every = {f"{n}.jpg" for names in LAYOUT.values() for n in names}
    assert gallery_names(window) == every

    _click(qtbot, window, panel.item_of(a / "x"))
    assert panel.selected_folder() == a / "x"
    assert not panel.remove_button.isEnabled()  # Remove is for roots only
    qtbot.waitUntil(
        lambda: gallery_names(window) == {"x1.jpg", "x2.jpg", "y1.jpg", "y2.jpg"},
        timeout=10_000,
    )
    assert window.gallery_count.text() == "4 photos in x"
    assert "8 photos indexed" in window.status_bar.progress_label.text()

    _click(qtbot, window, panel.item_of(a / "z"))
    qtbot.waitUntil(
        lambda: gallery_names(window) == {"z1.jpg", "z2.jpg", "z3.jpg"},
        timeout=10_000,
    )
    _click(qtbot, window, panel.item_of(a))
    qtbot.waitUntil(lambda: gallery_names(window) == every, timeout=10_000)
    assert panel.remove_button.isEnabled()
    assert window.gallery_count.text() == "8 photos in a"

    _click(qtbot, window, panel.item_of(None))  # "All photos"
    qtbot.waitUntil(lambda: window.gallery_count.text() == "8 photos", timeout=10_000)
    assert gallery_names(window) == every
    assert window.state.gallery_folder is None


def test_new_photos_in_the_shown_folder_arrive_and_others_stay_out(
    qtbot: QtBot, window: MainWindow, nested: Path
) -> None:
    a = nested
    index_folders(qtbot, window, a)
    panel = window.folders_panel
    _click(qtbot, window, panel.item_of(a / "x"))
    qtbot.waitUntil(lambda: len(gallery_names(window)) == 4, timeout=10_000)
    write_photo(a / "x" / "y" / "y3.jpg", seed=900)
    write_photo(a / "z" / "z4.jpg", seed=901)
    (a / "w").mkdir()
    write_photo(a / "w" / "w1.jpg", seed=902)
    # `age` touches every file: the rescan reads them all again, so for a while x
    # holds no indexed photo and leaves the tree; it stays chosen and comes back.
    age(a)
    with qtbot.waitSignal(window.ingest_did_finish, timeout=60_000):
        window.rescan()
    qtbot.waitUntil(lambda: "y3.jpg" in gallery_names(window), timeout=10_000)
    assert gallery_names(window) == {"x1.jpg", "x2.jpg", "y1.jpg", "y2.jpg", "y3.jpg"}
    qtbot.waitUntil(lambda: panel.item_of(a / "w") is not None, timeout=10_000)
    w, y = panel.item_of(a / "w"), panel.item_of(a / "x" / "y")
    assert w is not None and w.text(0) == "w  —  1 photo"
    assert y is not None and y.text(0) == "y  —  3 photos"
    assert panel.selected_folder() == a / "x"  # the tree was rebuilt: x stays chosen


def test_results_scope_lists_subfolders_and_keeps_a_search_below_one(
    qtbot: QtBot, window: MainWindow, nested: Path, tmp_path: Path
) -> None:
    a = nested
    index_folders(qtbot, window, a)
    panel = window.results_panel
    combo = panel.scope_combo
    items = [(combo.itemText(i), combo.itemData(i)) for i in range(combo.count())]
    assert items == [
        ("All folders", None),
        ("a", a),
        ("    x", a / "x"),
        ("        y", a / "x" / "y"),
        ("    z", a / "z"),
    ]
    assert combo.itemData(2, Qt.ItemDataRole.ToolTipRole) == os.fspath(a / "x")

    outside = tmp_path / "outside"
    outside.mkdir()
    query = write_resized_copy(a / "z" / "z1.jpg", outside / "query.jpg", 0.8)
    with qtbot.waitSignal(panel.results_ready, timeout=10_000) as blocker:
        window.search_by_file(query)
    assert {h.path.name for h in blocker.args[0]} >= {"z1.jpg", "x1.jpg", "y1.jpg"}

    with qtbot.waitSignal(panel.results_ready, timeout=10_000) as blocker:
        panel.set_scope(a / "x")
    scoped = {h.path for h in blocker.args[0]}
    assert scoped == {a / "x" / n for n in ("x1.jpg", "x2.jpg")} | {
        a / "x" / "y" / n for n in ("y1.jpg", "y2.jpg")
    }


def test_photos_below_keeps_a_folder_and_its_subfolders_not_its_siblings() -> None:
    def photo(i: int, path: str) -> PhotoRecord:
        return PhotoRecord(
            PhotoId(i),
            FolderId(1),
            Path(path),
            1,
            0,
            None,
            None,
            None,
            None,
            "ok",
            None,
        )

    photos = [
        photo(1, "/p/a/x/1.jpg"),
        photo(2, "/p/a/x2/2.jpg"),
        photo(3, "/p/a/x/y/3.jpg"),
        photo(4, "/p/a/4.jpg"),
    ]
    assert [p.id for p in photos_below(photos, Path("/p/a/x"))] == [1, 3]
    assert [p.id for p in photos_below(photos, Path("/p/a"))] == [1, 2, 3, 4]
