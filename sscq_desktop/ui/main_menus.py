"""`MainMenus`: the File and Tools menus of `MainWindow` and their actions.

Builds the menu bar only: the window connects every action to one of its public
methods (or a button of its folders panel), so behaviour stays in one place and tests
can trigger it.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar


class MainMenus:
    """Fills a menu bar; the actions are parented to `parent`.

    Attributes:
        add_folder: File > Add folder….
        search_by_image: File > Search by image… (the Open shortcut).
        paste: File > Search by pasted image (the Paste shortcut).
        rescan: File > Rescan folders.
        quit: File > Quit (the Quit shortcut).
        duplicates: Tools > Find near duplicates.
        retrain: Tools > Retrain on my photos….
        failed_photos: Tools > Failed photos… (which could not be read, and why).
        settings: Tools > Settings… (the Preferences shortcut).

    Args:
        bar: the menu bar to fill.
        parent: the owner of the actions (the window).
    """

    def __init__(self, bar: QMenuBar, parent: QObject) -> None:
        self._parent = parent
        file_menu = bar.addMenu("&File")
        self.add_folder = self._action(file_menu, "&Add folder…")
        self.search_by_image = self._action(
            file_menu, "&Search by image…", QKeySequence.StandardKey.Open
        )
        self.paste = self._action(
            file_menu, "Search by &pasted image", QKeySequence.StandardKey.Paste
        )
        self.rescan = self._action(file_menu, "&Rescan folders")
        file_menu.addSeparator()
        self.quit = self._action(file_menu, "&Quit", QKeySequence.StandardKey.Quit)
        tools = bar.addMenu("&Tools")
        self.duplicates = self._action(tools, "Find near &duplicates")
        self.retrain = self._action(tools, "&Retrain on my photos…")
        self.failed_photos = self._action(tools, "&Failed photos…")
        tools.addSeparator()
        self.settings = self._action(
            tools, "&Settings…", QKeySequence.StandardKey.Preferences
        )

    def _action(
        self,
        menu: QMenu,
        text: str,
        shortcut: QKeySequence.StandardKey | None = None,
    ) -> QAction:
        action = QAction(text, self._parent)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        menu.addAction(action)
        return action
