"""`SettingsDialog`: edit `AppSettings` and choose the active model (default or trained).

Produces a new `AppSettings` (never mutates one); `app.py` saves it. The model list is
read from the library in a `Task`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from sscq_desktop.library.records import ModelRecord
from sscq_desktop.ui.settings import DEVICES, AppSettings
from sscq_desktop.ui.tasks import Task, TaskContext, TaskRunner

if TYPE_CHECKING:
    from sscq_desktop.library.library import Library


class SettingsDialog(QDialog):
    """Preferences and the active model.

    Signals:
        settings_accepted(object): the new `AppSettings`.
        model_chosen(str): the model id the user wants active (may be the current one).
        models_loaded(): the model list is filled.
    """

    settings_accepted = Signal(object)
    model_chosen = Signal(str)
    models_loaded = Signal()

    def __init__(
        self,
        settings: AppSettings,
        library: Library,
        runner: TaskRunner,
        *,
        active_model: ModelRecord | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._settings = settings
        self._active = active_model
        self.model_combo = QComboBox()
        self.model_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToContents  # model ids are long
        )
        self.model_combo.setEnabled(False)
        self.model_combo.addItem("Loading…", None)
        self.k_spin = QSpinBox()
        self.k_spin.setRange(1, 1000)
        self.k_spin.setValue(settings.results_k)
        self.thumb_spin = QSpinBox()
        self.thumb_spin.setRange(64, 320)
        self.thumb_spin.setSingleStep(16)
        self.thumb_spin.setValue(settings.thumbnail_size)
        self.watch_check = QCheckBox("Watch folders for changes")
        self.watch_check.setChecked(settings.watch_folders)
        self.watch_check.setToolTip(
            "New, changed, moved and deleted photos are picked up as they happen "
            "(network drives are polled). Off: folders are rescanned at start-up and "
            "with File > Rescan folders only."
        )
        self.device_combo = QComboBox()
        for device in DEVICES:
            self.device_combo.addItem(
                device.upper() if device != "auto" else "Automatic", device
            )
        self.device_combo.setCurrentIndex(DEVICES.index(settings.device))
        form = QFormLayout()
        form.addRow("Active model:", self.model_combo)
        form.addRow("Results per search:", self.k_spin)
        form.addRow("Thumbnail size (next start):", self.thumb_spin)
        form.addRow("", self.watch_check)
        form.addRow("Training device:", self.device_combo)
        box = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(box)
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)

        def fn(ctx: TaskContext) -> list[ModelRecord]:
            return library.models()

        Task(fn).on_success(self._on_task_models_loaded).start(runner)

    def set_models(self, models: Sequence[ModelRecord]) -> None:
        self.model_combo.clear()
        ordered = sorted(models, key=lambda m: (not m.is_default, m.registered_at))
        for model, label in zip(ordered, model_labels(ordered), strict=True):
            self.model_combo.addItem(label, model.model_id)
            index = self.model_combo.count() - 1
            self.model_combo.setItemData(
                index, f"Model id: {model.model_id}", Qt.ItemDataRole.ToolTipRole
            )
        if self._active is not None:
            self.model_combo.setCurrentIndex(
                max(0, self.model_combo.findData(self._active.model_id))
            )
        self.model_combo.setEnabled(bool(ordered))
        # Laid out around "Loading…": grow to the model names now.
        self.model_combo.updateGeometry()
        if (layout := self.layout()) is not None:
            layout.activate()
        self.adjustSize()
        self.models_loaded.emit()

    def select_default_model(self) -> None:
        self.model_combo.setCurrentIndex(0)  # the default sorts first

    def new_settings(self) -> AppSettings:
        return self._settings.replace(
            results_k=self.k_spin.value(),
            thumbnail_size=self.thumb_spin.value(),
            device=self.device_combo.currentData(),
            watch_folders=self.watch_check.isChecked(),
        )

    def accept(self) -> None:
        self.settings_accepted.emit(self.new_settings())
        model_id = self.model_combo.currentData()
        if isinstance(model_id, str):
            self.model_chosen.emit(model_id)
        super().accept()

    def _on_task_models_loaded(self, models: list[ModelRecord]) -> None:
        if shiboken6.isValid(self):
            self.set_models(models)


def model_labels(models: Sequence[ModelRecord]) -> list[str]:
    """Each model's `display_name`, with its registration time where two would read alike."""
    names = [m.display_name for m in models]
    labels = []
    for model, name in zip(models, names, strict=True):
        moment = model.registered_on
        if names.count(name) > 1 and moment is not None:
            name = f"{name} ({moment:%H:%M:%S})"
        labels.append(name)
    return labels
