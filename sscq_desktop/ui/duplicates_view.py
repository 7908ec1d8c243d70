"""`DuplicatesView`: groups of near-duplicate photos, and moving the extra copies to the trash.

The strictness is a named level chosen on the tab itself (`DUPLICATE_LEVELS`: exact
copies, edited copies, similar shots); changing it searches again. Groups are computed
by the library in a `Task` (`Library.near_duplicates`); each group is a row with its
members underneath: thumbnail, resolution, file size, date taken and folder. "Keep the
best" is preselected: every member but the first (largest resolution, then largest file,
then oldest) is checked for removal. *Move to Trash…* asks for confirmation ("Move 12
photos (34.5 MB) to the Trash?") and moves the checked ones to the desktop's trash
(`Library.move_to_trash`); files that cannot be moved are listed and stay.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QComboBox,
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
from sscq_desktop.library.progress import run_job
from sscq_desktop.library.records import DuplicateGroup, PhotoRecord, TrashOutcome
from sscq_desktop.library.search.duplicates import (
    DEFAULT_LEVEL,
    DUPLICATE_LEVELS,
    duplicate_level,
)
from sscq_desktop.ui.errors import user_message
from sscq_desktop.ui.tasks import LatestRequest, Task, TaskContext, TaskRunner
from sscq_desktop.ui.thumbnail_loader import ThumbnailLoader

if TYPE_CHECKING:
    from sscq_desktop.library.library import Library

_ICON = 72
COLUMNS = ("Photo", "Resolution", "Size", "Date taken", "Folder")


def file_size_text(size: int) -> str:
    """A file size as people read it: ``"840 KB"``, ``"34.5 MB"``, ``"1.2 GB"``."""
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def _date_text(taken_at: str | None) -> str:
    if not taken_at:
        return "—"
    try:
        return datetime.fromisoformat(taken_at).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return taken_at


class DuplicatesView(QWidget):
    """Near-duplicate groups, the strictness selector and the trash button.

    Signals:
        groups_ready(object): the `list[list[PhotoRecord]]` now shown.
        preview_requested(object): a member's `PhotoRecord` was double-clicked.
        level_changed(str): the user picked another level (its key), e.g. to save it.
        trash_done(object): the `TrashOutcome` of a move to the trash.
    """

    groups_ready = Signal(object)
    preview_requested = Signal(object)
    level_changed = Signal(str)
    trash_done = Signal(object)

    def __init__(
        self,
        library: Library,
        runner: TaskRunner,
        loader: ThumbnailLoader,
        *,
        level: str = DEFAULT_LEVEL,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._library = library
        self._runner = runner
        self._loader = loader
        self._requests = LatestRequest()
        self._items: dict[str, list[QTreeWidgetItem]] = {}
        self.loaded = False
        self._trashing = False  # a move to the trash runs: it cannot be started again
        self.groups: list[list[PhotoRecord]] = []
        self.confirm_box: QMessageBox | None = None
        """The open "Move … to the Trash?" question, if any."""
        self.report_box: QMessageBox | None = None
        """The last "could not be moved" report, if any."""
        self.summary = QLabel(
            "Near duplicates: photos that are almost the same picture."
        )
        self.level_combo = QComboBox()
        for rule in DUPLICATE_LEVELS:
            self.level_combo.addItem(rule.label, rule.key)
        self.level_combo.setCurrentIndex(
            self.level_combo.findData(duplicate_level(level).key)
        )
        self.level_combo.setToolTip(
            "Exact copies: resized or re-saved. Edited copies: also cropped, "
            "straightened, brightened or padded. Similar shots: looser still."
        )
        refresh = QPushButton("Refresh")
        self.trash_button = QPushButton("Move to Trash…")
        self.trash_button.setEnabled(False)
        self.trash_button.setToolTip(
            "Move the checked photos to the desktop's trash (the best copy of each "
            "group is unchecked)"
        )
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setIconSize(QSize(_ICON, _ICON))
        self.tree.setUniformRowHeights(False)
        self.tree.setColumnWidth(0, 380)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(QLabel("Strictness:"))
        top.addWidget(self.level_combo)
        top.addWidget(refresh)
        top.addWidget(self.trash_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.tree, 1)
        refresh.clicked.connect(self.refresh)
        self.trash_button.clicked.connect(self.ask_to_trash_marked)
        self.level_combo.currentIndexChanged.connect(self._on_level_combo_changed)
        self.tree.itemDoubleClicked.connect(self._on_tree_item_double_clicked)
        self.tree.itemChanged.connect(self._on_tree_item_changed)
        loader.thumbnail_changed.connect(self._on_loader_thumbnail_changed)
        loader.thumbnails_reset.connect(self._on_loader_thumbnails_reset)

    @property
    def level(self) -> str:
        """The key of the level shown."""
        return str(self.level_combo.currentData())

    def refresh(self) -> None:
        """Look for near duplicates again at the current level (in the background)."""
        library, level = self._library, self.level
        request_id = self._requests.next_id()
        self.summary.setText("Looking for near duplicates…")

        def fn(ctx: TaskContext) -> list[DuplicateGroup]:
            groups = run_job(
                library.near_duplicates(level=level, cancel=ctx.cancel_event)
            )
            ctx.check_cancelled()
            return groups

        def success(groups: list[DuplicateGroup]) -> None:
            if self._requests.is_current(request_id) and shiboken6.isValid(self):
                self.set_groups([g.photos for g in groups])

        def failure(exc: BaseException) -> None:
            if shiboken6.isValid(self):
                self.summary.setText(
                    f"Could not look for duplicates: {user_message(exc)}"
                )

        Task(fn).on_success(success).on_failure(failure).start(self._runner)

    def set_groups(self, groups: Sequence[Sequence[PhotoRecord]]) -> None:
        """Show `groups` (the copy to keep first in each), all but the first checked."""
        self.loaded = True
        self.groups = [list(g) for g in groups]
        self.tree.blockSignals(True)
        self.tree.clear()
        self._items.clear()
        for n, group in enumerate(self.groups, start=1):
            parent = QTreeWidgetItem([f"Group {n} — {len(group)} photos"])
            self.tree.addTopLevelItem(parent)
            for rank, photo in enumerate(group):
                child = QTreeWidgetItem(
                    [
                        display_path(photo.path.name),
                        f"{photo.width or 0} × {photo.height or 0}",
                        file_size_text(photo.size),
                        _date_text(photo.taken_at),
                        display_path(photo.path.parent),
                    ]
                )
                child.setData(0, Qt.ItemDataRole.UserRole, photo)
                child.setToolTip(0, display_path(photo.path))
                child.setSizeHint(0, QSize(_ICON, _ICON + 4))
                child.setFlags(child.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                child.setCheckState(
                    0, Qt.CheckState.Unchecked if rank == 0 else Qt.CheckState.Checked
                )
                self._set_icon(child, photo.path)
                parent.addChild(child)
            parent.setExpanded(True)
        self.tree.blockSignals(False)
        self._update_summary()
        self.groups_ready.emit(self.groups)

    def marked(self) -> list[PhotoRecord]:
        """The photos checked for removal, in the order shown."""
        out: list[PhotoRecord] = []
        for g in range(self.tree.topLevelItemCount()):
            parent = self.tree.topLevelItem(g)
            children = (
                []
                if parent is None
                else [parent.child(c) for c in range(parent.childCount())]
            )
            for child in children:
                if child is not None and child.checkState(0) == Qt.CheckState.Checked:
                    photo = child.data(0, Qt.ItemDataRole.UserRole)
                    if isinstance(photo, PhotoRecord):
                        out.append(photo)
        return out

    def ask_to_trash_marked(self) -> None:
        """Ask "Move N photos (X MB) to the Trash?"; Yes moves them (`trash`)."""
        photos = self.marked()
        if not photos:
            return
        size = sum(p.size for p in photos)
        noun = "photo" if len(photos) == 1 else "photos"
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Move to Trash")
        box.setText(f"Move {len(photos)} {noun} ({file_size_text(size)}) to the Trash?")
        box.setInformativeText(
            "They can be restored from the desktop's trash until it is emptied."
        )
        box.setStandardButtons(
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel
        )
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def finished(result: int) -> None:
            self.confirm_box = None
            if result == QMessageBox.StandardButton.Yes:
                self.trash(photos)

        box.finished.connect(finished)
        self.confirm_box = box
        box.open()  # window-modal, non-blocking

    def trash(self, photos: Sequence[PhotoRecord]) -> None:
        """Move `photos` to the trash in the background, report failures, refresh."""
        library = self._library
        ids = [p.id for p in photos]
        self._trashing = True
        self.trash_button.setEnabled(False)
        self.summary.setText(f"Moving {len(ids)} photos to the Trash…")

        def fn(_ctx: TaskContext) -> TrashOutcome:
            return library.move_to_trash(ids)

        def success(outcome: TrashOutcome) -> None:
            if not shiboken6.isValid(self):
                return
            self._trashing = False
            if outcome.failed:
                self._report_failures(outcome)
            self.trash_done.emit(outcome)
            self.refresh()

        def failure(exc: BaseException) -> None:
            if shiboken6.isValid(self):
                self._trashing = False
                self.summary.setText(
                    f"Could not move to the Trash: {user_message(exc)}"
                )
                self._update_trash_button()

        Task(fn).on_success(success).on_failure(failure).start(self._runner)

    def _report_failures(self, outcome: TrashOutcome) -> None:
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Move to Trash")
        moved = len(outcome.trashed)
        box.setText(
            f"{len(outcome.failed)} photos could not be moved to the Trash and stay "
            f"where they are ({moved} moved, {file_size_text(outcome.freed_bytes)})."
        )
        box.setDetailedText("\n".join(reason for _, reason in outcome.failed))
        box.setStandardButtons(QMessageBox.StandardButton.Ok)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.report_box = box
        box.open()

    def _update_summary(self) -> None:
        total = sum(len(g) for g in self.groups)
        marked = self.marked()
        if not self.groups:
            self.summary.setText("No near duplicates found.")
        else:
            self.summary.setText(
                f"{len(self.groups)} groups of near duplicates ({total} photos); "
                f"{len(marked)} marked for removal "
                f"({file_size_text(sum(p.size for p in marked))})"
            )
        self._update_trash_button()

    def _update_trash_button(self) -> None:
        self.trash_button.setEnabled(not self._trashing and bool(self.marked()))

    def _on_level_combo_changed(self, _index: int) -> None:
        self.level_changed.emit(self.level)
        self.refresh()

    def _on_tree_item_changed(self, _item: QTreeWidgetItem, column: int) -> None:
        if column == 0:
            self._update_summary()

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
        self.tree.blockSignals(True)  # an icon is no change of the check marks
        for item in items:
            item.setIcon(0, QIcon(pix))
        self.tree.blockSignals(False)

    def _on_loader_thumbnails_reset(self) -> None:
        for path in list(self._items):
            self._loader.pixmap(path, _ICON)  # asks again

    def _on_tree_item_double_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        photo = item.data(0, Qt.ItemDataRole.UserRole)
        if isinstance(photo, PhotoRecord):
            self.preview_requested.emit(photo)
