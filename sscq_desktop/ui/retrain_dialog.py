"""`RetrainDialog`: "Retrain on my photos": choices, progress in words, a learning curve.

The trainer runs as a child process driven by `Library.retrain` inside a `Task` on the
job lane (never a reader's thread, for the whole budget); its `Progress` arrives here,
a trainer event in `Progress.event` or the library's own note in `Progress.message`. The
library registers the new model, checks it against the active one on photos it did not
train on and decides (`RetrainOutcome`), switching nothing itself: when the new model is
better, `model_trained` asks the main window to switch to it (as one of its writes, as
Settings does); otherwise `model_kept` says the current model stays (Settings can still
switch to it). Before training, the dialog says whether the library is large enough for
that check. Failure or cancel leaves the active model untouched and says why.

Everything is said in a person's words: time left and photos seen, one learning curve
(the total loss against photos seen, not the loss terms' names), the before/after
figures of the check, and budgets of at least `MIN_MINUTES` (shorter runs cannot learn
enough to beat the model in use).
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

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

from sscq_desktop.library.progress import Progress, run_job
from sscq_desktop.library.retrain.model_check import (
    MIN_CHECKED_LIBRARY,
    check_photo_count,
)
from sscq_desktop.library.retrain.retrain_request import (
    CodeBits,
    RetrainRequest,
    TrainDevice,
)
from sscq_desktop.library.retrain.retrainer import RetrainOutcome, TrainerCommand
from sscq_desktop.model.artifact import ArtifactError
from sscq_desktop.model.encoder import EncoderError
from sscq_desktop.model.trainer_events import (
    DoneEvent,
    EpochEndEvent,
    StartEvent,
    StepEvent,
)
from sscq_desktop.ui.errors import user_message
from sscq_desktop.ui.learning_curve import LearningCurve
from sscq_desktop.ui.settings import MIN_RETRAIN_MINUTES, AppSettings
from sscq_desktop.ui.tasks import Task, TaskCancelled, TaskContext, TaskRunner

if TYPE_CHECKING:
    from sscq_desktop.library.library import Library

logger = logging.getLogger(__name__)

_BITS: tuple[CodeBits, ...] = (16, 32, 64)
_DEVICES: tuple[tuple[str, TrainDevice], ...] = (
    ("Automatic (GPU if available)", "auto"),
    ("CPU", "cpu"),
    ("NVIDIA GPU (CUDA)", "cuda"),
)


class RetrainDialog(QDialog):
    """Train a model on the user's photos.

    Signals:
        training_started(): the child process is being launched.
        training_progressed(object): one `Progress` of the retrain (a trainer event in
            its `event`, or the library's note), on the GUI thread.
        model_trained(object): the registered `ModelRecord` of a new model the library
            found better: switch to it (the dialog switches nothing itself).
        model_kept(object): the registered `ModelRecord` of a new model that is not
            (or could not be checked); the active model stays.
        training_failed(str): a user-readable reason; the active model is unchanged.
        training_cancelled(): the user cancelled; the active model is unchanged.
    """

    training_started = Signal()
    training_progressed = Signal(object)
    model_trained = Signal(object)
    model_kept = Signal(object)
    training_failed = Signal(str)
    training_cancelled = Signal()

    def __init__(
        self,
        library: Library,
        runner: TaskRunner,
        *,
        photo_count: int,
        settings: AppSettings | None = None,
        max_steps: int | None = None,
        trainer_command: TrainerCommand | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        settings = settings if settings is not None else AppSettings()
        self._library = library
        self._runner = runner
        self._trainer_command = trainer_command  # None: the real trainer
        self._task: Task[RetrainOutcome] | None = None
        self.max_steps = max_steps
        self.last_progress: Progress | None = None
        self.note = ""  # the library's remarks before training (how, what is held out)
        self._training = False  # the trainer has started (later notes: the check)
        self._batch_size = 0  # photos per step, from the trainer's start event
        self.setWindowTitle("Retrain on my photos")
        self.setMinimumWidth(560)

        self.photos_label = QLabel(photos_text(photo_count))
        self.photos_label.setWordWrap(True)
        self.bits_combo = QComboBox()
        for bits in _BITS:
            self.bits_combo.addItem(f"{bits} bits ({bits // 8} bytes per photo)", bits)
        self.bits_combo.setCurrentIndex(self.bits_combo.findData(settings.retrain_bits))
        self.minutes_spin = QSpinBox()
        self.minutes_spin.setRange(MIN_RETRAIN_MINUTES, 24 * 60)
        self.minutes_spin.setSingleStep(5)
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
        self.progress_text = QLabel("")
        self.learning_curve = LearningCurve()
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
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status_label)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.progress_text)
        layout.addWidget(self.learning_curve, 1)
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
            bits=bits,
            minutes=float(self.minutes_spin.value()),
            device=device,
            max_steps=self.max_steps,
        )

    def start_training(self) -> None:
        if self._task is not None:
            return
        request = self.request()
        library, command = self._library, self._trainer_command

        def fn(ctx: TaskContext) -> RetrainOutcome:
            # switch=False: the library decides; the window switches, as Settings does.
            job = library.retrain(
                request, command=command, cancel=ctx.cancel_event, switch=False
            )
            try:
                outcome = run_job(job, ctx.report_progress)
            except Exception as exc:
                if ctx.cancelled:  # the library raises on cancel: not a failure
                    raise TaskCancelled from exc
                raise
            ctx.check_cancelled()
            return outcome

        task: Task[RetrainOutcome] = Task(fn, lane="job")
        self._task = task
        self.learning_curve.clear()
        self.progress_text.clear()
        self.note = ""
        self._training = False
        self._batch_size = 0
        self._set_running(True)
        self.status_label.setText("Starting the trainer…")
        self.training_started.emit()
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
        if not shiboken6.isValid(self) or not isinstance(value, Progress):
            return
        self.last_progress = value
        self.training_progressed.emit(value)
        event = value.event
        match event:
            case None:  # the library's note: how it trains (and why), the check
                message = value.message
                if not self._training:
                    self.note = f"{self.note}; {message}" if self.note else message
                self.status_label.setText(message[:1].upper() + message[1:] + ".")
            case StartEvent(config=config):
                self._training = True
                optim = config.get("optim")
                batch = optim.get("batch_size") if isinstance(optim, dict) else None
                self._batch_size = batch if isinstance(batch, int) else 0
                self.status_label.setText(
                    f"Training started ({self.note})."
                    if self.note
                    else "Training started."
                )
            case StepEvent():
                self._show_step(event)
            case EpochEndEvent(epoch=epoch):
                rounds = "once" if epoch == 0 else f"{epoch + 1} times"
                self.status_label.setText(
                    f"Learning from your photos: each has been seen {rounds}."
                )
            case DoneEvent():
                self.progress_bar.setValue(self.progress_bar.maximum())
                self.status_label.setText("Training done; registering the new model…")
            case _:  # other trainer events (eval, checkpoint, error) show nothing
                pass

    def _show_step(self, event: StepEvent) -> None:
        step, total = event.step, event.total_steps
        if total > 0:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(min(step, total))
        seen = step * self._batch_size if self._batch_size else step
        self.learning_curve.add_point(seen, event.losses.get("total"))
        noun = "photos" if self._batch_size else "steps"
        self.progress_text.setText(
            f"{time_left_text(event.eta_s)} · {seen:,} {noun} seen"
        )
        if not self.status_label.text().startswith("Learning from your photos"):
            self.status_label.setText("Learning from your photos…")

    def _on_task_succeeded(self, outcome: RetrainOutcome) -> None:
        self._on_task_finished()  # idle before anyone hears the outcome
        if not shiboken6.isValid(self):
            return
        self.status_label.setText(outcome_text(outcome))
        if outcome.check.better:  # the library decided; the window switches
            self.model_trained.emit(outcome.record)
        else:
            self.model_kept.emit(outcome.record)

    def _on_task_failed(self, exc: BaseException) -> None:
        self._on_task_finished()
        if isinstance(exc, ArtifactError | EncoderError):  # the model, not the training
            message = user_message(exc)
        else:  # a crash of the child process or its runner: say it was the training
            reason = str(exc).strip().rstrip(".") or type(exc).__name__
            message = f"Training failed: {reason}. The active model is unchanged."
        if shiboken6.isValid(self):
            self.status_label.setText(message)
            self.training_failed.emit(message)

    def _on_task_cancelled(self) -> None:
        self._on_task_finished()
        if shiboken6.isValid(self):
            self.status_label.setText(
                "Training cancelled. Your current model is unchanged."
            )
            self.training_cancelled.emit()

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


def photos_text(photo_count: int) -> str:
    """The photos line, saying before training whether the new model can be checked."""
    held_out = check_photo_count(photo_count)
    if held_out:
        return (
            f"{photo_count:,} photos in your library; {held_out:,} of them will be held "
            "out of training to check the new model before switching to it."
        )
    return (
        f"{photo_count:,} photos in your library: too few to check a new model "
        f"({MIN_CHECKED_LIBRARY:,} needed), so it will be kept aside, not switched to "
        "(you can switch to it by hand in Settings)."
    )


def outcome_text(outcome: RetrainOutcome) -> str:
    """What became of a retrained model, in words: the library's decision and why.

    A model that could not be checked gets the reason once and no verdict on its
    quality; with no model in use the new one is used, and said so plainly.
    """
    check = outcome.check
    checked = check.n_photos > 0
    figures = f" {check.summary()}" if checked else ""
    unchecked = f"The new model could not be checked: {check.reason}."
    switching = (
        " Your library is being re-encoded in the background; the app switches to it "
        "when that is done."
    )
    if not check.better:
        if not checked:
            return (
                f"{unchecked} Your current model stays in use; you can switch to the "
                "new one by hand in Settings."
            )
        return (
            "The new model is not measurably better, so your current model stays in "
            f"use ({check.reason}).{figures} You can still switch to it in Settings."
        )
    if outcome.previous_model_id is None:
        no_model = "There was no model in use, so the new one will be used."
        if not checked:
            return f"{unchecked} {no_model}{switching}"
        return f"{no_model}{figures}{switching}"
    if not checked:  # better unchecked: the model in use could not encode
        return (
            f"{unchecked} The current model cannot be used, so the new one will be."
            f"{switching}"
        )
    return f"The new model is better.{figures}{switching}"


def time_left_text(seconds: float | None) -> str:
    """``430`` -> ``"About 7 minutes left"``; rounded as a person would say it."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "Estimating the time left…"
    if seconds < 60:
        return "Less than a minute left"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"About {minutes} minute{'s' if minutes != 1 else ''} left"
    hours, minutes = divmod(minutes, 60)
    hour_text = f"{hours} hour{'s' if hours != 1 else ''}"
    return (
        f"About {hour_text} {minutes} min left"
        if minutes
        else f"About {hour_text} left"
    )
