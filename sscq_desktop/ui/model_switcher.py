"""`ModelSwitcher`: re-encodes the library for another model, then makes it active.

Runs a switch on the writer lane (through the window's `IndexingWorker`), one at a time:
`LibraryBackend.switch_model` for a model the user chose in Settings, or one a retrain's
check found better (the library decides, this writes). The old model keeps answering
queries until the new codes are complete. Shows progress in the window's status bar;
touches no catalog and decides no switch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from sscq_desktop.ui.errors import show_exception, user_message
from sscq_desktop.ui.library_backend import ModelInfo, ProgressLike
from sscq_desktop.ui.tasks import Task, TaskContext

if TYPE_CHECKING:
    from sscq_desktop.ui.main_window import MainWindow


class ModelSwitcher:
    """Switches `MainWindow` to another model; owned by the window.

    Sets the window's `active_model` (or `last_error`) and emits its `model_did_change`.

    Args:
        window: the window whose backend, writer lane and status bar it uses.
    """

    def __init__(self, window: MainWindow) -> None:
        self._window = window
        self._switch: Task[ModelInfo] | None = None

    def switch(self, model_id: str) -> None:
        """Re-encode the library with `model_id` in the background, then switch to it.

        A switch still running is cancelled first: the latest choice wins.
        """
        backend = self._window.backend
        self._run(
            model_id,
            lambda ctx: backend.switch_model(
                model_id, cancel=ctx.cancel_event, pause=ctx.pause_event
            ),
        )

    def _run(
        self, model_id: str, job: Callable[[TaskContext], Iterable[ProgressLike]]
    ) -> None:
        if self._switch is not None:
            self._switch.cancel()
        window = self._window
        backend = window.backend

        def fn(ctx: TaskContext) -> ModelInfo:
            for progress in job(ctx):
                ctx.report_progress(progress)
            ctx.check_cancelled()
            return backend.active_model()

        task: Task[ModelInfo] = Task(fn, lane="write")
        self._switch = task

        def progress(value: object) -> None:
            window.status_bar.show_progress(f"Re-encoding for {model_id}:", value)  # type: ignore[arg-type]

        def success(model: ModelInfo) -> None:
            window.active_model = model
            window.status_bar.showMessage(f"Now using model {model.model_id}", 10_000)
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
        window.indexer.run_write(task.on_finished(finished))
