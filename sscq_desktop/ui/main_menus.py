"""`MainMenus`: the File and Tools menus of `MainWindow` and their actions.

Builds the menu bar only: every action calls a public method of the window (or a
button of its folders panel), so behaviour stays in one place and tests can trigger it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

if TYPE_CHECKING:
    from sscq_desktop.ui.main_window import MainWindow


class MainMenus:
    """Fills `window`'s menu bar; the actions are parented to the window.

    Attributes:
        add_folder: File > Add folder….
        search_by_image: File > Search by image… (the Open shortcut).
        paste: File > Search by pasted image (the Paste shortcut).
        rescan: File > Rescan folders.
        duplicates: Tools > Find near duplicates.
        retrain: Tools > Retrain on my photos….
        failed_photos: Tools > Failed photos… (which could not be read, and why).
        settings: Tools > Settings… (the Preferences shortcut).
    """

    def __init__(self, window: MainWindow) -> None:
        self._window = window
        bar = window.menuBar()
        file_menu = bar.addMenu("&File")
        self.add_folder = self._action(
            file_menu, "&Add folder…", window.folders_panel.add_button.click
        )
        self.search_by_image = self._action(
            file_menu,
            "&Search by image…",
            window.choose_query_file,
            QKeySequence.StandardKey.Open,
        )
        self.paste = self._action(
            file_menu,
            "Search by &pasted image",
            window.paste_query,
            QKeySequence.StandardKey.Paste,
        )
        self.rescan = self._action(file_menu, "&Rescan folders", window.rescan)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", window.close, QKeySequence.StandardKey.Quit)
        tools = bar.addMenu("&Tools")
        self.duplicates = self._action(
            tools, "Find near &duplicates", window.show_duplicates
        )
        self.retrain = self._action(
            tools, "&Retrain on my photos…", window.open_retrain_dialog
        )
        self.failed_photos = self._action(
            tools, "&Failed photos…", window.show_failed_photos
        )
        tools.addSeparator()
        self.settings = self._action(
            tools,
            "&Settings…",
            window.open_settings_dialog,
            QKeySequence.StandardKey.Preferences,
        )

    def _action(
        self,
        menu: QMenu,
        text: str,
        slot: Callable[[], object],
        shortcut: QKeySequence.StandardKey | None = None,
    ) -> QAction:
        action = QAction(text, self._window)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action
