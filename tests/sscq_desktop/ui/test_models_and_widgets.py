from __future__ import annotations

import sys
from pathlib import Path
from typing import cast

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from sscq_desktop.ui.errors import user_message
from sscq_desktop.ui.folders_panel import FoldersPanel
from sscq_desktop.ui.gallery_model import (
    PHOTO_ROLE,
    GalleryModel,
    plan_gallery_update,
    sort_photos,
)
from sscq_desktop.ui.library_backend import (
    FolderState,
    Hit,
    LibraryBackend,
    Photo,
    ThumbnailInfo,
)
from sscq_desktop.ui.loss_plot import LossPlot
from sscq_desktop.ui.photo_count import photo_count
from sscq_desktop.ui.results_model import ResultsModel, format_score
from sscq_desktop.ui.status_bar import format_eta
from sscq_desktop.ui.thumbnail_loader import ThumbnailLoader


class _Thumbnails:
    """The one part of `LibraryBackend` a `ThumbnailLoader` uses: where thumbnails are."""

    def __init__(self, files: dict[Path, Path] | None = None) -> None:
        self.files = files or {}

    def thumbnail(self, path: Path) -> ThumbnailInfo:
        file = self.files.get(path)
        return (
            ThumbnailInfo("unknown") if file is None else ThumbnailInfo("ready", file)
        )

    def render_image(self, path: Path, *, max_side: int) -> object:
        raise AssertionError("a photo's thumbnail is never decoded from the photo")


def _loader(files: dict[Path, Path] | None = None) -> ThumbnailLoader:
    return ThumbnailLoader(cast(LibraryBackend, _Thumbnails(files)), sync=True)


def _photos() -> list[Photo]:
    return [
        Photo(1, Path("/b/zeta.jpg"), Path("/b"), 10.0),
        Photo(2, Path("/a/Alpha.jpg"), Path("/a"), 30.0),
        Photo(3, Path("/a/beta.jpg"), Path("/a"), 20.0),
    ]


def test_sort_photos_by_date_name_and_folder() -> None:
    # Date, name and folder orders all differ (so a swapped key fails), names differ
    # only in case from their byte order, and 2 and 4 tie on date and on folder (given
    # in the wrong order, so a missing tie-break by name fails).
    photos = [
        Photo(4, Path("/a/date.jpg"), Path("/a"), 20.0),
        Photo(3, Path("/b/banana.jpg"), Path("/b"), 10.0),
        Photo(1, Path("/c/apple.jpg"), Path("/c"), 30.0),
        Photo(2, Path("/a/Cherry.jpg"), Path("/a"), 20.0),
    ]
    assert [p.photo_id for p in sort_photos(photos, "date")] == [1, 2, 4, 3]
    assert [p.photo_id for p in sort_photos(photos, "name")] == [1, 3, 2, 4]
    assert [p.photo_id for p in sort_photos(photos, "folder")] == [2, 4, 3, 1]


def test_gallery_model_without_a_view(qtbot: QtBot) -> None:
    loader = _loader()
    model = GalleryModel(loader, thumbnail_size=64)
    model.set_photos(_photos())
    assert model.rowCount() == 3
    index = model.index(1)
    assert index.data() == "Alpha.jpg"
    assert index.data(PHOTO_ROLE).photo_id == 2
    assert index.data(Qt.ItemDataRole.DecorationRole) is not None  # placeholder
    assert model.row_of(Path("/b/zeta.jpg")) == 0


def test_results_model_shows_scores_and_gets_thumbnails(
    qtbot: QtBot, tmp_path: Path
) -> None:
    image = QImage(300, 200, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.darkCyan)
    cached = tmp_path / "cache" / "x-thumbnail.jpg"  # what the library's ingest wrote
    cached.parent.mkdir()
    assert image.save(str(cached))
    path = tmp_path / "x.png"  # the photo itself: never read by the GUI
    loader = _loader({path: cached})
    model = ResultsModel(loader, thumbnail_size=64)
    model.set_hits([Hit(1, path, tmp_path, 0.5, 0.934)])
    assert model.index(0).data() == "x.png\n93% similar"
    with qtbot.waitSignal(model.dataChanged, timeout=2_000):
        model.index(0).data(Qt.ItemDataRole.DecorationRole)  # asks for the thumbnail
    pix = model.index(0).data(Qt.ItemDataRole.DecorationRole)
    assert (pix.width(), pix.height()) == (64, 42)


def test_folders_panel_marks_missing_folders(qtbot: QtBot) -> None:
    panel = FoldersPanel()
    qtbot.addWidget(panel)
    panel.set_folders(
        [FolderState(Path("/p/a"), 3), FolderState(Path("/p/b"), 1, "missing", "gone")]
    )
    assert panel.list_widget.item(0).text() == "a  —  3 photos"
    assert "offline, photos kept" in panel.list_widget.item(1).text()
    assert "gone" in panel.list_widget.item(1).toolTip()


def test_loss_plot_paints(qtbot: QtBot) -> None:
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.resize(400, 200)
    for step in range(1, 20):
        plot.add_point(step, {"total": 5 / step, "cc": float("nan")})
    assert len(plot.series["total"]) == 19 and "cc" not in plot.series
    assert not plot.grab().isNull()


def test_formatting() -> None:
    assert format_score(0.934) == "93%"
    assert (
        format_eta(75) == "01:15"
        and format_eta(3700) == "1:01:40"
        and format_eta(None) == "…"
    )
    assert [photo_count(n) for n in (0, 1, 2, 1234)] == [
        "0 photos",
        "1 photo",
        "2 photos",
        "1,234 photos",
    ]


def test_user_messages_never_show_a_traceback() -> None:
    missing = FileNotFoundError(2, "No such file", "/photos/gone")
    assert "/photos/gone is no longer there" in user_message(missing)
    ArtifactError = type("ArtifactError", (ValueError,), {})
    assert user_message(ArtifactError("codebooks contain NaN")).startswith(
        "The model file cannot be used"
    )
    assert "Traceback" not in user_message(RuntimeError("boom"))


class _Emitter(QObject):
    fired = Signal(object)


def test_pyside_release_does_not_leak_true_on_emit(qtbot: QtBot) -> None:
    """A canary for the installed PySide6, not a test of this project's code.

    PySide6 6.12.0 drops one reference to True on every `Signal.emit`; on Python 3.11,
    where True is mortal, the interpreter then aborts ("bool_dealloc"). pyproject.toml
    excludes that release (``PySide6-Essentials>=6.6,!=6.12.0`` for Python < 3.12);
    this fails if a release with the same leak is installed. From Python 3.12 True is
    immortal, its reference count does not move and the leak is harmless.
    """
    emitter = _Emitter()
    before = sys.getrefcount(True)
    for _ in range(200):
        emitter.fired.emit(1)
    assert abs(sys.getrefcount(True) - before) < 50


def _p(i: int, mtime: float = 0.0) -> Photo:
    return Photo(i, Path(f"/a/{i:03d}.jpg"), Path("/a"), mtime)


def test_gallery_update_plans_row_edits() -> None:
    base = [_p(i) for i in range(10)]
    new = [_p(i) for i in (0, 1, 20, 21, 2, 3, 5, 6, 7, 8, 9, 22)]  # 4 gone, 3 new
    plan = plan_gallery_update(base, new)
    assert not plan.reset
    assert plan.removals == [(4, 4)]
    assert [(row, [p.photo_id for p in run]) for row, run in plan.insertions] == [
        (2, [20, 21]),
        (11, [22]),
    ]
    assert plan_gallery_update(base, list(base)).is_empty
    assert plan_gallery_update(base, base[::-1]).reset  # a new sort order
    moved = plan_gallery_update(base, [_p(0, mtime=5.0)] + base[1:])
    assert moved.removals == [(0, 0)] and [r for r, _ in moved.insertions] == [0]


def test_gallery_model_applies_updates_row_by_row(
    qtbot: QtBot, qtmodeltester: ModelTester
) -> None:
    model = GalleryModel(_loader(), thumbnail_size=64)
    qtmodeltester.check(model)
    base = [_p(i) for i in range(10)]
    model.set_photos(base)
    resets: list[bool] = []
    inserted: list[tuple[int, int]] = []
    model.modelReset.connect(lambda: resets.append(True))
    model.rowsInserted.connect(
        lambda _parent, first, last: inserted.append((first, last))
    )
    new = [_p(i) for i in (30, 0, 1, 2, 3, 5, 6, 7, 31, 8, 9)]
    model.apply_update(plan_gallery_update(base, new))
    assert model.photos == new and not resets
    assert inserted == [(0, 0), (8, 8)]
    assert (
        model.row_of(Path("/a/031.jpg")) == 8
        and model.row_of(Path("/a/004.jpg")) is None
    )
    stale = plan_gallery_update(base, base[:3])  # made from rows no longer shown
    model.apply_update(stale)
    assert model.photos == base[:3] and resets == [True]
