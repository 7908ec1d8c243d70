"""Where file dialogs open, and why the first-run choice of Pictures can be disabled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import platformdirs
import pytest
from PySide6.QtWidgets import QFileDialog, QWidget
from pytestqt.qtbot import QtBot

from sscq_desktop.paths import browse_start_dir
from sscq_desktop.ui.first_run_dialog import FirstRunDialog
from sscq_desktop.ui.query_input import QueryInput
from sscq_desktop.ui.tasks import TaskRunner


@pytest.fixture
def pictures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "Pictures"
    folder.mkdir()
    monkeypatch.setattr(platformdirs, "user_pictures_dir", lambda: str(folder))
    monkeypatch.chdir(tmp_path)  # the working folder is never where a dialog opens
    return folder


def test_browsing_starts_in_pictures_else_home(
    pictures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert browse_start_dir() == pictures
    pictures.rmdir()
    monkeypatch.setattr(Path, "home", lambda: pictures.parent / "home")
    assert browse_start_dir() == pictures.parent / "home"


def test_search_by_image_opens_its_file_dialog_in_pictures(
    qtbot: QtBot,
    pictures: Path,
    runner: TaskRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened: list[str] = []

    def fake_dialog(
        parent: QWidget, caption: str, folder: str, *a: Any
    ) -> tuple[str, str]:
        opened.append(folder)
        return "", ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", fake_dialog)
    widget = QWidget()
    qtbot.addWidget(widget)
    QueryInput(runner, parent=widget).choose_file()
    assert opened == [str(pictures)]


def test_first_run_says_why_it_cannot_use_a_missing_pictures_folder(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "Pictures"
    monkeypatch.setattr(platformdirs, "user_pictures_dir", lambda: str(missing))
    dialog = FirstRunDialog(missing)
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.use_button.isEnabled()
    assert dialog.why_label.isVisible()
    why = dialog.why_label.text()
    assert why.startswith(f"{missing} does not exist on this computer")
    assert dialog.use_button.toolTip() == why
    missing.mkdir()
    ready = FirstRunDialog(missing)
    qtbot.addWidget(ready)
    ready.show()
    assert ready.use_button.isEnabled() and not ready.why_label.isVisible()
