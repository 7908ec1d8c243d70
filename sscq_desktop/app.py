"""Bootstrap of the desktop GUI: settings, library, window; `main()` starts Qt.

The gui-script entry point ``sscq-desktop-gui`` (and ``sscq-desktop`` with no
subcommand). Wires plain-Python parts to the `sscq_desktop.ui` widgets; holds no state
of its own beyond `main()`'s locals (no globals, no singletons).
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING

from sscq_desktop.paths import AppPaths, app_paths, proposed_pictures_dir

if TYPE_CHECKING:
    from sscq_desktop.ui.main_window import MainWindow

logger = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    """Start the GUI; returns the exit code."""
    from PySide6.QtWidgets import QApplication

    from sscq_desktop.ui.errors import show_exception

    args = list(sys.argv if argv is None else argv)
    app = QApplication.instance() or QApplication(args)
    assert isinstance(app, QApplication)
    app.setApplicationName("SSCQ Desktop")
    app.setOrganizationName("sscq-desktop")
    paths = app_paths().ensure()
    logging.basicConfig(
        level=logging.INFO,
        filename=str(paths.log_dir / "app.log"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

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
    window.refresh_library()
    if not window.settings.first_run_done:
        _first_run(window, paths)
    else:
        window.start_indexing()  # reconcile changes made while the app was closed
    return app.exec()


def build_window(paths: AppPaths) -> MainWindow:
    """The main window over the real library, with saved settings and geometry."""
    from sscq_desktop.library.library import Library
    from sscq_desktop.ui.library_adapter import LibraryAdapter
    from sscq_desktop.ui.main_window import MainWindow
    from sscq_desktop.ui.settings import load_settings, save_settings
    from sscq_desktop.ui.tasks import TaskRunner

    settings = load_settings(paths.settings_path)
    backend = LibraryAdapter(Library(paths))
    window = MainWindow(
        backend,
        TaskRunner(),
        settings,
        qsettings_path=paths.config_dir / "window.ini",
    )
    window.settings_did_change.connect(lambda s: save_settings(s, paths.settings_path))
    return window


def _first_run(window: MainWindow, paths: AppPaths) -> None:
    from sscq_desktop.ui.first_run_dialog import FirstRunDialog
    from sscq_desktop.ui.settings import save_settings

    dialog = FirstRunDialog(proposed_pictures_dir(), parent=window)
    dialog.exec()
    window.settings = window.settings.replace(first_run_done=True)
    save_settings(window.settings, paths.settings_path)
    if dialog.chosen is not None:
        window.add_folder(dialog.chosen)  # starts indexing at once


if __name__ == "__main__":
    sys.exit(main())
