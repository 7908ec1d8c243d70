"""The main window over a real library: indexing, searches, pastes, duplicates, preview."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import Encoders, index_folders, write_photo, write_resized_copy
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication, QImage
from pytestqt.qtbot import QtBot

from sscq_desktop.library.ingest.ingest import IngestOptions
from sscq_desktop.library.library import Library
from sscq_desktop.library.records import SimilarityBand
from sscq_desktop.ui.main_window import MainWindow


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


def test_pasted_files_are_deleted_when_replaced_and_on_close(
    qtbot: QtBot, window: MainWindow, photo_folders: tuple[Path, Path]
) -> None:
    a, _ = photo_folders
    index_folders(qtbot, window, a)
    panel = window.results_panel

    def paste(name: str) -> Path:
        mime = _encoded(a / name)  # what the clipboard holds (kept by the test)
        with qtbot.waitSignal(panel.results_ready, timeout=10_000):
            assert window.search_mime(mime)
        assert panel.query is not None and panel.query.path is not None
        return panel.query.path

    first = paste("a_05.jpg")
    assert first.is_file()  # kept while it is the query: the slider re-runs it
    with qtbot.waitSignal(panel.results_ready, timeout=10_000):
        panel.set_min_band(SimilarityBand.RELATED)
    second = paste("a_06.jpg")
    assert not first.exists() and second.is_file()
    with qtbot.waitSignal(panel.results_ready, timeout=10_000):
        window.search_by_file(a / "a_01.jpg")  # a real file replaces the pasted one
    assert not second.exists()
    third = paste("a_07.jpg")
    QGuiApplication.clipboard().setImage(QImage(str(a / "a_02.jpg")))
    with qtbot.waitSignal(panel.results_ready, timeout=10_000):
        window.paste_action.trigger()  # pixels replace it, and write no file
    assert not third.exists() and list(third.parent.iterdir()) == []
    fourth = paste("a_04.jpg")
    window.close()
    assert not fourth.exists() and not fourth.parent.exists()


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
