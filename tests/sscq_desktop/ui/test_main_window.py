"""The main window over a real library: indexing, searches, pastes, duplicates, preview."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest
from conftest import Encoders, index_folders, write_photo, write_resized_copy
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication, QImage
from pytestqt.qtbot import QtBot

from sscq_desktop.library.ingest.ingest import IngestOptions
from sscq_desktop.library.library import Library
from sscq_desktop.library.records import SimilarityBand
from sscq_desktop.ui import query_input
from sscq_desktop.ui.main_window import MainWindow
from sscq_desktop.ui.preview_dialog import PreviewDialog


def test_window_opens_and_indexes_the_folder(
    qtbot: QtBot, window: MainWindow, photo_folders: tuple[Path, Path]
) -> None:
    a, _ = photo_folders
    index_folders(qtbot, window, a)
    assert window.gallery_model.rowCount() == 10
    assert [f.photo_count for f in window.folders_panel.folders] == [10]
    root = window.folders_panel.item_of(a)
    assert root is not None and "10 photos" in root.text(0)
    assert "10 photos indexed" in window.status_bar.progress_label.text()
    assert window.status_bar.model_label.text() == "Model: Built-in model, 32 bits"
    assert "Model id: tiny-test-model" in window.status_bar.model_label.toolTip()
    assert window.status_bar.provider_label.text() == "CPU"


def test_context_menu_find_similar_puts_the_resized_copy_first(
    qtbot: QtBot, window: MainWindow, photo_folders: tuple[Path, Path]
) -> None:
    a, _ = photo_folders
    index_folders(qtbot, window, a)
    row = window.gallery_model.row_of(a / "beach.jpg")
    assert row is not None
    menu = window.gallery_view.context_menu_for(window.gallery_model.index(row))
    assert menu is not None
    assert [x.text() for x in menu.actions() if x.text()][:4] == [
        "Find similar",
        "Open",
        "Show in folder",
        "Copy path",
    ]
    with qtbot.waitSignal(
        window.results_panel.results_ready, timeout=10_000
    ) as blocker:
        menu.findChild(type(menu.actions()[0]), "find_similar_action").trigger()
    hits = blocker.args[0]
    assert hits[0].path == a / "beach_small.jpg"
    assert all(h.path != a / "beach.jpg" for h in hits)  # the query itself is excluded
    assert window.tabs.currentWidget() is window.results_panel
    assert window.results_panel.model.rowCount() == len(hits)
    assert window.results_panel.model.index(0).data().startswith("beach_small.jpg")


def test_dropped_external_file_yields_results(
    qtbot: QtBot, window: MainWindow, photo_folders: tuple[Path, Path], tmp_path: Path
) -> None:
    a, _ = photo_folders
    index_folders(qtbot, window, a)
    outside = tmp_path / "outside"
    outside.mkdir()
    query = write_resized_copy(a / "a_03.jpg", outside / "from_phone.jpg", 1.5)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(query))])
    drop = QDropEvent(
        QPointF(50, 50),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(
        window.results_panel.results_ready, timeout=10_000
    ) as blocker:
        window.dropEvent(drop)
    assert drop.isAccepted()
    assert blocker.args[0][0].path == a / "a_03.jpg"
    assert window.results_panel.query is not None
    assert window.results_panel.query.photo_id is None


def test_pasted_image_yields_results(
    qtbot: QtBot, window: MainWindow, photo_folders: tuple[Path, Path]
) -> None:
    a, _ = photo_folders
    index_folders(qtbot, window, a)
    QGuiApplication.clipboard().setImage(QImage(str(a / "a_05.jpg")))
    panel = window.results_panel
    with qtbot.waitSignal(panel.results_ready, timeout=10_000) as blocker:
        window.paste_action.trigger()
    assert blocker.args[0][0].path == a / "a_05.jpg"
    query = panel.query
    assert query is not None and query.pasted is not None
    assert query.path is None  # pixels go to the library as pixels: no file
    assert query.pasted.pixels.shape == (150, 200, 3)
    assert panel.query_label.text() == "Similar to the pasted image"
    assert panel.query_icon.pixmap().width() == 112  # its small copy, fitted
    with qtbot.waitSignal(panel.results_ready, timeout=10_000) as again:
        panel.set_min_band(SimilarityBand.COPY)  # the pixels are kept to search again
    assert [h.path for h in again.args[0]] == [a / "a_05.jpg"]  # scored, not 0%
    assert again.args[0][0].band is SimilarityBand.COPY


def _encoded(path: Path) -> QMimeData:
    """A photo's encoded bytes, as another app offers them to a paste or a drop."""
    mime = QMimeData()
    mime.setData("image/jpeg", path.read_bytes())
    return mime


def test_pasted_files_are_labelled_kept_for_back_bounded_and_deleted_on_close(
    qtbot: QtBot,
    window: MainWindow,
    photo_folders: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, _ = photo_folders
    index_folders(qtbot, window, a)
    panel = window.results_panel
    monkeypatch.setattr(query_input, "PASTED_KEPT", 2)

    def paste(name: str) -> Path:
        mime = _encoded(a / name)  # what the clipboard holds (kept by the test)
        with qtbot.waitSignal(panel.results_ready, timeout=10_000):
            assert window.search_mime(mime)
        assert panel.query is not None and panel.query.path is not None
        # Labelled as what the user did, not by the temporary file's name.
        assert panel.query_label.text() == "Similar to the pasted image"
        assert panel.query_label.toolTip() == ""
        return panel.query.path

    first = paste("a_05.jpg")
    with qtbot.waitSignal(panel.results_ready, timeout=10_000):
        window.search_by_file(a / "a_01.jpg")  # a real file comes next
    assert panel.query_label.text() == "Similar to image a_01.jpg"
    assert first.is_file()  # kept: Back searches with it again
    with qtbot.waitSignal(panel.results_ready, timeout=10_000) as back:
        panel.go_back()
    assert panel.query is not None and panel.query.path == first
    assert panel.query_label.text() == "Similar to the pasted image"
    assert [h.path for h in back.args[0]][0] == a / "a_05.jpg"
    second = paste("a_06.jpg")
    third = paste("a_07.jpg")
    assert not first.exists()  # only the last PASTED_KEPT pastes stay on disk
    assert second.is_file() and third.is_file()
    window.close()
    assert not third.exists() and not third.parent.exists()


def test_back_and_forward_walk_through_chained_searches(
    qtbot: QtBot, window: MainWindow, photo_folders: tuple[Path, Path]
) -> None:
    a, _ = photo_folders
    index_folders(qtbot, window, a)
    panel = window.results_panel
    assert not panel.back_button.isEnabled() and not panel.forward_button.isEnabled()
    with qtbot.waitSignal(panel.results_ready, timeout=10_000) as first:
        window.search_by_file(a / "beach.jpg")
    hit = first.args[0][1]
    with qtbot.waitSignal(panel.results_ready, timeout=10_000):
        window.find_similar(hit)  # chained: Find similar on a result
    assert panel.query is not None and panel.query.photo_id == hit.photo_id
    assert panel.back_button.isEnabled() and not panel.forward_button.isEnabled()

    with qtbot.waitSignal(panel.results_ready, timeout=10_000) as back:
        qtbot.mouseClick(panel.back_button, Qt.MouseButton.LeftButton)
    assert panel.query_label.text() == "Similar to image beach.jpg"
    assert [h.path for h in back.args[0]] == [h.path for h in first.args[0]]
    assert panel.forward_button.isEnabled() and not panel.back_button.isEnabled()
    with qtbot.waitSignal(panel.results_ready, timeout=10_000):
        qtbot.mouseClick(panel.forward_button, Qt.MouseButton.LeftButton)
    assert panel.query.photo_id == hit.photo_id

    with qtbot.waitSignal(panel.results_ready, timeout=10_000):
        panel.go_back()
    with qtbot.waitSignal(panel.results_ready, timeout=10_000):
        window.search_by_file(a / "a_01.jpg")  # a new search drops what was ahead
    assert panel.back_button.isEnabled() and not panel.forward_button.isEnabled()
    with qtbot.waitSignal(panel.results_ready, timeout=10_000):
        panel.go_back()
    assert panel.query_label.text() == "Similar to image beach.jpg"


def test_threshold_and_folder_scope_filter_results(
    qtbot: QtBot, window: MainWindow, photo_folders: tuple[Path, Path]
) -> None:
    a, b = photo_folders
    index_folders(qtbot, window, a, b)
    panel = window.results_panel
    with qtbot.waitSignal(panel.results_ready, timeout=10_000) as blocker:
        window.search_by_file(a / "beach.jpg")
    everything = blocker.args[0]
    assert {h.path.parent for h in everything} == {a, b}

    with qtbot.waitSignal(panel.results_ready, timeout=10_000) as blocker:
        panel.set_scope(b)
    scoped = blocker.args[0]
    assert scoped and {h.path.parent for h in scoped} == {b}
    assert scoped[0].path == b / "beach_copy.jpg"

    with qtbot.waitSignal(panel.results_ready, timeout=10_000) as blocker:
        panel.set_scope(None)
        panel.set_min_band(SimilarityBand.NEAR_COPY)
    strict = blocker.args[0]
    assert 0 < len(strict) < len(everything)
    assert all(
        h.band in (SimilarityBand.COPY, SimilarityBand.NEAR_COPY) for h in strict
    )
    names = {h.path.name for h in strict}
    assert names >= {"beach_small.jpg", "beach_copy.jpg"}
    assert "beach.jpg" not in names  # a library file is not its own result
    assert panel.model.rowCount() == len(strict)


def test_latest_query_wins(
    qtbot: QtBot, window: MainWindow, photo_folders: tuple[Path, Path], tmp_path: Path
) -> None:
    a, _ = photo_folders
    index_folders(qtbot, window, a)
    outside = tmp_path / "outside"  # a library file is not among its own results
    outside.mkdir()
    queries = [
        write_resized_copy(a / f"a_{i:02d}.jpg", outside / f"q_{i}.jpg", 0.8)
        for i in range(5)
    ]
    panel = window.results_panel
    with qtbot.waitSignal(panel.results_ready, timeout=10_000) as blocker:
        for query in queries:
            window.search_by_file(query)
    qtbot.waitUntil(lambda: not window.runner.active_count, timeout=10_000)
    assert blocker.args[0][0].path == a / "a_04.jpg"
    assert panel.model.hits[0].path == a / "a_04.jpg"


def test_deleted_folder_is_shown_not_fatal(
    qtbot: QtBot, window: MainWindow, photo_folders: tuple[Path, Path]
) -> None:
    a, b = photo_folders
    index_folders(qtbot, window, a, b)
    shutil.rmtree(b)
    with qtbot.waitSignal(window.ingest_did_finish, timeout=30_000):
        window.rescan_action.trigger()
    qtbot.waitUntil(lambda: not window.runner.active_count, timeout=10_000)
    tree = window.folders_panel.tree
    texts = [tree.topLevelItem(i).text(0) for i in range(1, 3)]  # 0: All photos
    assert any("offline, photos kept" in t for t in texts)
    assert "offline (photos kept)" in (window.last_error or "")
    assert window.isVisible()
    with qtbot.waitSignal(window.results_panel.results_ready, timeout=10_000):
        window.search_by_file(a / "beach.jpg")  # the app keeps working


def test_new_photo_is_picked_up_by_rescan_and_pause_resume(
    qtbot: QtBot,
    window: MainWindow,
    library: Library,
    encoders: Encoders,
    photo_folders: tuple[Path, Path],
) -> None:
    a, _ = photo_folders
    index_folders(qtbot, window, a)
    for i in range(20):
        write_photo(a / f"new_{i}.jpg", seed=900 + i)
    library.ingest_options = IngestOptions(workers=2, batch_size=2)
    encoders.delay_s = 0.1  # ten batches: a second or more to pause in
    with qtbot.waitSignal(window.ingest_did_finish, timeout=60_000):
        window.rescan()
        qtbot.waitUntil(
            lambda: window.status_bar.pause_button.isVisible(), timeout=30_000
        )
        window.status_bar.pause_button.click()
        assert window.status_bar.pause_button.text() == "Resume"
        window.status_bar.pause_button.click()
    qtbot.waitUntil(lambda: window.gallery_model.rowCount() == 30, timeout=10_000)


def test_gallery_sorts_by_name_and_folder(
    qtbot: QtBot, window: MainWindow, photo_folders: tuple[Path, Path]
) -> None:
    a, b = photo_folders
    index_folders(qtbot, window, a, b)
    with qtbot.waitSignal(window.index_did_change, timeout=10_000):
        window.sort_combo.setCurrentIndex(window.sort_combo.findData("name"))
    names = [p.path.name for p in window.gallery_model.photos]
    assert names == sorted(names, key=str.lower)
    with qtbot.waitSignal(window.index_did_change, timeout=10_000):
        window.sort_combo.setCurrentIndex(window.sort_combo.findData("folder"))
    folders = [p.path.parent for p in window.gallery_model.photos]  # the roots
    assert folders == sorted(folders, key=str) and len(set(folders)) == 2
    assert window.settings.gallery_sort == "folder"


def test_thumbnails_load_off_the_gui_thread(
    qtbot: QtBot, window: MainWindow, photo_folders: tuple[Path, Path]
) -> None:
    a, _ = photo_folders
    index_folders(qtbot, window, a)
    size = window.gallery_model.thumbnail_size
    qtbot.waitUntil(
        lambda: window.loader.pixmap(a / "beach.jpg", size) is not None, timeout=10_000
    )
    assert window.loader.pixmap(a / "beach.jpg", size).width() == size  # type: ignore[union-attr]


def test_drag_enter_accepts_images_only(window: MainWindow, tmp_path: Path) -> None:
    from sscq_desktop.ui.query_input import image_path_from_mime

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "notes.txt"))])
    assert image_path_from_mime(mime) is None
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "x.JPG"))])
    assert image_path_from_mime(mime) == tmp_path / "x.JPG"
    _ = QPoint


def test_near_duplicates_view_lists_groups(
    qtbot: QtBot, window: MainWindow, photo_folders: tuple[Path, Path]
) -> None:
    a, _ = photo_folders
    index_folders(qtbot, window, a)
    with qtbot.waitSignal(
        window.duplicates_view.groups_ready, timeout=10_000
    ) as blocker:
        window.duplicates_action.trigger()
    groups = blocker.args[0]
    assert [sorted(p.path.name for p in g) for g in groups] == [
        ["beach.jpg", "beach_small.jpg"]
    ]
    assert window.duplicates_view.tree.topLevelItemCount() == 1


def test_double_click_opens_a_larger_preview(
    qtbot: QtBot, window: MainWindow, photo_folders: tuple[Path, Path]
) -> None:
    a, _ = photo_folders
    index_folders(qtbot, window, a)
    photo = window.gallery_model.photos[0]
    dialog = window.show_preview(photo)
    assert dialog is not None
    with qtbot.waitSignal(dialog.image_loaded, timeout=10_000):
        pass
    assert dialog.image_label.pixmap().width() > window.gallery_model.thumbnail_size
    dialog.close()


def test_the_preview_steps_through_the_gallery_and_searches_from_the_photo_shown(
    qtbot: QtBot, window: MainWindow, photo_folders: tuple[Path, Path]
) -> None:
    a, _ = photo_folders
    index_folders(qtbot, window, a)
    photos = window.gallery_model.photos
    opened: list[PreviewDialog] = []
    show = window.dialogs.show_preview

    def record(photo: object, siblings: Sequence[object] = ()) -> PreviewDialog | None:
        dialog = show(photo, siblings)
        if dialog is not None:
            opened.append(dialog)
        return dialog

    window.dialogs.show_preview = record  # type: ignore[method-assign]
    window.gallery_view.preview_requested.emit(photos[1])  # as a double-click does
    [dialog] = opened
    assert dialog.path == photos[1].path and dialog.previous_button.isEnabled()
    assert dialog.info_label.text().startswith(f"2 of {len(photos)}")
    qtbot.keyClick(dialog, Qt.Key.Key_Right)
    with qtbot.waitSignal(dialog.image_loaded, timeout=10_000):
        pass  # the next photo, decoded by the library
    assert dialog.path == photos[2].path and dialog.windowTitle() == photos[2].path.name
    dialog.show_previous()
    dialog.show_previous()
    assert dialog.path == photos[0].path and not dialog.previous_button.isEnabled()
    with qtbot.waitSignal(window.results_panel.results_ready, timeout=10_000):
        dialog.find_similar_requested.emit(dialog.photo)
    query = window.results_panel.query
    assert query is not None and query.photo_id == photos[0].id
    dialog.close()
