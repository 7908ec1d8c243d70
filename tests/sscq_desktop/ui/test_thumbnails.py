"""The GUI shows the thumbnails the library made and never decodes a photo itself.

Issue #14, item 5: thumbnails come from the ingest's cache, the preview and images from
outside the library are decoded by the library (pixel cap, timeout, crash markers), and
HEIC photos the library indexed are shown. `image_file_reads` records every file the
GUI hands to Qt's image decoders, and the photos are replaced by garbage after ingest,
so a GUI that opened a photo would either be caught or show nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
from conftest import index_directly, write_photo, write_resized_copy
from PIL import Image
from PySide6.QtCore import QMimeData, QSize, Qt, QUrl
from PySide6.QtGui import QColor, QImage, QImageReader, QPixmap
from pytestqt.qtbot import QtBot

from sscq_desktop.library.images.renderer import RenderedImage, ThumbnailStatus
from sscq_desktop.library.library import Library
from sscq_desktop.library.progress import run_job
from sscq_desktop.ui.gallery_model import GalleryModel
from sscq_desktop.ui.main_window import MainWindow
from sscq_desktop.ui.settings import AppSettings
from sscq_desktop.ui.tasks import TaskRunner
from sscq_desktop.ui.thumbnail_loader import ThumbnailLoader

SIZE = 96  # the gallery's thumbnail side in these tests
DECORATION = Qt.ItemDataRole.DecorationRole


@pytest.fixture
def image_file_reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file path handed to QImageReader, QImage or QPixmap, from now on.

    Wraps their constructors and file-loading methods in place (the classes stay the
    same, so `isinstance` checks in the code under test still hold).
    """
    reads: list[Path] = []

    def spy(cls: type, name: str) -> None:
        original = getattr(cls, name)

        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            if args and isinstance(args[0], str | os.PathLike):
                reads.append(Path(args[0]))
            return original(self, *args, **kwargs)

        monkeypatch.setattr(cls, name, wrapper)

    for cls, names in (
        (QImageReader, ("__init__", "setFileName")),
        (QImage, ("__init__", "load")),
        (QPixmap, ("__init__", "load")),
    ):
        for name in names:
            spy(cls, name)
    return reads


@pytest.fixture
def indexed(library: Library) -> Callable[[Path], Library]:
    """Index a folder with the real library (no GUI involved)."""

    def index(folder: Path) -> Library:
        index_directly(library, folder)
        return library

    return index


@pytest.fixture
def open_window(
    qtbot: QtBot, runner: TaskRunner
) -> Iterator[Callable[..., MainWindow]]:
    """A window over a real `Library`, folders not watched, its gallery loaded."""
    windows: list[MainWindow] = []

    def make(library: Library) -> MainWindow:
        settings = AppSettings(
            first_run_done=True, thumbnail_size=SIZE, watch_folders=False
        )
        window = MainWindow(library, runner, settings)
        windows.append(window)
        qtbot.addWidget(window)
        window.show()
        with qtbot.waitSignal(window.index_did_change, timeout=10_000):
            window.refresh_library()
        return window

    yield make
    for window in windows:
        window.shutdown()


def _garble(path: Path) -> None:
    """Replace a photo by garbage of the same size and time: the library sees no change."""
    st = path.stat()
    path.write_bytes(b"garbage!" + os.urandom(st.st_size - 8))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _under(reads: list[Path], folder: Path) -> list[Path]:
    return [p for p in reads if p.absolute().is_relative_to(folder)]


def _decoration(model: Any, row: int) -> QPixmap:
    return cast(QPixmap, model.index(row).data(DECORATION))


def _all_shown(model: Any, size: QSize) -> bool:
    """Every row shows a thumbnail of the photos' 4:3 shape, not a square placeholder."""
    return all(
        _decoration(model, row).size() == size for row in range(model.rowCount())
    )


def test_thumbnails_and_preview_come_from_the_library_not_the_photos(
    qtbot: QtBot,
    tmp_path: Path,
    indexed: Callable[[Path], Library],
    open_window: Callable[..., MainWindow],
    image_file_reads: list[Path],
) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    beach = write_photo(root / "beach.jpg", seed=1)  # 200 x 150
    write_resized_copy(beach, root / "beach_copy.jpg", 1.0)
    for i in range(4):
        write_photo(root / f"p_{i}.jpg", seed=10 + i)
    library = indexed(root)
    for photo in root.iterdir():
        _garble(photo)  # from now on, decoding a photo gives nothing to show

    window = open_window(library)
    gallery = window.gallery_model
    assert gallery.rowCount() == 6
    qtbot.waitUntil(lambda: _all_shown(gallery, QSize(SIZE, 72)), timeout=10_000)

    with qtbot.waitSignal(window.results_panel.results_ready, timeout=10_000):
        window.find_similar(gallery.photos[gallery.row_of(beach) or 0])
    results = window.results_panel.model
    assert results.rowCount() == 5
    qtbot.waitUntil(lambda: _all_shown(results, QSize(SIZE, 72)), timeout=10_000)

    with qtbot.waitSignal(window.duplicates_view.groups_ready, timeout=10_000):
        window.show_duplicates()
    group = window.duplicates_view.tree.topLevelItem(0)
    assert group is not None and group.childCount() == 2
    qtbot.waitUntil(
        lambda: all(
            group.child(i).icon(0).pixmap(72, 72).size() == QSize(72, 54)  # type: ignore[union-attr]
            for i in range(2)
        ),
        timeout=10_000,
    )

    dialog = window.show_preview(gallery.photos[0])
    assert dialog is not None
    qtbot.waitUntil(lambda: not dialog.image_label.pixmap().isNull(), timeout=10_000)
    qtbot.waitUntil(lambda: "thumbnail" in dialog.status_label.text(), timeout=10_000)
    assert "not an image" in dialog.status_label.text()  # the library's reason
    dialog.close()

    assert _under(image_file_reads, root) == []
    assert _under(image_file_reads, library.paths.thumbnails_dir)  # the spy works


def test_a_heic_photo_shows_its_thumbnail_and_preview(
    qtbot: QtBot,
    tmp_path: Path,
    indexed: Callable[[Path], Library],
    open_window: Callable[..., MainWindow],
    image_file_reads: list[Path],
) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    root = tmp_path / "photos"
    root.mkdir()
    rng = np.random.default_rng(3)
    grid = rng.integers(0, 256, (3, 4, 3), dtype=np.uint8)
    heic = root / "IMG_0001.HEIC"
    Image.fromarray(grid).resize((400, 300)).save(heic, format="HEIF", quality=90)
    write_photo(root / "other.jpg", seed=4)
    library = indexed(root)
    assert library.stats().ok == 2  # the library reads HEIC (pillow-heif)

    window = open_window(library)
    row = window.gallery_model.row_of(heic)
    assert row is not None
    qtbot.waitUntil(  # the thumbnail, not a square placeholder
        lambda: _decoration(window.gallery_model, row).size() == QSize(SIZE, 72),
        timeout=10_000,
    )
    assert not _decoration(window.gallery_model, row).isNull()
    assert window.loader.state(heic, SIZE) == "ready"

    dialog = window.show_preview(window.gallery_model.photos[row])
    assert dialog is not None
    with qtbot.waitSignal(dialog.image_loaded, timeout=10_000):
        pass
    assert dialog.image_label.pixmap().width() > SIZE
    dialog.close()
    assert _under(image_file_reads, root) == []


def test_an_image_from_outside_is_decoded_by_the_library(
    qtbot: QtBot,
    tmp_path: Path,
    indexed: Callable[[Path], Library],
    open_window: Callable[..., MainWindow],
    image_file_reads: list[Path],
) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    for i in range(3):
        write_photo(root / f"p_{i}.jpg", seed=20 + i)
    window = open_window(indexed(root))
    outside = tmp_path / "outside"
    outside.mkdir()
    dropped = write_photo(outside / "query.jpg", seed=20, size=(300, 200))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(dropped))])

    with qtbot.waitSignal(window.results_panel.results_ready, timeout=10_000):
        assert window.search_mime(mime)

    icon = window.results_panel.query_icon  # 112 x 75 (give or take rounding)
    qtbot.waitUntil(
        lambda: icon.pixmap().width() == 112 and 70 < icon.pixmap().height() < 80,
        timeout=10_000,
    )
    assert _under(image_file_reads, outside) == []


def test_a_pasted_encoded_image_is_decoded_by_the_library(
    qtbot: QtBot,
    tmp_path: Path,
    indexed: Callable[[Path], Library],
    open_window: Callable[..., MainWindow],
    image_file_reads: list[Path],
) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    source = write_photo(root / "p_0.jpg", seed=30)
    window = open_window(indexed(root))
    data = source.read_bytes()  # as another app would offer it: encoded, not decoded
    mime = QMimeData()
    mime.setData("image/jpeg", data)

    with qtbot.waitSignal(window.results_panel.results_ready, timeout=10_000) as hits:
        assert window.search_mime(mime)

    query = window.results_panel.query
    assert query is not None and query.photo_id is None
    assert query.path.suffix == ".jpg" and query.path.read_bytes() == data
    assert hits.args[0][0].path == source  # the library decoded the pasted bytes
    icon = window.results_panel.query_icon
    qtbot.waitUntil(lambda: icon.pixmap().size() == QSize(112, 84), timeout=10_000)
    assert query.path not in image_file_reads


def test_a_changed_photo_shows_its_new_thumbnail_after_ingest(
    qtbot: QtBot,
    tmp_path: Path,
    indexed: Callable[[Path], Library],
    open_window: Callable[..., MainWindow],
) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    photo = root / "a.jpg"
    Image.new("RGB", (200, 150), (220, 20, 20)).save(photo)
    write_photo(root / "b.jpg", seed=5)
    window = open_window(indexed(root))
    gallery = window.gallery_model

    def centre_of_a() -> QColor:
        row = gallery.row_of(photo)
        assert row is not None
        return _decoration(gallery, row).toImage().pixelColor(48, 36)

    qtbot.waitUntil(lambda: centre_of_a().red() > 180, timeout=10_000)
    Image.new("RGB", (160, 120), (20, 20, 220)).save(photo)

    with qtbot.waitSignal(window.ingest_did_finish, timeout=30_000):
        window.rescan()
    qtbot.waitUntil(lambda: not window.runner.active_count, timeout=10_000)
    qtbot.waitUntil(lambda: centre_of_a().blue() > 180, timeout=10_000)


@pytest.fixture
def asked(library: Library, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The paths whose thumbnail status `library` is asked for, from now on."""
    paths: list[Path] = []
    status = library.thumbnail_status

    def recording(path: Any) -> ThumbnailStatus:
        paths.append(Path(path))
        return status(path)

    monkeypatch.setattr(library, "thumbnail_status", recording)
    return paths


@pytest.fixture
def rendered(library: Library, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files `library` decodes for display (`render_image`), from now on."""
    paths: list[Path] = []
    render = library.render_image

    def recording(path: Any, *, max_side: int) -> RenderedImage:
        paths.append(Path(path))
        return render(path, max_side=max_side)

    monkeypatch.setattr(library, "render_image", recording)
    return paths


@pytest.fixture
def pending_and_failed(library: Library, tmp_path: Path) -> tuple[Path, Path]:
    """``waiting.jpg`` found by a scan, not read yet, and ``broken.jpg`` that failed."""
    root = tmp_path / "photos"
    root.mkdir()
    broken = root / "broken.jpg"
    broken.write_bytes(b"corrupt: not a JPEG at all")
    index_directly(library, root)
    waiting = root / "waiting.jpg"
    Image.new("RGB", (120, 90), (0, 128, 0)).save(waiting)
    run_job(library.scan())  # found, to be read by the next ingest
    assert library.thumbnail_status(waiting).state == "pending"
    assert library.thumbnail_status(broken).state == "failed"
    return waiting, broken


def _gallery(library: Library, loader: ThumbnailLoader) -> GalleryModel:
    """A gallery of every photo the library knows, whatever its state (by name)."""
    model = GalleryModel(loader, thumbnail_size=64)
    model.set_photos(sorted(library.photos(status=None), key=lambda p: p.path.name))
    return model


def test_pending_and_failed_placeholders_differ_and_refresh(
    qtbot: QtBot,
    library: Library,
    pending_and_failed: tuple[Path, Path],
    rendered: list[Path],
) -> None:
    waiting, broken = pending_and_failed
    loader = ThumbnailLoader(library, sync=True)
    model = _gallery(library, loader)
    assert [p.path for p in model.photos] == [broken, waiting]

    failed, pending = _decoration(model, 0), _decoration(model, 1)

    assert pending.toImage() == loader.placeholder(64).toImage()
    assert failed.toImage() == loader.placeholder(64, failed=True).toImage()
    assert pending.toImage() != failed.toImage()
    ((_, reason),) = library.errors()
    assert reason in model.index(0).data(Qt.ItemDataRole.ToolTipRole)
    assert "not made yet" in model.index(1).data(Qt.ItemDataRole.ToolTipRole)
    assert rendered == []  # a library photo is never decoded for display

    run_job(library.ingest())  # ingest made it
    with qtbot.waitSignal(model.dataChanged, timeout=2_000):
        loader.retry_unavailable()
    shown = _decoration(model, 1)
    assert shown.size() == QSize(64, 48)
    assert loader.state(waiting, 64) == "ready"
    assert rendered == []


def test_a_refresh_asks_again_for_pending_thumbnails_only(
    qtbot: QtBot,
    library: Library,
    pending_and_failed: tuple[Path, Path],
    asked: list[Path],
) -> None:
    # Each refresh (watch batch, ingest) calls `retry_unavailable`: asking again for a
    # failed thumbnail would remake it, and a remake that hangs costs a decode each time.
    waiting, broken = pending_and_failed
    loader = ThumbnailLoader(library, sync=True)
    model = _gallery(library, loader)

    def look() -> None:  # as a view showing both rows does
        for row in range(model.rowCount()):
            _decoration(model, row)

    look()
    assert sorted(asked) == sorted([waiting, broken])
    assert loader.state(broken, 64) == "failed"

    for _ in range(3):
        asked.clear()
        with qtbot.waitSignal(loader.thumbnails_reset, timeout=2_000):
            loader.retry_unavailable()
        look()  # the views ask again
        assert asked == [waiting]
        assert loader.state(broken, 64) == "failed"

    waiting.write_bytes(b"unreadable after all")
    run_job(library.update())  # read, and recorded as failed
    asked.clear()
    loader.retry_unavailable()
    look()
    assert asked == [waiting]
    assert loader.state(waiting, 64) == "failed"
    asked.clear()
    with qtbot.assertNotEmitted(loader.thumbnails_reset):
        loader.retry_unavailable()  # nothing pending any more: nothing to ask
    look()
    assert asked == []

    loader.forget([broken])  # the photo changed: its thumbnail is asked for afresh
    look()
    assert asked == [broken]


def test_forgotten_photos_are_loaded_again(
    qtbot: QtBot, library: Library, tmp_path: Path
) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    photo = root / "photo.jpg"
    Image.new("RGB", (80, 80), (255, 0, 0)).save(photo)
    index_directly(library, root)
    loader = ThumbnailLoader(library, sync=True)
    assert loader.thumbnail(photo, 64).size() == QSize(64, 64)
    Image.new("RGB", (80, 40), (0, 0, 255)).save(photo)  # the photo changed
    run_job(library.update())  # and ingest made its new thumbnail
    assert library.thumbnail_status(photo).state == "ready"
    assert loader.thumbnail(photo, 64).size() == QSize(64, 64)  # still cached
    loader.forget([photo])
    assert loader.thumbnail(photo, 64).size() == QSize(64, 32)


def test_a_query_from_outside_is_rendered_only_when_asked(
    qtbot: QtBot, library: Library, tmp_path: Path, rendered: list[Path]
) -> None:
    outside = tmp_path / "query.png"
    Image.new("RGB", (240, 120), (90, 30, 200)).save(outside)
    loader = ThumbnailLoader(library, sync=True)
    assert loader.thumbnail(outside, 64).size() == QSize(64, 64)  # a placeholder
    assert loader.state(outside, 64) == "failed" and rendered == []
    assert loader.thumbnail(outside, 112, render=True).size() == QSize(112, 56)
    assert rendered == [outside]
