"""`FoldersPanel`: the watched folders as a tree, with photo counts and status; add, remove.

Shows the folders it is given (the window's `LibraryCounts`: the roots and the folders
below them that hold photos, from the catalog); it never touches the disk itself.
Choosing a folder asks the gallery to show its photos; "All photos" shows them all. A folder that cannot be read (unplugged drive, unmounted share) is offline:
shown in red with the reason, not hidden; its photos stay in the library until it is
removed, which the user confirms first (the files stay on disk).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from sscq_desktop.library.path_text import display_path
from sscq_desktop.library.records import FolderOverview, SubfolderOverview
from sscq_desktop.ui.photo_count import photo_count

ALL_PHOTOS = "All photos"
"""The tree's first row: choosing it shows every photo in the gallery."""


def count_label(name: str, count: int) -> str:
    """What a row of the tree says: a name and a photo count."""
    noun = "photo" if count == 1 else "photos"
    return f"{name}  —  {count:,} {noun}"


def folder_label(folder: FolderOverview | SubfolderOverview) -> str:
    """What a folder row says: name, count and (a root) whether it is offline."""
    text = count_label(
        display_path(folder.path.name or folder.path), folder.photo_count
    )
    offline = isinstance(folder, FolderOverview) and folder.offline
    return f"{text}  (offline, photos kept)" if offline else text


def offline_text(folder: FolderOverview) -> str:
    """Why an offline folder shows no new photos, and what becomes of its photos."""
    return (
        f"{display_path(folder.path)} is offline: {folder.offline_reason}. Its photos "
        "are kept and come back without re-indexing; remove the folder to forget them."
    )


def remove_question(folder: FolderOverview, parent: QWidget | None) -> QMessageBox:
    """The question asked before a folder is removed (Cancel is the default button).

    It names the folder, says how many photos leave the library and that the files
    stay on disk.
    """
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Remove folder")
    box.setText(f"Remove {display_path(folder.path)} from the library?")
    box.setInformativeText(
        f"Its {photo_count(folder.photo_count)} leave the library: they are no longer "
        "shown or found by searches. The files stay on disk; add the folder again to "
        "bring them back."
    )
    box.setStandardButtons(
        QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel
    )
    box.button(QMessageBox.StandardButton.Ok).setText("Remove")
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    return box


def ask_remove(folder: FolderOverview, parent: QWidget | None) -> bool:
    """Ask `remove_question` (modal); True when the user chose Remove."""
    return remove_question(folder, parent).exec() == QMessageBox.StandardButton.Ok


class FoldersPanel(QWidget):
    """The library's folders: "All photos", then each root with its subfolders.

    Attributes:
        tree: the tree; each row's ``UserRole`` data is its folder's `Path` (None on
            the "All photos" row).
        confirm_remove: asks whether to remove a folder (`ask_remove`; tests replace
            it to answer without a modal dialog).

    Signals:
        add_requested(object): the user picked a folder (a `Path`) to add.
        remove_requested(object): the user confirmed removing a root folder (a `Path`).
        folder_selected(object): the user chose the folder whose photos to show (a
            `Path`), or "All photos" (None); also when the chosen folder left the tree.
    """

    add_requested = Signal(object)
    remove_requested = Signal(object)
    folder_selected = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.confirm_remove: Callable[[FolderOverview, QWidget | None], bool] = (
            ask_remove
        )
        self._folders: list[FolderOverview] = []
        self._subfolders: list[SubfolderOverview] = []
        self._items: dict[Path, QTreeWidgetItem] = {}  # in tree order
        self._chosen: Path | None = None  # may be missing from the tree a while
        title = QLabel("<b>Folders</b>")
        self.tree = QTreeWidget()
        self.tree.setObjectName("folders_tree")
        self.tree.setHeaderHidden(True)
        self.tree.setWordWrap(True)
        self._all_item = self._add_all_item()
        self.tree.setCurrentItem(self._all_item)
        self.add_button = QPushButton("Add…")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip(
            "Remove the selected root folder from the library"
        )
        self.remove_button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(title)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)
        self.add_button.clicked.connect(self._on_add_button_clicked)
        self.remove_button.clicked.connect(self._on_remove_button_clicked)
        self.tree.currentItemChanged.connect(self._on_tree_current_item_changed)

    @property
    def folders(self) -> list[FolderOverview]:
        """The root folders shown, by path."""
        return self._folders

    @property
    def subfolders(self) -> list[SubfolderOverview]:
        """The folders shown below the roots, in tree order."""
        return self._subfolders

    def set_folders(
        self,
        folders: Sequence[FolderOverview],
        subfolders: Sequence[SubfolderOverview] = (),
    ) -> None:
        """Show the roots `folders` and the `subfolders` below them (in tree order).

        Keeps the open branches open and the chosen folder chosen, even while it holds
        no indexed photo (its files are being read again, say: it comes back); when
        its root folder leaves the library, chooses "All photos" (`folder_selected`
        says so).
        """
        self._folders = sorted(folders, key=lambda f: str(f.path).lower())
        self._subfolders = list(subfolders)
        paths = [f.path for f in self._folders] + [s.path for s in self._subfolders]
        if paths != list(self._items):
            self._rebuild()
        for root in self._folders:
            self._show(self._items.get(root.path), root)
        for sub in self._subfolders:
            self._show(self._items.get(sub.path), sub)
        total = sum(f.photo_count for f in self._folders)
        self._all_item.setText(0, count_label(ALL_PHOTOS, total))
        chosen = self._chosen
        if chosen is not None and not any(
            chosen.is_relative_to(f.path) for f in self._folders
        ):
            self.select_folder(None)
            self.folder_selected.emit(None)

    def selected_folder(self) -> Path | None:
        """The chosen folder (a root or a subfolder); None for "All photos"."""
        return self._chosen

    def item_of(self, path: Path | None) -> QTreeWidgetItem | None:
        """The row of folder `path` (None: the "All photos" row); None if not shown."""
        return self._all_item if path is None else self._items.get(path)

    def select_folder(self, path: Path | None) -> None:
        """Choose the row of `path` (None: "All photos"), without `folder_selected`.

        Raises:
            ValueError: if `path` is not shown.
        """
        item = self.item_of(path)
        if item is None:
            raise ValueError(f"{path} is not one of the folders shown")
        self._chosen = path
        self.tree.blockSignals(True)
        self.tree.setCurrentItem(item)
        self.tree.blockSignals(False)
        self._enable_remove()

    def _rebuild(self) -> None:
        chosen = self._chosen
        known = set(self._items)
        expanded = {p for p, item in self._items.items() if item.isExpanded()}
        self.tree.blockSignals(True)
        self.tree.clear()
        self._all_item = self._add_all_item()
        items: dict[Path, QTreeWidgetItem] = {}
        for folder in self._folders:
            items[folder.path] = item = QTreeWidgetItem()
            self.tree.addTopLevelItem(item)
        for sub in self._subfolders:
            parent = items.get(sub.path.parent)
            if parent is not None:  # in tree order, a parent comes first
                items[sub.path] = item = QTreeWidgetItem()
                parent.addChild(item)
        roots = {f.path for f in self._folders}
        for path, item in items.items():
            item.setData(0, Qt.ItemDataRole.UserRole, path)
            # A new root opens on its first level; other branches stay as they were.
            item.setExpanded(path in expanded or (path in roots and path not in known))
        self._items = items
        current = self._all_item if chosen is None else items.get(chosen)
        if current is not None:  # else none is current until the chosen one is back
            self.tree.setCurrentItem(current)
        self.tree.blockSignals(False)
        self._enable_remove()

    def _add_all_item(self) -> QTreeWidgetItem:
        item = QTreeWidgetItem([ALL_PHOTOS])
        item.setToolTip(0, "Show every photo of the library")
        self.tree.addTopLevelItem(item)
        return item

    def _show(
        self, item: QTreeWidgetItem | None, folder: FolderOverview | SubfolderOverview
    ) -> None:
        if item is None:
            return
        item.setText(0, folder_label(folder))
        tip = display_path(folder.path)
        offline = isinstance(folder, FolderOverview) and folder.offline
        if isinstance(folder, FolderOverview) and offline:
            tip += f"\n{offline_text(folder)}"
        item.setToolTip(0, tip)
        item.setForeground(0, QBrush(QColor(200, 40, 40)) if offline else QBrush())

    def _selected_root(self) -> FolderOverview | None:
        path = self.selected_folder()
        return next((f for f in self._folders if f.path == path), None)

    def _enable_remove(self) -> None:
        self.remove_button.setEnabled(self._selected_root() is not None)

    def _on_add_button_clicked(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Add a folder of photos")
        if chosen:
            self.add_requested.emit(Path(chosen))

    def _on_remove_button_clicked(self) -> None:
        folder = self._selected_root()
        if folder is not None and self.confirm_remove(folder, self.window()):
            self.remove_requested.emit(folder.path)

    def _on_tree_current_item_changed(
        self, current: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None
    ) -> None:
        if current is None:
            return
        path = current.data(0, Qt.ItemDataRole.UserRole)
        self._chosen = path if isinstance(path, Path) else None
        self._enable_remove()
        self.folder_selected.emit(self._chosen)
