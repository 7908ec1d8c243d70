"""`FoldersPanel`: the watched folders with their photo counts and status; add and remove.

Shows the folders it is given (the window's `LibraryCounts`); it never touches the disk
itself. A folder that cannot be read (unplugged drive, unmounted share) is offline:
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
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from sscq_desktop.library.path_text import display_path
from sscq_desktop.library.records import FolderOverview
from sscq_desktop.ui.photo_count import photo_count


def folder_label(folder: FolderOverview) -> str:
    """What a folder row says: name, count and whether it is offline."""
    name = display_path(folder.path.name or folder.path)
    noun = "photo" if folder.photo_count == 1 else "photos"
    text = f"{name}  —  {folder.photo_count:,} {noun}"
    return f"{text}  (offline, photos kept)" if folder.offline else text


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
    """The library's folders.

    Attributes:
        confirm_remove: asks whether to remove a folder (`ask_remove`; tests replace
            it to answer without a modal dialog).

    Signals:
        add_requested(object): the user picked a folder (a `Path`) to add.
        remove_requested(object): the user confirmed removing a folder (a `Path`).
    """

    add_requested = Signal(object)
    remove_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.confirm_remove: Callable[[FolderOverview, QWidget | None], bool] = (
            ask_remove
        )
        self._folders: list[FolderOverview] = []
        title = QLabel("<b>Folders</b>")
        self.list_widget = QListWidget()
        self.list_widget.setObjectName("folders_list")
        self.list_widget.setWordWrap(True)
        self.add_button = QPushButton("Add…")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(title)
        layout.addWidget(self.list_widget, 1)
        layout.addLayout(buttons)
        self.add_button.clicked.connect(self._on_add_button_clicked)
        self.remove_button.clicked.connect(self._on_remove_button_clicked)
        self.list_widget.currentRowChanged.connect(self._on_list_current_row_changed)

    @property
    def folders(self) -> list[FolderOverview]:
        """The folders shown, by path."""
        return self._folders

    def set_folders(self, folders: Sequence[FolderOverview]) -> None:
        """Show `folders` (by path), keeping the selected one selected."""
        current = self.selected_folder()
        self._folders = sorted(folders, key=lambda f: str(f.path).lower())
        self.list_widget.clear()
        for folder in self._folders:
            item = QListWidgetItem(folder_label(folder))
            tip = display_path(folder.path)
            if folder.offline:
                tip += f"\n{offline_text(folder)}"
            item.setToolTip(tip)
            item.setData(Qt.ItemDataRole.UserRole, folder.path)
            if folder.offline:
                item.setForeground(QBrush(QColor(200, 40, 40)))
            self.list_widget.addItem(item)
            if current is not None and folder.path == current:
                self.list_widget.setCurrentItem(item)
        self.remove_button.setEnabled(self.selected_folder() is not None)

    def selected_folder(self) -> Path | None:
        """The path of the selected folder, if one is selected."""
        if self.list_widget.currentRow() < 0:
            return None
        path = self.list_widget.currentItem().data(Qt.ItemDataRole.UserRole)
        return path if isinstance(path, Path) else None

    def _on_add_button_clicked(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Add a folder of photos")
        if chosen:
            self.add_requested.emit(Path(chosen))

    def _on_remove_button_clicked(self) -> None:
        path = self.selected_folder()
        folder = next((f for f in self._folders if f.path == path), None)
        if folder is not None and self.confirm_remove(folder, self.window()):
            self.remove_requested.emit(folder.path)

    def _on_list_current_row_changed(self, row: int) -> None:
        self.remove_button.setEnabled(row >= 0)
