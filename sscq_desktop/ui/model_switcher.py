"""`ModelSwitcher`: re-encodes the library for another model, then makes it active.

Runs a switch as a write of the window (`IndexingWorker.write`), one at a time:
`Library.switch_model` for a model the user chose in Settings, or one a retrain's
check found better (the library decides, this writes), then `Library.ingest`, which
re-encodes the library (on the watch loop, between two batches, while the folders are
watched). The old model keeps answering queries until the new codes are complete.
Shows progress in the window's status bar; touches no catalog and decides no switch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from sscq_desktop.library.progress import Progress
from sscq_desktop.library.records import ModelRecord
from sscq_desktop.ui.errors import show_exception, user_message
from sscq_desktop.ui.indexing_worker import IndexingWorker
from sscq_desktop.ui.library_sync import LibrarySync
from sscq_desktop.ui.status_bar import StatusBar
from sscq_desktop.ui.tasks import Task, TaskContext
from sscq_desktop.ui.window_state import WindowState

if TYPE_CHECKING:
    from sscq_desktop.library.library import Library


class ModelSwitcher(QObject):
    """Switches the library to another model; owned by the window.

    Sets the state's `active_model` (or `last_error`).

    Signals:
        model_switched(object): the switch ended; the active `ModelRecord` (or None).

    Args:
        state: the window's shared state.
        library: the library it switches.
        indexer: runs the switch as one of the window's writes.
        sync: refreshes the counts (and the idle status) once the switch ends.
        status_bar: shows the re-encoding's progress.
        parent: the window error messages open over (and this object's parent).
    """

    model_switched = Signal(object)

    def __init__(
        self,
        state: WindowState,
        library: Library,
        indexer: IndexingWorker,
        sync: LibrarySync,
        status_bar: StatusBar,
        *,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self._state = state
        self._library = library
        self._indexer = indexer
        self._sync = sync
        self._status_bar = status_bar
        self._widget = parent
        self._switch: Task[ModelRecord | None] | None = None

    def switch(self, model_id: str) -> None:
        """Re-encode the library with `model_id` in the background, then switch to it.

        A switch still running is cancelled first: the latest choice wins.
        """
        if self._switch is not None:
            self._switch.cancel()
        library = self._library
        status_bar = self._status_bar

        def fn(ctx: TaskContext) -> ModelRecord | None:
            if not library.switch_model(model_id):
                # Pending: ingest re-encodes with the new model, then switches at once.
                job = library.ingest(cancel=ctx.cancel_event, pause=ctx.pause_event)
                for progress in job:
                    ctx.report_progress(progress)
            ctx.check_cancelled()
            return library.active_model()

        task: Task[ModelRecord | None] = Task(fn, lane="write")
        self._switch = task

        def progress(value: object) -> None:
            assert isinstance(value, Progress)
            status_bar.show_progress(
                "Re-encoding your photos for the new model:", value
            )

        def success(model: ModelRecord | None) -> None:
            self._state.active_model = model
            if model is not None:
                message = f"Now using {model.display_name}"
                status_bar.showMessage(message, 10_000)
            self.model_switched.emit(model)

        def failure(exc: BaseException) -> None:
            self._state.last_error = user_message(exc)
            show_exception(self._widget, exc, title="The model was not switched")

        def finished() -> None:
            if self._switch is task:
                self._switch = None
            self._sync.refresh()  # its counts put the idle status back

        task.on_progress(progress).on_success(success).on_failure(failure)
        self._indexer.write(task.on_finished(finished))
