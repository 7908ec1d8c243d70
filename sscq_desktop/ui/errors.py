"""Turn exceptions into clear, non-blocking messages for the user.

`user_message` is pure (tested without widgets) and tells the library's and the model's
own exceptions apart by their classes; `show_exception` opens a window-modal message box
that never blocks the event loop, with the traceback only in "Show Details". No
traceback is ever the main text.
"""

from __future__ import annotations

import logging
import traceback

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from sscq_desktop.library.images.image_loader import ImageLoadError
from sscq_desktop.library.models.model_manager import NoModelError
from sscq_desktop.library.retrain.trainer_process import RetrainError
from sscq_desktop.model.artifact import ArtifactError
from sscq_desktop.model.encoder import EncoderError

logger = logging.getLogger(__name__)


def user_message(exc: BaseException) -> str:
    """One or two sentences a user can act on, for any exception."""
    name = type(exc).__name__
    text = str(exc).strip() or name
    if isinstance(exc, FileNotFoundError):
        where = exc.filename or text
        return f"The file or folder {where} is no longer there. It may have been moved, deleted or disconnected."
    if isinstance(exc, PermissionError):
        where = exc.filename or text
        return f"SSCQ Desktop is not allowed to read {where}. Check its permissions."
    if isinstance(exc, ArtifactError):
        return f"The model file cannot be used: {text}. The active model is unchanged."
    if isinstance(exc, ImageLoadError):  # the reason the library recorded
        return f"The image cannot be opened: {text}."
    if isinstance(exc, EncoderError):
        return f"The model could not run: {text}"
    if isinstance(exc, RetrainError):
        return f"Training failed: {text}. The active model is unchanged."
    if isinstance(exc, NoModelError):
        return (
            f"There is no model to search with ({text}). Import a model, or go back "
            "to the default model in Settings."
        )
    if isinstance(exc, OSError):
        return f"A file could not be read or written: {text}"
    if isinstance(exc, ValueError):
        return text[0].upper() + text[1:] if text else name
    return f"Something went wrong: {text}"


def show_exception(
    parent: QWidget | None, exc: BaseException, *, title: str = "SSCQ Desktop"
) -> QMessageBox:
    """Log `exc` and show it as a message box; returns the (already open) box."""
    logger.error("%s", user_message(exc), exc_info=(type(exc), exc, exc.__traceback__))
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    box.setText(user_message(exc))
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    box.setDetailedText(details)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()  # window-modal and non-blocking: the event loop keeps running
    return box
