"""Qt models and small widgets over the library's records, without a window."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import index_directly, write_photo
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QImageReader
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from sscq_desktop.library.images.image_loader import ImageLoadError
from sscq_desktop.library.library import Library
from sscq_desktop.library.models.model_manager import NoModelError
from sscq_desktop.library.records import (
    FolderId,
    FolderOverview,
    PhotoId,
    PhotoRecord,
    SearchHit,
    SimilarityBand,
)
from sscq_desktop.library.retrain.trainer_process import RetrainError
from sscq_desktop.model.artifact import ArtifactError
from sscq_desktop.model.encoder import EncoderError, ModelOutputError
from sscq_desktop.ui.errors import user_message
from sscq_desktop.ui.folders_panel import FoldersPanel
from sscq_desktop.ui.gallery_model import (
    PHOTO_ROLE,
    GalleryModel,
    plan_gallery_update,
    sort_photos,
)
from sscq_desktop.ui.learning_curve import LearningCurve
from sscq_desktop.ui.photo_count import photo_count
from sscq_desktop.ui.results_model import ResultsModel, format_score
from sscq_desktop.ui.status_bar import MODEL_LABEL_MAX_WIDTH, StatusBar, format_eta
from sscq_desktop.ui.thumbnail_loader import ThumbnailLoader


@pytest.fixture
def loader(library: Library) -> Iterator[ThumbnailLoader]:
    """The real library's thumbnails, loaded inline (any other file: a placeholder)."""
    yield ThumbnailLoader(library, sync=True)


def _photo(
    photo_id: int, path: str, *, folder: int = 1, mtime_ns: int = 0
) -> PhotoRecord:
    return PhotoRecord(
        PhotoId(photo_id), FolderId(folder), Path(path), 1_000, mtime_ns,
        f"key{photo_id}", 96, 64, None, "ok", None,
    )  # fmt: skip


def _photos() -> list[PhotoRecord]:
    return [
        _photo(1, "/b/zeta.jpg", folder=2, mtime_ns=10),
        _photo(2, "/a/Alpha.jpg", mtime_ns=30),
        _photo(3, "/a/beta.jpg", mtime_ns=20),
    ]


def test_sort_photos_by_date_name_and_folder() -> None:
    # Date, name and folder orders all differ (so a swapped key fails), names differ
    # only in case from their byte order, and 2 and 4 tie on date and on folder (given
    # in the wrong order, so a missing tie-break by name fails). The roots' ids are not
    # in the roots' order: sorting by folder id fails too.
    roots = {FolderId(1): Path("/b"), FolderId(2): Path("/a"), FolderId(3): Path("/c")}
    photos = [
        _photo(4, "/a/date.jpg", folder=2, mtime_ns=20),
        _photo(3, "/b/banana.jpg", folder=1, mtime_ns=10),
        _photo(1, "/c/apple.jpg", folder=3, mtime_ns=30),
        _photo(2, "/a/Cherry.jpg", folder=2, mtime_ns=20),
    ]
    assert [p.id for p in sort_photos(photos, "date", roots=roots)] == [1, 2, 4, 3]
    assert [p.id for p in sort_photos(photos, "name", roots=roots)] == [1, 3, 2, 4]
    assert [p.id for p in sort_photos(photos, "folder", roots=roots)] == [2, 4, 3, 1]


def test_gallery_model_without_a_view(qtbot: QtBot, loader: ThumbnailLoader) -> None:
    model = GalleryModel(loader, thumbnail_size=64)
    model.set_photos(_photos())
    assert model.rowCount() == 3
    index = model.index(1)
    assert index.data() == "Alpha.jpg"
    assert index.data(PHOTO_ROLE).id == 2
    assert index.data(Qt.ItemDataRole.DecorationRole) is not None  # placeholder
    assert model.row_of(Path("/b/zeta.jpg")) == 0


def test_results_model_shows_scores_and_gets_thumbnails(
    qtbot: QtBot, library: Library, loader: ThumbnailLoader, tmp_path: Path
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    path = write_photo(folder / "x.jpg", seed=8, size=(300, 200))
    index_directly(library, folder)
    photo = library.photo_by_path(path)
    status = library.thumbnail_status(path)
    assert photo is not None and status.path is not None
    cached = QImageReader(str(status.path)).size()  # what the library's ingest wrote
    model = ResultsModel(loader, thumbnail_size=64)
    hit = SearchHit(
        photo.id, path, 0.5, "tiny-test-model", 0.934, band=SimilarityBand.NEAR_COPY
    )
    model.set_hits([hit])
    assert model.index(0).data() == "x.jpg\nNear copy"
    tip = model.index(0).data(Qt.ItemDataRole.ToolTipRole)
    assert "Near copy: the same photo, edited" in tip and "Same kind 93%" in tip
    assert "offline" not in tip
    with qtbot.waitSignal(model.dataChanged, timeout=2_000):
        model.index(0).data(Qt.ItemDataRole.DecorationRole)  # asks for the thumbnail
    pix = model.index(0).data(Qt.ItemDataRole.DecorationRole)
    assert pix.width() == 64  # fitted, not a 64 x 64 placeholder
    assert abs(pix.height() - 64 * cached.height() / cached.width()) <= 1
    assert pix.toImage().pixelColor(32, pix.height() // 2) != QColor(0, 0, 0, 0)
    model.set_hits(
        [SearchHit(photo.id, path, 0.9, "tiny-test-model", 0.1, offline=True)]
    )
    assert model.index(0).data() == "x.jpg\nLess similar"  # farther than any band
    assert "folder is offline" in model.index(0).data(Qt.ItemDataRole.ToolTipRole)


def test_folders_panel_marks_offline_folders(qtbot: QtBot) -> None:
    panel = FoldersPanel()
    qtbot.addWidget(panel)
    panel.set_folders(
        [
            FolderOverview(FolderId(1), Path("/p/a"), 3),
            FolderOverview(FolderId(2), Path("/p/b"), 1, "not found (unplugged)"),
        ]
    )
    a, b = panel.item_of(Path("/p/a")), panel.item_of(Path("/p/b"))
    assert a is not None and b is not None
    assert a.text(0) == "a  —  3 photos"
    assert b.text(0) == "b  —  1 photo  (offline, photos kept)"
    tip = b.toolTip(0)
    assert "/p/b is offline: not found (unplugged). Its photos are kept" in tip
    assert "offline" not in a.toolTip(0)
    assert panel.tree.topLevelItem(0).text(0) == "All photos  —  4 photos"


def test_status_bar_names_the_model_and_says_when_there_is_none(
    qtbot: QtBot, library: Library
) -> None:
    bar = StatusBar()
    qtbot.addWidget(bar)
    bar.set_model(library.active_model(), "CPU")
    assert bar.model_label.text() == "Model: Built-in model, 32 bits"
    assert bar.provider_label.text() == "CPU"
    bar.set_model(None, "")
    assert bar.model_label.text().startswith("No model")
    # However long a text, the label never grows past its width (nor the window).
    bar.model_label.setText("x" * 500)
    assert bar.model_label.sizeHint().width() > MODEL_LABEL_MAX_WIDTH
    bar.set_model(library.active_model(), "CPU")
    assert bar.model_label.width() <= MODEL_LABEL_MAX_WIDTH


def test_learning_curve_paints_one_curve_and_skips_missing_losses(
    qtbot: QtBot,
) -> None:
    plot = LearningCurve()
    qtbot.addWidget(plot)
    plot.resize(400, 200)
    empty = plot.grab().toImage()
    for step in range(1, 20):
        plot.add_point(step * 128, 5 / step)
    plot.add_point(20 * 128, float("nan"))
    plot.add_point(21 * 128, None)
    assert len(plot.points) == 19 and plot.points[0] == (128.0, 5.0)
    assert plot.grab().toImage() != empty  # the curve was drawn
    plot.clear()
    assert plot.points == []


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
    assert user_message(ArtifactError("codebooks contain NaN")).startswith(
        "The model file cannot be used: codebooks contain NaN."
    )
    assert user_message(ImageLoadError("truncated")) == (
        "The image cannot be opened: truncated."
    )
    bad_output = ModelOutputError("m", "NaN in its embedding")  # an EncoderError
    assert user_message(bad_output).startswith("The model could not run:")
    assert user_message(EncoderError("boom")) == "The model could not run: boom"
    assert user_message(RetrainError("the trainer exited with code 3")) == (
        "Training failed: the trainer exited with code 3. The active model is "
        "unchanged."
    )
    assert user_message(NoModelError("none")).startswith("There is no model")
    assert "Traceback" not in user_message(RuntimeError("boom"))


def test_user_messages_go_by_class_not_by_name() -> None:
    # The library's exceptions are told apart by their classes: another module's
    # exception that only shares a name is not a model file problem.
    lookalike = type("ArtifactError", (RuntimeError,), {})
    assert user_message(lookalike("x")) == "Something went wrong: x"
    assert issubclass(ArtifactError, ValueError)  # checked before plain ValueErrors


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


def _p(i: int, mtime_ns: int = 0) -> PhotoRecord:
    return _photo(i, f"/a/{i:03d}.jpg", mtime_ns=mtime_ns)


def test_gallery_update_plans_row_edits() -> None:
    base = [_p(i) for i in range(10)]
    new = [_p(i) for i in (0, 1, 20, 21, 2, 3, 5, 6, 7, 8, 9, 22)]  # 4 gone, 3 new
    plan = plan_gallery_update(base, new)
    assert not plan.reset
    assert plan.removals == [(4, 4)]
    assert [(row, [p.id for p in run]) for row, run in plan.insertions] == [
        (2, [20, 21]),
        (11, [22]),
    ]
    assert plan_gallery_update(base, list(base)).is_empty
    assert plan_gallery_update(base, base[::-1]).reset  # a new sort order
    moved = plan_gallery_update(base, [_p(0, mtime_ns=5)] + base[1:])
    assert moved.removals == [(0, 0)] and [r for r, _ in moved.insertions] == [0]


def test_gallery_model_applies_updates_row_by_row(
    qtbot: QtBot, qtmodeltester: ModelTester, loader: ThumbnailLoader
) -> None:
    model = GalleryModel(loader, thumbnail_size=64)
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
