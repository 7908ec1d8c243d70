from __future__ import annotations

import threading

import pytest
from pytestqt.qtbot import QtBot

from sscq_desktop.ui.tasks import (
    LatestRequest,
    Task,
    TaskContext,
    TaskRunner,
)


def test_sync_runner_runs_inline_with_progress_and_success() -> None:
    seen: list[object] = []

    def fn(ctx: TaskContext) -> int:
        ctx.report_progress(1)
        ctx.report_progress(2)
        return 42

    Task(fn).on_progress(seen.append).on_success(seen.append).start(
        TaskRunner(sync=True)
    )
    assert seen == [1, 2, 42]


def test_failure_goes_to_the_failure_callback() -> None:
    errors: list[BaseException] = []

    def fn(ctx: TaskContext) -> None:
        raise ValueError("bad photo")

    Task(fn).on_failure(errors.append).start(TaskRunner(sync=True))
    assert [str(e) for e in errors] == ["bad photo"]


def test_threaded_callbacks_run_on_the_main_thread(
    qtbot: QtBot, runner: TaskRunner
) -> None:
    main = threading.get_ident()
    worker: list[int] = []
    calls: list[tuple[str, int]] = []

    def fn(ctx: TaskContext) -> str:
        worker.append(threading.get_ident())
        ctx.report_progress("half")
        return "done"

    task = Task(fn).on_progress(lambda v: calls.append((str(v), threading.get_ident())))
    task.on_success(lambda v: calls.append((v, threading.get_ident())))
    finished: list[bool] = []
    task.on_finished(lambda: finished.append(True)).start(runner)
    qtbot.waitUntil(lambda: bool(finished), timeout=5_000)
    assert worker and worker[0] != main
    assert calls == [("half", main), ("done", main)]
    assert runner.active_count == 0


def test_cancel_calls_the_cancelled_callback(qtbot: QtBot, runner: TaskRunner) -> None:
    started = threading.Event()

    def fn(ctx: TaskContext) -> None:
        started.set()
        while True:
            ctx.check_cancelled()
            ctx.cancel_event.wait(0.01)

    cancelled: list[bool] = []
    task: Task[None] = Task(fn).on_cancelled(lambda: cancelled.append(True))
    task.start(runner)
    assert started.wait(5)
    task.cancel()
    qtbot.waitUntil(lambda: bool(cancelled), timeout=5_000)


def test_writes_are_serialised(qtbot: QtBot, runner: TaskRunner) -> None:
    active, peak, lock = [0], [0], threading.Lock()

    def fn(ctx: TaskContext) -> None:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        ctx.cancel_event.wait(0.02)
        with lock:
            active[0] -= 1

    for _ in range(4):
        Task(fn, lane="write").start(runner)
    qtbot.waitUntil(lambda: runner.active_count == 0, timeout=5_000)
    assert peak[0] == 1


def test_a_long_job_holds_up_neither_reads_nor_writes(
    qtbot: QtBot, runner: TaskRunner
) -> None:
    release = threading.Event()
    done: list[str] = []

    def job(ctx: TaskContext) -> None:  # a watch loop or a retraining
        release.wait(10)

    Task(job, lane="job", long_lived=True).start(runner)
    Task(job, lane="job").start(runner)  # a second one at once (a retraining)
    Task(lambda ctx: "read").on_success(done.append).start(runner)
    Task(lambda ctx: "write", lane="write").on_success(done.append).start(runner)
    qtbot.waitUntil(lambda: len(done) == 2, timeout=5_000)
    assert sorted(done) == ["read", "write"]
    assert runner.active_count == 1  # the long-lived one is not pending work
    release.set()
    qtbot.waitUntil(lambda: runner.active_count == 0, timeout=5_000)


def test_latest_request_drops_stale_answers() -> None:
    requests = LatestRequest()
    first = requests.next_id()
    second = requests.next_id()
    assert not requests.is_current(first)
    assert requests.is_current(second)


@pytest.mark.parametrize("with_callback", [True, False])
def test_a_cancelled_task_is_neither_a_failure_nor_a_success(
    monkeypatch: pytest.MonkeyPatch, with_callback: bool
) -> None:
    shown: list[BaseException] = []
    monkeypatch.setattr(
        "sscq_desktop.ui.errors.show_exception", lambda _parent, exc: shown.append(exc)
    )
    ran: list[str] = []
    seen: list[object] = []

    def fn(ctx: TaskContext) -> str:
        ran.append("started")
        ctx.check_cancelled()
        ran.append("went on")
        return "done"

    task: Task[str] = Task(fn).on_success(seen.append)
    task.on_finished(lambda: seen.append("finished"))
    if with_callback:
        task.on_cancelled(lambda: seen.append("cancelled"))
    task.cancel()
    task.start(TaskRunner(sync=True))

    assert ran == ["started"]
    assert seen == (["cancelled"] if with_callback else []) + ["finished"]
    assert shown == []  # a cancellation is never shown as an error
