"""`WindowDialogs`: opens `MainWindow`'s preview, retraining and settings dialogs.

Turns what the dialogs report into its signals, which the window routes to its public
methods (`find_similar`, `switch_model`, `apply_settings`): a model chosen in Settings
and a retrained model the library found better are both switched to through
`switch_model`, one of its writes. Reads settings, the active model and the photo count
from the window's `WindowState`; keeps only the one open retraining dialog.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QWidget

from sscq_desktop.library.records import ModelRecord, PhotoRecord, SearchHit
from sscq_desktop.library.retrain.retrainer import TrainerCommand
from sscq_desktop.ui.preview_dialog import PreviewDialog
from sscq_desktop.ui.retrain_dialog import RetrainDialog
from sscq_desktop.ui.settings import AppSettings
from sscq_desktop.ui.settings_dialog import SettingsDialog
from sscq_desktop.ui.tasks import TaskRunner
from sscq_desktop.ui.window_state import WindowState

if TYPE_CHECKING:
    from sscq_desktop.library.library import Library


class WindowDialogs(QObject):
    """The dialogs of `MainWindow`; owned by the window (its parent).

    Attributes:
        retrain_dialog: the retraining dialog while it is open (at most one).
        trainer_command: builds the trainer's command line for the next retraining
            dialog (None: the real trainer); tests replace it.

    Signals:
        find_similar_requested(object): a preview asked to search from its photo.
        settings_accepted(object): the user saved new `AppSettings`.
        switch_requested(str): switch to this model id (chosen, or retrained and better).

    Args:
        state: the window's shared state (settings, active model, photo count).
        library: the library the dialogs read.
        runner: runs the dialogs' work off the GUI thread.
        trainer_command: builds the trainer's command line (None: the real trainer).
        parent: the window the dialogs open over (and this object's parent).
    """

    find_similar_requested = Signal(object)
    settings_accepted = Signal(object)
    switch_requested = Signal(str)

    def __init__(
        self,
        state: WindowState,
        library: Library,
        runner: TaskRunner,
        *,
        trainer_command: TrainerCommand | None,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self._state = state
        self._library = library
        self._runner = runner
        self.trainer_command = trainer_command
        self._widget = parent
        self.retrain_dialog: RetrainDialog | None = None

    def show_preview(
        self, photo: object, siblings: Sequence[object] = ()
    ) -> PreviewDialog | None:
        """Show a larger view of `photo` (a `PhotoRecord` or `SearchHit`); None otherwise.

        Previous / Next step through `siblings` (the list `photo` was opened from, in
        its order), when `photo` is one of them.
        """
        if not isinstance(photo, PhotoRecord | SearchHit):
            return None
        photos = [p for p in siblings if isinstance(p, PhotoRecord | SearchHit)]
        if photo not in photos:
            photos = [photo]
        dialog = PreviewDialog(
            photos,
            photos.index(photo),
            self._runner,
            self._library,
            parent=self._widget,
        )
        dialog.find_similar_requested.connect(self.find_similar_requested)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def open_retrain_dialog(self) -> RetrainDialog:
        """Show the retraining dialog, or raise the one already open."""
        if self.retrain_dialog is not None:
            self.retrain_dialog.raise_()
            return self.retrain_dialog
        dialog = RetrainDialog(
            self._library,
            self._runner,
            photo_count=self._state.photo_count,
            settings=self._state.settings,
            trainer_command=self.trainer_command,
            parent=self._widget,
        )
        dialog.model_trained.connect(self._on_retrain_dialog_model_trained)
        dialog.finished.connect(self._on_retrain_dialog_finished)
        self.retrain_dialog = dialog
        dialog.show()
        return dialog

    def open_settings_dialog(self) -> SettingsDialog:
        """Open the (window-modal) settings dialog over the current settings."""
        dialog = SettingsDialog(
            self._state.settings,
            self._library,
            self._runner,
            active_model=self._state.active_model,
            parent=self._widget,
        )
        dialog.settings_accepted.connect(self._on_settings_dialog_settings_accepted)
        dialog.model_chosen.connect(self._on_settings_dialog_model_chosen)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def cancel_training(self) -> None:
        """Stop a training run of the open retraining dialog, if any."""
        if self.retrain_dialog is not None:
            self.retrain_dialog.cancel_training()

    def _on_retrain_dialog_model_trained(self, model: object) -> None:
        # The library decided (its check found the model better) but switched nothing:
        # the switch is one of the window's writes, as for a model chosen in Settings.
        assert isinstance(model, ModelRecord)
        self.switch_requested.emit(model.model_id)

    def _on_retrain_dialog_finished(self, _result: int) -> None:
        if self.retrain_dialog is not None:
            self.retrain_dialog.deleteLater()
        self.retrain_dialog = None

    def _on_settings_dialog_settings_accepted(self, settings: object) -> None:
        assert isinstance(settings, AppSettings)
        self.settings_accepted.emit(settings)

    def _on_settings_dialog_model_chosen(self, model_id: str) -> None:
        active = self._state.active_model
        if active is None or model_id != active.model_id:
            self.switch_requested.emit(model_id)
