"""`FailedPhotosDialog`: which photos could not be indexed, and why; Retry all.

Lists path and reason in a sortable table (copy paths, show in folder, open) and reads
the list in a `Task` (the latest reload wins). It changes nothing in the library: Retry
all only emits `retry_requested`, which `FailedPhotos` runs as a write of the window.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QModelIndex, QPoint, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QAction, QContextMenuEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from sscq_desktop.ui.errors import user_message
from sscq_desktop.ui.failed_photos_model import (
    FAILED_PHOTO_ROLE,
    FailedPhotosModel,
    failure_details,
)
from sscq_desktop.ui.photo_count import photo_count
from sscq_desktop.ui.photo_grid_view import open_file, show_in_folder
from sscq_desktop.ui.tasks import LatestRequest, Task, TaskContext, TaskRunner

if TYPE_CHECKING:
    from sscq_desktop.library.library import Library

LIST_LIMIT = 1_000
"""Failed photos listed at most (by path); the header says how many there are in all."""

_MAX_FOLDERS_SHOWN = 5  # "Show in folder" on many rows opens at most this many folders

_Loaded = tuple[int, list[tuple[Path, str]]]

_NO_SELECTION = "Select a photo to see the whole reason."


class FailedPhotosDialog(QDialog):
    """The photos that could not be indexed, with the reason; non-modal.

    Signals:
        retry_requested(): the user clicked Retry all.
        photos_loaded(): a reload finished (the rows may be unchanged).

    Args:
        library: Where the list is read (`Library.errors`).
        runner: Runs the reads.
        total: How many photos failed, as the caller last counted; None: counted
            here if the list reaches `limit` (see `reload`).
        limit: Photos listed at most.
        parent: The window.
    """

    retry_requested = Signal()
    photos_loaded = Signal()

    def __init__(
        self,
        library: Library,
        runner: TaskRunner,
        *,
        total: int | None = None,
        limit: int = LIST_LIMIT,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._library = library
        self._runner = runner
        self._limit = limit
        self._requests = LatestRequest()
        self._retrying: int | None = None  # photos being tried again, while they are
        self.total = 0
        self.setWindowTitle("Photos that could not be read")
        self.resize(860, 420)
        self.summary_label = QLabel("Loading…")
        self.summary_label.setWordWrap(True)
        self.model = FailedPhotosModel()
        proxy = QSortFilterProxyModel(self)
        proxy.setSourceModel(self.model)
        proxy.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.table = _FailedPhotosTable(self)
        self.table.setModel(proxy)
        self.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)  # folder, then path
        self.table.horizontalHeader().resizeSection(0, 200)
        self.table.horizontalHeader().resizeSection(1, 280)
        self.details_label = QLabel(_NO_SELECTION)
        """The current row told whole: path, plain reason and technical details."""
        self.details_label.setWordWrap(True)
        self.details_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.copy_button = QPushButton("Copy paths")
        self.copy_button.setToolTip(
            "Copy the selected paths, one per line (all of them when none is selected)"
        )
        self.show_button = QPushButton("Show in folder")
        self.retry_button = QPushButton("Retry all")
        self.retry_button.setToolTip(
            "Try every listed photo again now, for example after a network drive is "
            "back. Photos you repair or replace are tried again as soon as they change."
        )
        close = QPushButton("Close")
        close.setDefault(True)  # Enter closes; it never copies or retries by surprise
        buttons = QHBoxLayout()
        for button in (self.copy_button, self.show_button, self.retry_button):
            button.setAutoDefault(False)
        for button in (self.copy_button, self.show_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.retry_button)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.details_label)
        layout.addLayout(buttons)
        self.copy_button.clicked.connect(self.copy_paths)
        self.show_button.clicked.connect(self.show_selected_in_folder)
        self.retry_button.clicked.connect(self._on_retry_button_clicked)
        close.clicked.connect(self.close)
        self.table.doubleClicked.connect(self._on_table_double_clicked)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.table.selectionModel().currentRowChanged.connect(self._show_details)
        self._update_buttons()
        self.reload(total=total)

    # -- loading ----------------------------------------------------------------

    def reload(self, *, total: int | None = None) -> None:
        """Read the failed photos again (off the GUI thread); the latest reload wins.

        Args:
            total: How many photos failed, when the caller knows (the window's count
                from the same refresh). It matters only when the list is cut at the
                limit; shorter lists are counted as read. None: counted here then.
        """
        library, limit = self._library, self._limit
        request_id = self._requests.next_id()

        def fn(ctx: TaskContext) -> _Loaded:
            photos = library.errors(limit=limit)
            if len(photos) < limit:
                return len(photos), photos
            return (library.count_errors() if total is None else total), photos

        def success(result: _Loaded) -> None:
            if shiboken6.isValid(self) and self._requests.is_current(request_id):
                self.set_photos(result[1], total=result[0])
                self.photos_loaded.emit()

        Task(fn).on_success(success).on_failure(self._on_task_failed).start(
            self._runner
        )

    def set_photos(self, photos: Sequence[tuple[Path, str]], *, total: int) -> None:
        """Show `photos`, ``(path, reason)`` pairs (at most the list limit), of `total`."""
        self.total = max(total, len(photos))
        self.model.set_photos(photos)
        self._update_summary()
        self._update_buttons()

    def set_retrying(self, count: int | None) -> None:
        """Say that `count` photos are being tried again (Retry all waits); None: done."""
        self._retrying = count
        self._update_summary()
        self._update_buttons()

    # -- actions ----------------------------------------------------------------

    def selected_paths(self) -> list[Path]:
        """The selected rows' paths, in the table's (sorted) order."""
        rows = self.table.selectionModel().selectedRows()
        pairs = [index.data(FAILED_PHOTO_ROLE) for index in rows]
        return [pair[0] for pair in pairs if isinstance(pair, tuple)]

    def copy_paths(self) -> None:
        """Copy the selected paths (all when none is selected), one per line."""
        paths = self.selected_paths() or [path for path, _ in self.model.photos]
        QGuiApplication.clipboard().setText("\n".join(str(p) for p in paths))

    def show_selected_in_folder(self) -> None:
        """Reveal the selected photos in the file manager (a few folders at most)."""
        shown: set[Path] = set()
        for path in self.selected_paths():
            if path.parent not in shown and len(shown) < _MAX_FOLDERS_SHOWN:
                shown.add(path.parent)
                show_in_folder(path)

    def open_selected(self) -> None:
        """Open the selected photos in the system's viewer (it may say more)."""
        for path in self.selected_paths()[:_MAX_FOLDERS_SHOWN]:
            open_file(path)

    def context_menu_for(self, index: QModelIndex) -> QMenu | None:
        """The row menu at `index` (tests trigger its actions); None off the rows."""
        if not index.isValid():
            return None
        menu = QMenu(self)
        menu.addAction("Show in folder").triggered.connect(self.show_selected_in_folder)
        menu.addAction("Open").triggered.connect(self.open_selected)
        menu.addAction("Copy path").triggered.connect(self.copy_paths)
        return menu

    # -- private ----------------------------------------------------------------

    def _update_summary(self) -> None:
        n = self.total
        photos = photo_count(n)
        if self._retrying is not None:
            text = f"Trying {photo_count(self._retrying)} again…"
            if n:
                text += f" {photos} still could not be read."
        elif n == 0:
            text = "Every photo in the library could be read."
        else:
            they = "it is" if n == 1 else "they are"
            text = (
                f"{photos} could not be read, so {they} left out of the gallery, "
                "searches and near duplicates. Repaired or replaced files are tried "
                "again when they change; Retry all tries every one now."
            )
        if n > self.model.rowCount():
            text += f" Showing the first {self.model.rowCount():,}, by path."
        self.summary_label.setText(text)

    def _update_buttons(self) -> None:
        has_rows = self.model.rowCount() > 0
        selected = bool(self.table.selectionModel().selectedRows())
        self.copy_button.setEnabled(has_rows)
        self.show_button.setEnabled(selected)
        self.retry_button.setEnabled(self.total > 0 and self._retrying is None)

    def _show_details(self, current: QModelIndex, _previous: QModelIndex) -> None:
        pair = current.data(FAILED_PHOTO_ROLE) if current.isValid() else None
        if isinstance(pair, tuple):
            self.details_label.setText(failure_details(*pair))
        else:
            self.details_label.setText(_NO_SELECTION)

    def _on_retry_button_clicked(self) -> None:
        self.retry_button.setEnabled(False)  # until the retry is under way
        self.retry_requested.emit()

    def _on_table_double_clicked(self, index: QModelIndex) -> None:
        pair = index.data(FAILED_PHOTO_ROLE)
        if isinstance(pair, tuple):
            show_in_folder(pair[0])

    def _on_task_failed(self, exc: BaseException) -> None:
        if shiboken6.isValid(self):
            self.summary_label.setText(
                f"The list of failed photos could not be read: {user_message(exc)}"
            )


class _FailedPhotosTable(QTableView):
    """The dialog's table: sortable, whole-row selection, Ctrl+C copies the paths."""

    def __init__(self, dialog: FailedPhotosDialog) -> None:
        super().__init__(dialog)
        self._dialog = dialog
        self.setSortingEnabled(True)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        copy = QAction("Copy paths", self)
        copy.setShortcut(QKeySequence(QKeySequence.StandardKey.Copy))
        copy.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        copy.triggered.connect(dialog.copy_paths)
        self.addAction(copy)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = self._dialog.context_menu_for(self.indexAt(event.pos()))
        if menu is not None:
            menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            menu.popup(self.viewport().mapToGlobal(QPoint(event.pos())))
