"""Bootstrap of the desktop GUI: settings, library, window; `main()` starts Qt.

The gui-script entry point ``sscq-desktop-gui [FOLDER_OR_IMAGE ...]`` (and
``sscq-desktop`` with no subcommand): a folder is added to the library, an image starts
a search by that image. Wires plain-Python parts to the `sscq_desktop.ui` widgets; holds
no state of its own beyond `main()`'s locals (no globals, no singletons).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from sscq_desktop.paths import AppPaths, app_paths, proposed_pictures_dir

if TYPE_CHECKING:
    from sscq_desktop.library.library import Library
    from sscq_desktop.model.artifact import ModelArtifact
    from sscq_desktop.model.encoder import Embedder
    from sscq_desktop.ui.main_window import MainWindow

logger = logging.getLogger(__name__)

QUIT_AFTER_ENV = "SSCQ_DESKTOP_QUIT_AFTER_MS"
"""Close the window this many ms after start-up (smoke tests, packaging checks)."""

GUI_SWITCH_INTERVAL_S = 0.001
"""The interpreter's GIL switch interval while the GUI runs (Python's default: 5 ms)."""


@dataclass(frozen=True)
class GuiArguments:
    """The GUI's command line: folders to add and images to search by (in order)."""

    folders: list[Path]
    images: list[Path]
    ignored: list[str]


def parse_arguments(args: Sequence[str]) -> GuiArguments:
    """Sort ``FOLDER_OR_IMAGE`` arguments (without the program name) into their kinds.

    Raises:
        SystemExit: for ``--help`` (printed) or a malformed option, as argparse does.
    """
    parser = argparse.ArgumentParser(
        prog="sscq-desktop-gui",
        description="Find visually similar photos in your own library.",
    )
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="FOLDER_OR_IMAGE",
        help="a folder to add to the library (it is indexed and watched), or an image "
        "to search the library by; several may be given",
    )
    known, unknown = parser.parse_known_args(list(args))
    from sscq_desktop.library.images.image_loader import SUPPORTED_SUFFIXES

    folders: list[Path] = []
    images: list[Path] = []
    ignored = list(unknown)
    for raw in known.paths:
        path = raw.expanduser().absolute()
        if path.is_dir():
            folders.append(path)
        elif path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES:
            images.append(path)
        else:
            ignored.append(str(raw))
    return GuiArguments(folders, images, ignored)


def tune_interpreter_for_gui() -> None:
    """Let the GUI thread get the GIL back quickly from busy indexing threads.

    Every call from Qt into Python (a slot, a model's ``data()`` while painting) waits
    for the GIL, and a thread running Python keeps it up to the switch interval: a
    repaint makes about 175 such calls for a screenful of thumbnails. 1 ms instead of
    5 ms bounds each wait; in bench_gui_ingest_stalls.py on two busy cores the 99th
    percentile gap went from ~11.5 to ~9.5 ms and the worst from up to 51 to 40 ms.
    """
    sys.setswitchinterval(GUI_SWITCH_INTERVAL_S)


def open_library(paths: AppPaths) -> Library:
    """The library as the GUI runs it: indexing leaves a core to the GUI thread.

    The GUI thread shares the GIL and the CPUs with an ingest's decoding threads and
    onnxruntime's thread pool (whose threads spin between batches). On two busy cores
    (bench_gui_ingest_stalls.py), one decoder per core and onnxruntime's default pool
    stall the event loop for 52-90 ms; cores - 1 decoders and a quarter of the cores
    for onnxruntime keep it under 45 ms, and indexing the tiny model's 2,000 photos is
    no slower (7-8 s).
    """
    from sscq_desktop.library.ingest.ingest import IngestOptions
    from sscq_desktop.library.library import Library

    cores = os.cpu_count() or 2

    def encoder_factory(artifact: ModelArtifact) -> Embedder:
        from sscq_desktop.model.encoder import OnnxEncoder

        return OnnxEncoder(artifact, intra_op_threads=max(1, cores // 4))

    return Library(
        paths,
        encoder_factory=encoder_factory,
        ingest_options=IngestOptions(workers=max(1, cores - 1)),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Start the GUI; returns the exit code.

    Args:
        argv: The command line, program name first; default: `sys.argv`. Qt removes its
            own options (``-platform``, ``-style``...); see `parse_arguments`.
    """
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from sscq_desktop.library.path_text import PrintableLogFormatter
    from sscq_desktop.ui.errors import show_exception

    args = list(sys.argv if argv is None else argv)
    existing = QApplication.instance()
    app = existing or QApplication(args)
    assert isinstance(app, QApplication)
    gui_args = parse_arguments((app.arguments() if existing is None else args)[1:])
    app.setApplicationName("SSCQ Desktop")
    app.setOrganizationName("sscq-desktop")
    paths = app_paths().ensure()
    # Log lines quote file names: escaped, so a name cannot forge a line of app.log.
    handler = logging.FileHandler(paths.log_dir / "app.log", encoding="utf-8")
    handler.setFormatter(
        PrintableLogFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    tune_interpreter_for_gui()

    def excepthook(
        kind: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        # A bug in a slot must reach the user as a message, never kill the window.
        logger.error("uncaught: %s", "".join(traceback.format_exception(kind, exc, tb)))
        show_exception(app.activeWindow(), exc)

    sys.excepthook = excepthook
    try:
        window = build_window(paths)
    except Exception as exc:  # a damaged catalog or model: say so, then quit
        from PySide6.QtWidgets import QMessageBox

        from sscq_desktop.ui.errors import user_message

        QMessageBox.critical(None, "SSCQ Desktop cannot start", user_message(exc))
        return 1
    window.show()
    logger.info("window shown (%s)", app.platformName())
    window.refresh_library()  # also loads the model: the first search is fast
    start(window, paths, gui_args)
    quit_after = os.environ.get(QUIT_AFTER_ENV, "")
    if quit_after.isdigit():
        QTimer.singleShot(int(quit_after), app.closeAllWindows)
    code = app.exec()
    logger.info("quit with exit code %d", code)
    return code


def build_window(paths: AppPaths, library: Library | None = None) -> MainWindow:
    """The main window over the real library, with saved settings and geometry."""
    from sscq_desktop.ui.main_window import MainWindow
    from sscq_desktop.ui.settings import load_settings, save_settings
    from sscq_desktop.ui.tasks import TaskRunner

    settings = load_settings(paths.settings_path)
    window = MainWindow(
        library if library is not None else open_library(paths),
        TaskRunner(),
        settings,
        qsettings_path=paths.config_dir / "window.ini",
    )
    window.settings_did_change.connect(lambda s: save_settings(s, paths.settings_path))
    return window


def start(window: MainWindow, paths: AppPaths, gui_args: GuiArguments) -> None:
    """Index (and watch) the library, or ask for a first folder; then apply `gui_args`."""
    if gui_args.ignored:
        window.status_bar.showMessage(
            "Not a folder or an image, ignored: " + ", ".join(gui_args.ignored), 15_000
        )
    if not window.settings.first_run_done and not gui_args.folders:
        _first_run(window, paths)
    else:
        _first_run_done(window, paths)  # the user named folders: that is a choice
        window.start_indexing()  # reconcile changes made while the app was closed
    for folder in gui_args.folders:
        window.add_folder(folder)
    for image in gui_args.images:
        window.search_by_file(image)  # the last one stays on screen


def _first_run_done(window: MainWindow, paths: AppPaths) -> None:
    """Remember, in the settings file too, that the first start's choice was made."""
    from sscq_desktop.ui.settings import save_settings

    if not window.settings.first_run_done:
        window.apply_settings(window.settings.replace(first_run_done=True))
        save_settings(window.settings, paths.settings_path)  # whoever built the window


def _first_run(window: MainWindow, paths: AppPaths) -> None:
    from sscq_desktop.ui.first_run_dialog import FirstRunDialog

    dialog = FirstRunDialog(proposed_pictures_dir(), parent=window)

    def finished(_result: int) -> None:
        _first_run_done(window, paths)
        if dialog.chosen is not None and window.isVisible():
            window.add_folder(dialog.chosen)  # starts indexing and watching
        dialog.deleteLater()

    dialog.finished.connect(finished)
    dialog.open()  # window-modal, without a nested event loop


if __name__ == "__main__":
    sys.exit(main())
