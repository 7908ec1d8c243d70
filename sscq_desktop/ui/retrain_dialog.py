"""`RetrainDialog`: "Retrain on my photos": choices, live progress, loss plot, cancel.

The trainer runs as a child process driven by `LibraryBackend.retrain` inside a `Task`;
its JSON-lines events arrive here as progress. On success the new model is registered and
`model_trained` is emitted (the main window re-encodes and switches); failure or cancel
leaves the active model untouched and says why.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from sscq_desktop.ui.errors import user_message
from sscq_desktop.ui.library_backend import (
    CodeBits,
    LibraryBackend,
    ModelInfo,
    RetrainRequest,
    TrainDevice,
)
from sscq_desktop.ui.loss_plot import LossPlot
from sscq_desktop.ui.settings import AppSettings
from sscq_desktop.ui.signals import emit
from sscq_desktop.ui.status_bar import format_eta
from sscq_desktop.ui.tasks import Task, TaskCancelled, TaskContext, TaskRunner

logger = logging.getLogger(__name__)

_BITS: tuple[CodeBits, ...] = (16, 32, 64)
_DEVICES: tuple[tuple[str, TrainDevice], ...] = (
    ("Automatic (GPU if available)", "auto"),
    ("CPU", "cpu"),
    ("NVIDIA GPU (CUDA)", "cuda"),
)


class RetrainError(RuntimeError):
    """The trainer ended without a model (crash, bad output)."""


class RetrainDialog(QDialog):
    """Train a model on the user's photos.

    Signals:
        training_started(): the child process is being launched.
        training_progressed(object): one trainer event (a dict), on the GUI thread.
        model_trained(object): the registered `ModelInfo` of the new model.
        training_failed(str): a user-readable reason; the active model is unchanged.
        training_cancelled(): the user cancelled; the active model is unchanged.
    """

    training_started = Signal()
    training_progressed = Signal(object)
    model_trained = Signal(object)
    training_failed = Signal(str)
    training_cancelled = Signal()

    def __init__(
        self,
        backend: LibraryBackend,
        runner: TaskRunner,
        *,
        photo_count: int,
        settings: AppSettings | None = None,
        max_steps: int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        settings = settings if settings is not None else AppSettings()
        self._backend = backend
        self._runner = runner
        self._task: Task[ModelInfo] | None = None
        self.max_steps = max_steps
        self.last_event: Mapping[str, Any] | None = None
        self.note = ""  # how the run trains, from the backend's ``note`` event
        self.setWindowTitle("Retrain on my photos")
        self.setMinimumWidth(560)

        self.photos_label = QLabel(f"{photo_count:,} photos in your library")
        self.bits_combo = QComboBox()
        for bits in _BITS:
            self.bits_combo.addItem(f"{bits} bits ({bits // 8} bytes per photo)", bits)
        self.bits_combo.setCurrentIndex(self.bits_combo.findData(settings.retrain_bits))
        self.minutes_spin = QSpinBox()
        self.minutes_spin.setRange(1, 24 * 60)
        self.minutes_spin.setSuffix(" min")
        self.minutes_spin.setValue(settings.retrain_minutes)
        self.device_combo = QComboBox()
        for label, device in _DEVICES:
            self.device_combo.addItem(label, device)
        self.device_combo.setCurrentIndex(
            [d for _, d in _DEVICES].index(settings.device)
        )
        form = QFormLayout()
        form.addRow("Photos:", self.photos_label)
        form.addRow("Code length:", self.bits_combo)
        form.addRow("Time budget:", self.minutes_spin)
        form.addRow("Device:", self.device_combo)

        self.status_label = QLabel(
            "Learns a similarity model from your own photos, on this computer. "
            "Your current model keeps working until the new one is ready."
        )
        self.status_label.setWordWrap(True)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 100)
        self.progress_bar.setValue(0)
        self.eta_label = QLabel("")
        self.usage_label = QLabel("")
        self.loss_plot = LossPlot()
        self.start_button = QPushButton("Start training")
        self.start_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel training")
        self.cancel_button.setEnabled(False)
        self.close_button = QPushButton("Close")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.close_button)
        stats = QHBoxLayout()
        stats.addWidget(self.eta_label, 1)
        stats.addWidget(self.usage_label)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status_label)
        layout.addWidget(self.progress_bar)
        layout.addLayout(stats)
        layout.addWidget(self.loss_plot, 1)
        layout.addLayout(buttons)
        self.start_button.clicked.connect(self.start_training)
        self.cancel_button.clicked.connect(self.cancel_training)
        self.close_button.clicked.connect(self.close)

    @property
    def running(self) -> bool:
        return self._task is not None

    def request(self) -> RetrainRequest:
        """The `RetrainRequest` the current choices describe."""
        bits: CodeBits = self.bits_combo.currentData()
        device: TrainDevice = self.device_combo.currentData()
        return RetrainRequest(
            code_bits=bits,
            time_budget_s=60.0 * self.minutes_spin.value(),
            device=device,
            max_steps=self.max_steps,
        )

    def start_training(self) -> None:
        if self._task is not None:
            return
        request = self.request()
        backend = self._backend

        def fn(ctx: TaskContext) -> ModelInfo:
            artifact: str | None = None
            try:
                for event in backend.retrain(request, cancel=ctx.cancel_event):
                    ctx.report_progress(dict(event))
                    kind = event.get("event")
                    if kind == "error":
                        message = event.get("message", "the trainer reported an error")
                        raise RetrainError(str(message))
                    if kind == "done":
                        artifact = str(event.get("artifact", "")) or None
            except Exception as exc:
                if (
                    ctx.cancelled
                ):  # a backend may raise on cancel: that is not a failure
                    raise TaskCancelled from exc
                raise
            ctx.check_cancelled()
            if artifact is None:
                raise RetrainError("the trainer stopped without producing a model")
            return backend.register_model(Path(artifact))

        task: Task[ModelInfo] = Task(fn)
        self._task = task
        self.loss_plot.clear()
        self.note = ""
        self._set_running(True)
        self.status_label.setText("Starting the trainer…")
        emit(self.training_started)
        task.on_progress(self._on_task_progress).on_success(self._on_task_succeeded)
        task.on_failure(self._on_task_failed).on_cancelled(self._on_task_cancelled)
        task.on_finished(self._on_task_finished).start(self._runner)

    def cancel_training(self) -> None:
        """Stop the trainer now; the active model is not touched."""
        if self._task is not None:
            self._task.cancel()
            self.status_label.setText("Cancelling…")
            self.cancel_button.setEnabled(False)

    def _set_running(self, running: bool) -> None:
        for widget in (
            self.bits_combo,
            self.minutes_spin,
            self.device_combo,
            self.start_button,
        ):
            widget.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.start_button.setText("Start training" if not running else "Training…")

    def _on_task_progress(self, value: object) -> None:
        if not isinstance(value, dict) or not shiboken6.isValid(self):
            return
        self.last_event = value
        emit(self.training_progressed, value)
        kind = value.get("event")
        if kind == "note":  # the library says how it trains (warm start or not, why)
            self.note = str(value.get("message") or "")
            self.status_label.setText(self.note[:1].upper() + self.note[1:] + ".")
        elif kind == "start":
            self.status_label.setText(
                f"Training started ({self.note})." if self.note else "Training started."
            )
        elif kind == "step":
            self._show_step(value)
        elif kind == "epoch_end":
            self.status_label.setText(f"Epoch {value.get('epoch', '?')} done.")
        elif kind == "done":
            self.progress_bar.setValue(self.progress_bar.maximum())
            self.status_label.setText("Training done; registering the new model…")

    def _show_step(self, event: Mapping[str, Any]) -> None:
        step = _number(event.get("step"))
        total = _number(event.get("total_steps"))
        if step is not None and total:
            self.progress_bar.setRange(0, int(total))
            self.progress_bar.setValue(int(min(step, total)))
        losses = event.get("losses")
        if isinstance(losses, dict) and step is not None:
            self.loss_plot.add_point(step, losses)
        eta = _number(event.get("eta_s"))
        rate = _number(event.get("images_per_s"))
        parts = [
            f"Step {int(step or 0):,} of {int(total or 0):,}",
            f"ETA {format_eta(eta)}",
        ]
        if rate:
            parts.append(f"{rate:.0f} images/s")
        self.eta_label.setText(" · ".join(parts))
        usage = event.get("codeword_usage")
        if (
            isinstance(usage, list)
            and usage
            and all(isinstance(u, int | float) for u in usage)
        ):
            mean = sum(usage) / len(usage)
            self.usage_label.setText(
                f"Codeword usage {mean:.0%}"
                if mean <= 1
                else f"Codeword usage {mean:.1f}"
            )
        self.status_label.setText("Training on your photos…")

    def _on_task_succeeded(self, model: ModelInfo) -> None:
        self._on_task_finished()  # idle before anyone hears the outcome
        if shiboken6.isValid(self):
            self.status_label.setText(
                f"New model {model.model_id} is ready. Your library is being re-encoded in "
                "the background; the app switches to it when that is done."
            )
            emit(self.model_trained, model)

    def _on_task_failed(self, exc: BaseException) -> None:
        self._on_task_finished()
        if type(exc).__name__ in ("ArtifactError", "EncoderError"):
            message = user_message(exc)
        else:  # a crash of the child process or its runner: say it was the training
            reason = str(exc).strip().rstrip(".") or type(exc).__name__
            message = f"Training failed: {reason}. The active model is unchanged."
        if shiboken6.isValid(self):
            self.status_label.setText(message)
            emit(self.training_failed, message)

    def _on_task_cancelled(self) -> None:
        self._on_task_finished()
        if shiboken6.isValid(self):
            self.status_label.setText(
                "Training cancelled. Your current model is unchanged."
            )
            emit(self.training_cancelled)

    def _on_task_finished(self) -> None:
        self._task = None
        if shiboken6.isValid(self):
            self._set_running(False)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.cancel_training()
        super().closeEvent(event)

    def reject(self) -> None:
        self.cancel_training()
        super().reject()


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
