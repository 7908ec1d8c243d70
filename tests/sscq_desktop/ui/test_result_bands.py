"""Search results in the real window read as bands that mean the same for every query.

Issue #15, point 1: copies showed as much "% similar" as unrelated photos, the slider cut
at a number that meant something different for every query, a pasted image scored 0%, and
the CLI and the GUI gave different numbers for the same pair.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import index_folders
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage
from pytestqt.qtbot import QtBot

from sscq_desktop import cli
from sscq_desktop.library.records import SearchHit, SimilarityBand
from sscq_desktop.ui.main_window import MainWindow
from sscq_desktop.ui.results_panel import BAND_CHOICES


def _search(qtbot: QtBot, window: MainWindow, path: Path) -> list[SearchHit]:
    photo = window.library.photo_by_path(path)
    assert photo is not None
    with qtbot.waitSignal(window.results_panel.results_ready, timeout=10_000) as got:
        window.find_similar(photo)
    hits: list[SearchHit] = got.args[0]
    return hits


def test_copies_read_as_copies_and_the_band_cut_keeps_only_them(
    qtbot: QtBot, window: MainWindow, photo_folders: tuple[Path, Path]
) -> None:
    a, b = photo_folders
    index_folders(qtbot, window, a, b)
    panel = window.results_panel
    assert [panel.band_combo.itemText(i) for i in range(panel.band_combo.count())] == [
        label for label, _ in BAND_CHOICES
    ]
    hits = _search(qtbot, window, a / "beach.jpg")
    copies = {a / "beach_small.jpg", b / "beach_copy.jpg"}
    assert {h.path for h in hits[:2]} == copies
    assert [h.band for h in hits[:2]] == [SimilarityBand.COPY] * 2
    assert all(h.band is not SimilarityBand.COPY for h in hits[2:])
    assert hits[0].score > hits[-1].score  # a probability, highest for the copies
    # The list says the band, the tooltip what the band and the percentage mean.
    assert panel.model.index(0).data().endswith("\nCopy")
    tip = panel.model.index(0).data(Qt.ItemDataRole.ToolTipRole)
    assert "Copy: the same photo, resized or re-encoded" in tip
    assert "same kind of photo as the query, measured on labeled test photos" in tip

    with qtbot.waitSignal(panel.results_ready, timeout=10_000) as got:
        panel.band_combo.setCurrentIndex(len(BAND_CHOICES) - 1)  # "Copies only"
    assert panel.min_band is SimilarityBand.COPY
    assert {h.path for h in got.args[0]} == copies
    assert panel.model.rowCount() == 2

    # Another query in the same library: the same cut keeps its copies, and only them.
    others = _search(qtbot, window, a / "a_03.jpg")
    assert others == []  # a_03 has no copy in the library


def test_a_pasted_image_is_scored_like_the_photo_it_shows(
    qtbot: QtBot, window: MainWindow, photo_folders: tuple[Path, Path]
) -> None:
    a, _ = photo_folders
    index_folders(qtbot, window, a)
    panel = window.results_panel
    QGuiApplication.clipboard().setImage(QImage(str(a / "a_05.jpg")))
    with qtbot.waitSignal(panel.results_ready, timeout=10_000) as got:
        window.paste_action.trigger()
    top = got.args[0][0]
    assert top.path == a / "a_05.jpg"
    assert top.band is SimilarityBand.COPY and top.score > 0.5  # not 0%
    assert panel.model.index(0).data().endswith("\nCopy")


def test_the_cli_and_the_window_give_the_same_numbers_for_the_same_pair(
    qtbot: QtBot,
    window: MainWindow,
    photo_folders: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, b = photo_folders
    index_folders(qtbot, window, a, b)
    shown = _search(qtbot, window, a / "beach.jpg")
    assert cli.main(["similar", str(a / "beach.jpg"), "--top", "5", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [
        (Path(h["path"]), h["distance"], h["score"], h["band"]) for h in printed
    ] == [
        (h.path, h.distance, h.score, None if h.band is None else h.band.slug)
        for h in shown[:5]
    ]
