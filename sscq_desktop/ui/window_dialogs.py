"""`WindowDialogs`: opens `MainWindow`'s preview, retraining and settings dialogs.

Routes what the dialogs report to the window's public methods (`find_similar`,
`switch_model`, `apply_settings`): a model chosen in Settings and a retrained model the
library found better are both switched to through `switch_model`, one of its writes.
Keeps no settings or model state of its own, only the one open retraining dialog.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt

from sscq_desktop.library.records import ModelRecord, SearchHit
from sscq_desktop.ui.preview_dialog import PreviewDialog
from sscq_desktop.ui.retrain_dialog import RetrainDialog
from sscq_desktop.ui.settings import AppSettings
from sscq_desktop.ui.settings_dialog import SettingsDialog

if TYPE_CHECKING:
    from sscq_desktop.ui.main_window import MainWindow


class WindowDialogs(QObject):
    """The dialogs of `MainWindow`; owned by the window (its parent).

    Attributes:
        retrain_dialog: the retraining dialog while it is open (at most one).

    Args:
        window: the window the dialogs open over.
    """

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        self.retrain_dialog: RetrainDialog | None = None

    def show_preview(self, photo: object) -> PreviewDialog | None:
        """Show a larger view of `photo` (anything with a `path`); None without one."""
        path = getattr(photo, "path", None)
        if not isinstance(path, Path):
            return None
        window = self._window
        dialog = PreviewDialog(
            path,
            window.runner,
            window.library,
            hit=photo if isinstance(photo, SearchHit) else None,
            parent=window,
        )
        dialog.find_similar_requested.connect(lambda: window.find_similar(photo))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def open_retrain_dialog(self) -> RetrainDialog:
        """Show the retraining dialog, or raise the one already open."""
        if self.retrain_dialog is not None:
            self.retrain_dialog.raise_()
            return self.retrain_dialog
        window = self._window
        dialog = RetrainDialog(
            window.library,
            window.runner,
            photo_count=window.gallery_model.rowCount(),
            settings=window.settings,
            trainer_command=window.trainer_command,
            parent=window,
        )
        dialog.model_trained.connect(self._on_retrain_dialog_model_trained)
        dialog.finished.connect(self._on_retrain_dialog_finished)
        self.retrain_dialog = dialog
        dialog.show()
        return dialog

    def open_settings_dialog(self) -> SettingsDialog:
        """Open the (window-modal) settings dialog over the current settings."""
        window = self._window
        dialog = SettingsDialog(
            window.settings,
            window.library,
            window.runner,
            active_model=window.active_model,
            parent=window,
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
        self._window.switch_model(model.model_id)

    def _on_retrain_dialog_finished(self, _result: int) -> None:
        if self.retrain_dialog is not None:
            self.retrain_dialog.deleteLater()
        self.retrain_dialog = None

    def _on_settings_dialog_settings_accepted(self, settings: object) -> None:
        assert isinstance(settings, AppSettings)
        self._window.apply_settings(settings)

    def _on_settings_dialog_model_chosen(self, model_id: str) -> None:
        active = self._window.active_model
        if active is None or model_id != active.model_id:
            self._window.switch_model(model_id)
