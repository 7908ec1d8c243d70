"""`FoldersPanel`: the watched folders with their photo counts and status; add and remove.

Shows what `Library.folder_overviews()` reported last; it never touches the disk itself.
A folder that cannot be read (unplugged drive, unmounted share) is offline: shown in
red with the reason, not hidden; its photos stay in the library until it is removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from sscq_desktop.library.path_text import display_path
from sscq_desktop.library.records import FolderOverview


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


class FoldersPanel(QWidget):
    """The library's folders.

    Signals:
        add_requested(object): the user picked a folder (a `Path`) to add.
        remove_requested(object): the user asked to remove a folder (a `Path`).
    """

    add_requested = Signal(object)
    remove_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
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
        return self._folders

    def set_folders(self, folders: Sequence[FolderOverview]) -> None:
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
        if path is not None:
            self.remove_requested.emit(path)

    def _on_list_current_row_changed(self, row: int) -> None:
        self.remove_button.setEnabled(row >= 0)
