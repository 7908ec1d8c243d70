"""The bootstrap: first-run dialog, command-line arguments, and `app.main()` for real."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import platformdirs
import pytest
from conftest import gallery_names, write_photo
from pytestqt.qtbot import QtBot

from sscq_desktop import app
from sscq_desktop.library.library import Library
from sscq_desktop.paths import AppPaths, app_paths
from sscq_desktop.ui.first_run_dialog import FirstRunDialog
from sscq_desktop.ui.main_window import MainWindow
from sscq_desktop.ui.settings import AppSettings, load_settings
from sscq_desktop.ui.tasks import TaskRunner

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def paths() -> AppPaths:
    return app_paths().ensure()


@pytest.fixture
def new_user_window(
    qtbot: QtBot, library: Library, runner: TaskRunner
) -> Iterator[MainWindow]:
    """A window as on the very first start: no folder chosen yet."""
    win = MainWindow(library, runner, AppSettings(thumbnail_size=96))
    qtbot.addWidget(win)
    win.show()
    yield win
    win.shutdown()


def test_first_run_proposes_the_pictures_folder_and_indexes_it(
    qtbot: QtBot,
    new_user_window: MainWindow,
    paths: AppPaths,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pictures = tmp_path / "Pictures"
    pictures.mkdir()
    for i in range(3):
        write_photo(pictures / f"p_{i}.jpg", seed=300 + i)
    monkeypatch.setattr(platformdirs, "user_pictures_dir", lambda: str(pictures))

    app.start(new_user_window, paths, app.GuiArguments([], [], []))
    dialog = new_user_window.findChild(FirstRunDialog)
    assert dialog is not None and dialog.isVisible()
    assert dialog.proposed == pictures
    assert str(pictures) in dialog.use_button.text()
    assert dialog.use_button.isEnabled()

    with qtbot.waitSignal(new_user_window.ingest_did_finish, timeout=30_000):
        dialog.use_button.click()
    qtbot.waitUntil(lambda: len(gallery_names(new_user_window)) == 3, timeout=10_000)
    assert new_user_window.settings.first_run_done
    assert load_settings(paths.settings_path).first_run_done  # not asked again


def test_first_run_later_indexes_nothing(
    qtbot: QtBot,
    new_user_window: MainWindow,
    paths: AppPaths,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(platformdirs, "user_pictures_dir", lambda: str(tmp_path))
    app.start(new_user_window, paths, app.GuiArguments([], [], []))
    dialog = new_user_window.findChild(FirstRunDialog)
    assert dialog is not None
    dialog.reject()
    assert load_settings(paths.settings_path).first_run_done
    assert not new_user_window.indexing and new_user_window.folders_panel.folders == []


def test_arguments_are_sorted_into_folders_and_images(
    photo_folders: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = photo_folders
    notes = tmp_path / "notes.txt"
    notes.write_text("not a photo")
    args = app.parse_arguments(
        [str(a), str(b / "b_01.jpg"), str(notes), str(tmp_path / "gone"), "--verbose"]
    )
    assert args.folders == [a]
    assert args.images == [b / "b_01.jpg"]
    assert args.ignored == ["--verbose", str(notes), str(tmp_path / "gone")]


def test_arguments_add_a_folder_and_search_by_an_image(
    qtbot: QtBot,
    new_user_window: MainWindow,
    paths: AppPaths,
    photo_folders: tuple[Path, Path],
) -> None:
    a, b = photo_folders
    window = new_user_window
    args = app.parse_arguments([str(a), str(b / "beach_copy.jpg")])
    with qtbot.waitSignal(window.ingest_did_finish, timeout=30_000):
        app.start(window, paths, args)
    assert window.findChild(FirstRunDialog) is None  # a folder given is the choice
    assert load_settings(paths.settings_path).first_run_done
    qtbot.waitUntil(lambda: len(gallery_names(window)) == 10, timeout=30_000)
    assert window.tabs.currentWidget() is window.results_panel
    assert window.results_panel.query is not None
    assert window.results_panel.query.path == b / "beach_copy.jpg"
    # The query ran at once and again once the folder was indexed.
    qtbot.waitUntil(lambda: window.results_panel.model.rowCount() > 0, timeout=10_000)
    top = window.results_panel.model.hits[0].path
    assert top in {a / "beach.jpg", a / "beach_small.jpg"}


def _run_gui(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "SSCQ_DESKTOP_HOME": str(home),
        app.QUIT_AFTER_ENV: "2500",
        "PYTHONPATH": str(REPO),
    }
    return subprocess.run(
        [sys.executable, "-m", "sscq_desktop.app", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _assert_clean_exit(result: subprocess.CompletedProcess[str], home: Path) -> None:
    assert result.returncode == 0, result.stderr
    for stream in (result.stdout, result.stderr):
        assert "Traceback" not in stream, stream
    log = (home / "logs" / "app.log").read_text()
    assert "window shown (offscreen)" in log
    assert "quit with exit code 0" in log
    assert "Traceback" not in log and "uncaught" not in log, log


def test_main_starts_and_quits_cleanly_on_first_start(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = _run_gui(home)
    _assert_clean_exit(result, home)
    assert load_settings(home / "config" / "settings.toml").first_run_done


def test_main_indexes_a_folder_given_on_the_command_line(
    tiny_artifact_factory: object, photo_folders: tuple[Path, Path], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    a, _ = photo_folders
    with Library(app_paths(home)) as library:
        artifact = tiny_artifact_factory()  # type: ignore[operator]
        library.switch_model(library.import_model(artifact.path).model_id)
    result = _run_gui(home, str(a), str(a / "beach.jpg"))
    _assert_clean_exit(result, home)
    with Library(app_paths(home)) as library:
        assert [f.path for f in library.folders()] == [a]


def test_app_log_escapes_control_characters_in_names(
    tiny_artifact_factory: object, tmp_path: Path
) -> None:
    # A root named with ESC and a newline goes offline: the scan of the folder given
    # logs "<root> is offline" into app.log, where the name must not forge a line.
    from sscq_desktop.library.progress import run_job

    home = tmp_path / "home"
    drive = tmp_path / "evil\x1b[31mred\nforged line"
    drive.mkdir()
    write_photo(drive / "a.jpg", seed=1)
    with Library(app_paths(home)) as library:
        artifact = tiny_artifact_factory()  # type: ignore[operator]
        library.switch_model(library.import_model(artifact.path).model_id)
        library.add_folder(drive)
        run_job(library.update())
    drive.rename(tmp_path / "unplugged")
    other = tmp_path / "other"
    other.mkdir()
    write_photo(other / "b.jpg", seed=2)

    result = _run_gui(home, str(other))
    _assert_clean_exit(result, home)
    log = (home / "logs" / "app.log").read_text(encoding="utf-8")
    assert "evil\\x1b[31mred\\nforged line is offline" in log
    assert "\x1b" not in log
    assert not any(line.startswith("forged") for line in log.splitlines())
