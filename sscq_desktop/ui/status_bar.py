"""`StatusBar`: indexing progress, failed photos, the active model and the provider.

Counts, rate, ETA and pause/resume while a job runs; a button naming the photos that
could not be read. Shows what it is told; runs nothing.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QLabel,
    QProgressBar,
    QStatusBar,
    QStyle,
    QToolButton,
    QWidget,
)

from sscq_desktop.library.progress import Progress
from sscq_desktop.library.records import ModelRecord
from sscq_desktop.ui.photo_count import photo_count

MODEL_LABEL_MAX_WIDTH = 340
"""The model's name in the status bar never takes more pixels (elided in the middle)."""


def format_eta(seconds: float | None) -> str:
    """``75`` -> ``"01:15"``, ``3700`` -> ``"1:01:40"`` (tqdm's); ``"…"`` when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "…"
    from tqdm import tqdm  # only once a job reports an ETA: keeps start-up fast

    return tqdm.format_interval(round(seconds))


def job_verb(progress: Progress) -> str:
    """What the indexing job does now: ``"Scanning"`` files, else ``"Indexing"`` photos.

    A scan counts files looked at, not photos indexed: it is not said as indexing, so
    the numbers shown agree with the photo counts.
    """
    return "Scanning" if progress.phase == "scan" else "Indexing"


def format_progress(verb: str, progress: Progress) -> str:
    """``"Indexing 120 / 2,000 · 35.2 photos/s · ETA 00:54"``."""
    parts = [f"{verb} {progress.done:,} / {progress.total:,}"]
    if progress.rate > 0:
        parts.append(f"{progress.rate:.1f} photos/s")
        parts.append(f"ETA {format_eta(progress.eta_s)}")
    return " · ".join(parts)


class StatusBar(QStatusBar):
    """The window's status bar.

    Signals:
        pause_requested(): the user paused the running job.
        resume_requested(): the user resumed it.
        failed_photos_requested(): the user clicked the failed photos button.
    """

    pause_requested = Signal()
    resume_requested = Signal()
    failed_photos_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._shown: tuple[str, int, int] | None = None  # (text, maximum, value)
        self.progress_label = QLabel("")
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(180)
        self.progress_bar.setTextVisible(False)
        self.pause_button = QToolButton()
        self.pause_button.setText("Pause")
        self.pause_button.setCheckable(True)
        self.failed_button = QToolButton()
        self.failed_button.setObjectName("failed_photos_button")
        self.failed_button.setAutoRaise(True)
        self.failed_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.failed_button.setToolButtonStyle(
            Qt.ToolButtonStyle.ToolButtonTextBesideIcon
        )
        self.failed_button.setIcon(
            self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        )
        self.failed_button.setToolTip(
            "Show which photos could not be indexed and why, and try them again"
        )
        self.failed_button.setVisible(False)
        self.model_label = QLabel("Model: …")
        # Never wider than this: a long name is elided, the window never grows for it.
        self.model_label.setMaximumWidth(MODEL_LABEL_MAX_WIDTH)
        self.provider_label = QLabel("")
        self.provider_label.setToolTip(
            "Where the model runs (onnxruntime execution provider)"
        )
        self.addWidget(self.progress_label)
        self.addWidget(self.progress_bar)
        self.addWidget(self.pause_button)
        self.addPermanentWidget(self.failed_button)  # permanent: messages never hide it
        self.addPermanentWidget(self.model_label)
        self.addPermanentWidget(self.provider_label)
        self.pause_button.toggled.connect(self._on_pause_button_toggled)
        self.failed_button.clicked.connect(self._on_failed_button_clicked)
        self.set_idle("")

    def show_progress(self, verb: str, progress: Progress) -> None:
        # Called up to ~10 times a second while indexing: touch only what changed (kept
        # here in Python), since each call into Qt competes for the GIL with indexing.
        text = format_progress(verb, progress)
        maximum = max(progress.total, 0)  # 0: a busy indicator while it is unknown
        value = min(progress.done, maximum)
        shown = self._shown
        if shown is None:
            self.progress_bar.setVisible(True)
            self.pause_button.setVisible(True)
        if shown is None or text != shown[0]:
            self.progress_label.setText(text)
        if shown is None or maximum != shown[1]:
            self.progress_bar.setRange(0, maximum)
        if maximum and (shown is None or value != shown[2]):
            self.progress_bar.setValue(value)
        self._shown = (text, maximum, value)

    def set_idle(self, text: str) -> None:
        self._shown = None
        self.progress_label.setText(text)
        self.progress_bar.setVisible(False)
        self.pause_button.setVisible(False)
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(False)
        self.pause_button.setText("Pause")
        self.pause_button.blockSignals(False)

    def set_model(self, model: ModelRecord | None, provider: str) -> None:
        """Show the active model (None: there is none) and where it runs."""
        if model is None:
            text, tip = "No model: import or train one", ""
        else:
            text = f"Model: {model.display_name}"
            tip = f"{model.display_name}\nModel id: {model.model_id}"
        metrics = self.model_label.fontMetrics()
        self.model_label.setText(
            metrics.elidedText(
                text, Qt.TextElideMode.ElideMiddle, MODEL_LABEL_MAX_WIDTH - 8
            )
        )
        self.model_label.setToolTip(tip or text)
        self.provider_label.setText(provider)

    def set_failed_count(self, count: int) -> None:
        """Show ``"N photos could not be read"`` (a button), or nothing when `count` is 0."""
        if count > 0:
            self.failed_button.setText(f"{photo_count(count)} could not be read")
        self.failed_button.setVisible(count > 0)

    def _on_failed_button_clicked(self) -> None:
        self.failed_photos_requested.emit()

    def _on_pause_button_toggled(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        if paused:
            self.pause_requested.emit()
        else:
            self.resume_requested.emit()
