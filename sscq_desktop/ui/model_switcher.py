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

from sscq_desktop.library.progress import Progress
from sscq_desktop.library.records import ModelRecord
from sscq_desktop.ui.errors import show_exception, user_message
from sscq_desktop.ui.tasks import Task, TaskContext

if TYPE_CHECKING:
    from sscq_desktop.ui.main_window import MainWindow


class ModelSwitcher:
    """Switches `MainWindow` to another model; owned by the window.

    Sets the window's `active_model` (or `last_error`) and emits its `model_did_change`.

    Args:
        window: the window whose library, indexer and status bar it uses.
    """

    def __init__(self, window: MainWindow) -> None:
        self._window = window
        self._switch: Task[ModelRecord | None] | None = None

    def switch(self, model_id: str) -> None:
        """Re-encode the library with `model_id` in the background, then switch to it.

        A switch still running is cancelled first: the latest choice wins.
        """
        if self._switch is not None:
            self._switch.cancel()
        window = self._window
        library = window.library

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
            window.status_bar.show_progress(f"Re-encoding for {model_id}:", value)

        def success(model: ModelRecord | None) -> None:
            window.active_model = model
            if model is not None:
                message = f"Now using model {model.model_id}"
                window.status_bar.showMessage(message, 10_000)
            window.model_did_change.emit(model)
            window.results_panel.refresh()

        def failure(exc: BaseException) -> None:
            window.last_error = user_message(exc)
            show_exception(window, exc, title="The model was not switched")

        def finished() -> None:
            if self._switch is task:
                self._switch = None
            window.status_bar.set_idle(window.library_sync.summary())
            window.refresh_library()

        task.on_progress(progress).on_success(success).on_failure(failure)
        window.indexer.write(task.on_finished(finished))
