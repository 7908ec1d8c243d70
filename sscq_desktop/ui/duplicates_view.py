"""`DuplicatesView`: groups of near-duplicate photos, kept apart from "similar" results.

Strict by default (a high score threshold); computed by the library in a `Task`
(`Library.near_duplicates` with that score); each group is a row with its members'
thumbnails underneath.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from sscq_desktop.library.path_text import display_path
from sscq_desktop.library.progress import run_job
from sscq_desktop.library.records import PhotoRecord
from sscq_desktop.ui.errors import user_message
from sscq_desktop.ui.tasks import LatestRequest, Task, TaskContext, TaskRunner
from sscq_desktop.ui.thumbnail_loader import ThumbnailLoader

if TYPE_CHECKING:
    from sscq_desktop.library.library import Library

_ICON = 72


class DuplicatesView(QWidget):
    """Near-duplicate groups.

    Signals:
        groups_ready(object): the `list[list[PhotoRecord]]` now shown.
        preview_requested(object): a member's `PhotoRecord` was double-clicked.
    """

    groups_ready = Signal(object)
    preview_requested = Signal(object)

    def __init__(
        self,
        library: Library,
        runner: TaskRunner,
        loader: ThumbnailLoader,
        *,
        threshold: float = 0.95,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._library = library
        self._runner = runner
        self._loader = loader
        self._requests = LatestRequest()
        self._items: dict[str, list[QTreeWidgetItem]] = {}
        self.threshold = threshold
        self.loaded = False
        self.groups: list[list[PhotoRecord]] = []
        self.summary = QLabel(
            "Near duplicates: photos that are almost the same picture."
        )
        refresh = QPushButton("Refresh")
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Photo", "Folder"])
        self.tree.setIconSize(QSize(_ICON, _ICON))
        self.tree.setUniformRowHeights(False)
        self.tree.setColumnWidth(0, 420)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(refresh)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.tree, 1)
        refresh.clicked.connect(self.refresh)
        self.tree.itemDoubleClicked.connect(self._on_tree_item_double_clicked)
        loader.thumbnail_changed.connect(self._on_loader_thumbnail_changed)
        loader.thumbnails_reset.connect(self._on_loader_thumbnails_reset)

    def refresh(self) -> None:
        library, threshold = self._library, self.threshold
        request_id = self._requests.next_id()
        self.summary.setText("Looking for near duplicates…")

        def fn(ctx: TaskContext) -> list[list[PhotoRecord]]:
            groups = run_job(
                library.near_duplicates(min_score=threshold, cancel=ctx.cancel_event)
            )
            ctx.check_cancelled()
            members = [[library.photo(pid) for pid in g.photo_ids] for g in groups]
            # A photo removed since the scan is left out; so is a group left alone.
            found = [[p for p in group if p is not None] for group in members]
            return [group for group in found if len(group) > 1]

        def success(groups: list[list[PhotoRecord]]) -> None:
            if self._requests.is_current(request_id) and shiboken6.isValid(self):
                self.set_groups(groups)

        def failure(exc: BaseException) -> None:
            if shiboken6.isValid(self):
                self.summary.setText(
                    f"Could not look for duplicates: {user_message(exc)}"
                )

        Task(fn).on_success(success).on_failure(failure).start(self._runner)

    def set_groups(self, groups: Sequence[Sequence[PhotoRecord]]) -> None:
        self.loaded = True
        self.groups = [list(g) for g in groups]
        self.tree.clear()
        self._items.clear()
        for n, group in enumerate(self.groups, start=1):
            parent = QTreeWidgetItem([f"Group {n} — {len(group)} photos", ""])
            self.tree.addTopLevelItem(parent)
            for photo in group:
                child = QTreeWidgetItem(
                    [display_path(photo.path.name), display_path(photo.path.parent)]
                )
                child.setData(0, Qt.ItemDataRole.UserRole, photo)
                child.setToolTip(0, display_path(photo.path))
                child.setSizeHint(0, QSize(_ICON, _ICON + 4))
                self._set_icon(child, photo.path)
                parent.addChild(child)
            parent.setExpanded(True)
        total = sum(len(g) for g in self.groups)
        self.summary.setText(
            f"{len(self.groups)} groups of near duplicates ({total} photos)"
            if self.groups
            else "No near duplicates found."
        )
        self.groups_ready.emit(self.groups)

    def _set_icon(self, item: QTreeWidgetItem, path: Path) -> None:
        pix = self._loader.pixmap(path, _ICON)
        if pix is None:  # kept until the library's thumbnail arrives
            self._items.setdefault(str(path), []).append(item)
            pix = self._loader.thumbnail(path, _ICON)
        item.setIcon(0, QIcon(pix))

    def _on_loader_thumbnail_changed(self, path: str, size: int) -> None:
        items = self._items.get(path) if size == _ICON else None
        if not items:
            return
        pix = self._loader.pixmap(path, size)
        if pix is None:  # pending or failed: its placeholder says which
            pix = self._loader.thumbnail(path, size)
        else:
            del self._items[path]
        for item in items:
            item.setIcon(0, QIcon(pix))

    def _on_loader_thumbnails_reset(self) -> None:
        for path in list(self._items):
            self._loader.pixmap(path, _ICON)  # asks again

    def _on_tree_item_double_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        photo = item.data(0, Qt.ItemDataRole.UserRole)
        if isinstance(photo, PhotoRecord):
            self.preview_requested.emit(photo)
