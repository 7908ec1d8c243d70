"""`WriterLane`: writes run on the owning loop's thread, inline without one."""

from __future__ import annotations

import threading
from collections.abc import Generator

import pytest

from sscq_desktop.library.ingest.writer_lane import WriterLane
from sscq_desktop.library.progress import Progress, run_job


def _job(threads: list[int], steps: int) -> Generator[Progress, None, str]:
    threads.append(threading.get_ident())
    for i in range(steps):
        yield Progress(phase="test", done=i + 1, total=steps)
    return "done"


def is_owned(lane: WriterLane) -> bool:
    return lane.owned


def test_without_a_loop_a_write_runs_on_the_callers_thread() -> None:
    lane = WriterLane()
    threads: list[int] = []

    def write() -> int:
        threads.append(threading.get_ident())
        return 7

    assert lane.call(write) == 7
    assert run_job(lane.run(lambda: _job(threads, 2))) == "done"
    assert threads == [threading.get_ident()] * 2


def test_with_a_loop_writes_run_on_its_thread_with_their_progress() -> None:
    lane = WriterLane()
    owned, stop = threading.Event(), threading.Event()
    loop_thread: list[int] = []

    def loop() -> None:
        with lane.owned_by_this_thread():
            loop_thread.append(threading.get_ident())
            owned.set()
            while not stop.is_set():
                lane.drain()
                stop.wait(0.01)

    thread = threading.Thread(target=loop)
    thread.start()
    try:
        assert owned.wait(5)
        assert is_owned(lane)
        yielded = lane.yield_event(threading.Event())
        threads: list[int] = []
        seen: list[int] = []
        assert (
            run_job(lane.run(lambda: _job(threads, 3)), lambda p: seen.append(p.done))
            == "done"
        )
        assert threads == loop_thread and seen == [1, 2, 3]

        def fail() -> None:
            raise ValueError("refused")

        with pytest.raises(ValueError, match="refused"):
            lane.call(fail)  # the caller's error; the loop goes on
        assert lane.call(lambda: threading.get_ident()) == loop_thread[0]
        assert not yielded.is_set()
    finally:
        stop.set()
        thread.join(5)
    assert not is_owned(lane)
    assert lane.call(lambda: threading.get_ident()) == threading.get_ident()


def test_a_write_queued_when_the_loop_ends_runs_on_the_callers_thread() -> None:
    lane = WriterLane()
    owned, release = threading.Event(), threading.Event()

    def loop() -> None:  # owns the lane and never drains
        with lane.owned_by_this_thread():
            owned.set()
            release.wait(5)

    thread = threading.Thread(target=loop)
    thread.start()
    assert owned.wait(5)
    cancel = threading.Event()
    yielded = lane.yield_event(cancel)
    result: list[int] = []
    caller = threading.Thread(
        target=lambda: result.append(lane.call(threading.get_ident))
    )
    caller.start()
    while not yielded.is_set():  # a queued command tells the loop's jobs to yield
        threading.Event().wait(0.01)
    release.set()
    thread.join(5)
    caller.join(5)
    assert result == [caller.ident]
    assert not yielded.is_set()
    cancel.set()
    assert yielded.is_set()
