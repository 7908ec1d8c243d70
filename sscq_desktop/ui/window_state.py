"""`WindowState`: what the main window's helpers share, one value each, with signals.

The settings in use, the active model and where it runs, the library's counts (one
snapshot: photos, folders, failed photos and the indexing progress that goes with them),
the last error and the folder the gallery shows. Helpers write it, widgets follow its
signals; setting a value equal to the current one emits nothing. Holds values only: it
reads no library and runs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from sscq_desktop.library.progress import Progress
from sscq_desktop.library.records import (
    FolderOverview,
    ModelRecord,
    SubfolderOverview,
)
from sscq_desktop.ui.settings import AppSettings


@dataclass(frozen=True)
class LibraryCounts:
    """The library's counts as the window shows them, all from one snapshot.

    The gallery's count, the folder tree and the status bar show this one value, so
    they always agree: the folders' photo counts are counted from the photos the gallery
    was filled from, and `progress` is the indexing report that was current when the
    snapshot was read (its photos are in it).

    Attributes:
        photo_count: Indexed photos in the library.
        folders: The root folders, each with its indexed photo count.
        failed_count: Photos that could not be read.
        progress: The running scan or ingest; None while none runs.
        subfolders: The folders below the roots that hold indexed photos, each with
            its count, in tree order.
        gallery_folder: The folder the gallery shows (its photos at any depth);
            None: all photos.
        gallery_count: The gallery's rows: `photo_count`, or the photos below
            `gallery_folder`.
    """

    photo_count: int = 0
    folders: tuple[FolderOverview, ...] = ()
    failed_count: int = 0
    progress: Progress | None = None
    subfolders: tuple[SubfolderOverview, ...] = ()
    gallery_folder: Path | None = None
    gallery_count: int = 0

    def with_folder_status(self, folders: tuple[FolderOverview, ...]) -> LibraryCounts:
        """These counts with the online or offline state of `folders` (same roots).

        The photo counts stay this snapshot's, so they keep agreeing with the gallery.
        """
        reasons = {f.id: f.offline_reason for f in folders}
        return replace(
            self,
            folders=tuple(
                replace(f, offline_reason=reasons.get(f.id, f.offline_reason))
                for f in self.folders
            ),
        )


class WindowState(QObject):
    """The main window's shared state; each change emits one signal with the new value.

    Signals:
        settings_changed(object): the `AppSettings` in use changed.
        active_model_changed(object): the active `ModelRecord` (or None) changed.
        provider_changed(str): where the model runs changed (an onnxruntime provider).
        counts_changed(object): a new `LibraryCounts` snapshot.
        last_error_changed(object): the last error sentence (or None) changed.
        gallery_folder_changed(object): the folder the gallery shows (a `Path`, or
            None for all photos) changed.

    Args:
        settings: the settings in use at first.
        parent: the owning object (the window).
    """

    settings_changed = Signal(object)
    active_model_changed = Signal(object)
    provider_changed = Signal(str)
    counts_changed = Signal(object)
    last_error_changed = Signal(object)
    gallery_folder_changed = Signal(object)

    def __init__(self, settings: AppSettings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._settings = settings
        self._active_model: ModelRecord | None = None
        self._provider = ""
        self._counts: LibraryCounts | None = None
        self._last_error: str | None = None
        self._gallery_folder: Path | None = None

    @property
    def settings(self) -> AppSettings:
        """The settings in use."""
        return self._settings

    @settings.setter
    def settings(self, value: AppSettings) -> None:
        if value != self._settings:
            self._settings = value
            self.settings_changed.emit(value)

    @property
    def active_model(self) -> ModelRecord | None:
        """The model that answers searches; None before the first refresh or without one."""
        return self._active_model

    @active_model.setter
    def active_model(self, value: ModelRecord | None) -> None:
        if value != self._active_model:
            self._active_model = value
            self.active_model_changed.emit(value)

    @property
    def provider(self) -> str:
        """Where the model runs (``"CPU"``, ``"CUDA"``...); empty until known."""
        return self._provider

    @provider.setter
    def provider(self, value: str) -> None:
        if value != self._provider:
            self._provider = value
            self.provider_changed.emit(value)

    @property
    def counts(self) -> LibraryCounts | None:
        """The last snapshot of the library's counts; None before the first one."""
        return self._counts

    @counts.setter
    def counts(self, value: LibraryCounts) -> None:
        if value != self._counts:
            self._counts = value
            self.counts_changed.emit(value)

    @property
    def photo_count(self) -> int:
        """Indexed photos in the last snapshot (0 before the first)."""
        return 0 if self._counts is None else self._counts.photo_count

    @property
    def failed_count(self) -> int:
        """Photos that could not be read, in the last snapshot (0 before the first)."""
        return 0 if self._counts is None else self._counts.failed_count

    @property
    def last_error(self) -> str | None:
        """The last error, as a sentence for the user; None until one happens."""
        return self._last_error

    @last_error.setter
    def last_error(self, value: str | None) -> None:
        if value != self._last_error:
            self._last_error = value
            self.last_error_changed.emit(value)

    @property
    def gallery_folder(self) -> Path | None:
        """The folder whose photos (at any depth) the gallery shows; None: all photos."""
        return self._gallery_folder

    @gallery_folder.setter
    def gallery_folder(self, value: Path | None) -> None:
        if value != self._gallery_folder:
            self._gallery_folder = value
            self.gallery_folder_changed.emit(value)
