"""The trainer's progress reporter writes the protocol of `sscq_desktop.model.trainer_events`."""

from __future__ import annotations

import io

import pytest

from sscq_desktop.model.trainer_events import (
    CheckpointEvent,
    ErrorEvent,
    StepEvent,
    TrainerEventError,
    parse_line,
)
from training.progress import ProgressReporter


def test_the_trainers_reporter_writes_lines_the_app_reads() -> None:
    stream = io.StringIO()
    reporter = ProgressReporter("json", stream=stream)
    reporter.emit("checkpoint", path="last.pt", step=3)
    reporter.report(ErrorEvent(message="boom"))
    first, second = (parse_line(x) for x in stream.getvalue().splitlines())
    assert isinstance(first, CheckpointEvent) and first.path == "last.pt"
    assert first.time is not None  # stamped when written
    assert isinstance(second, ErrorEvent) and second.message == "boom"


def test_the_reporter_refuses_an_event_the_app_could_not_read() -> None:
    reporter = ProgressReporter("json", stream=io.StringIO())
    with pytest.raises(TrainerEventError, match="unknown fields"):
        reporter.emit("step", step=1, total_steps=2, loss=0.5)
    with pytest.raises(TrainerEventError, match="unknown trainer event kind"):
        reporter.emit("note", message="hi")


def test_the_bar_shows_steps_on_one_line_and_other_events_below() -> None:
    stream = io.StringIO()
    reporter = ProgressReporter("bar", stream=stream)
    reporter.report(StepEvent(step=1, total_steps=4, losses={"total": 0.5}, lr=0.1))
    reporter.report(CheckpointEvent(path="last.pt", step=1))
    text = stream.getvalue()
    assert text.startswith("\rstep 1/4 ep 0 | total=0.500 | lr 1.00e-01")
    assert '\n[checkpoint] {"path": "last.pt", "step": 1}\n' in text
