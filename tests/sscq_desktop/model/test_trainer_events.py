from __future__ import annotations

import json
import logging
import math

import pytest

from sscq_desktop.model.trainer_events import (
    EVENT_TYPES,
    CheckpointEvent,
    DoneEvent,
    EpochEndEvent,
    ErrorEvent,
    EvalEvent,
    SearchCodesEvent,
    StartEvent,
    StepEvent,
    TrainerEvent,
    parse_line,
    to_json_line,
)

EVERY_KIND: list[TrainerEvent] = [
    StartEvent(
        total_steps=40, n_images=24, data="image list (24 photos)", device="cpu",
        code_version="abc123", config={"model": {"n_codebooks": 4}}, time=1.5,
    ),
    StepEvent(
        step=3, total_steps=40, epoch=1, losses={"total": 1.5, "cc": 0.25}, lr=1e-3,
        images_per_s=310.0, eta_s=12.5, codeword_usage=(0.75, 1.0),
    ),
    EpochEndEvent(epoch=1, step=8, losses={"total": 1.25}),
    EvalEvent(step=8, epoch=1, metrics={"map": 0.5, "corpora": {"a": {"map": 0.5}}}),
    CheckpointEvent(path="/runs/x/last.pt", step=8),
    SearchCodesEvent(
        step=40, codes="opq", images=24, seconds=1.5, codewords_used="64 of 64"
    ),
    DoneEvent(
        steps=40, out_dir="/runs/x", elapsed_s=61.5, best_map=0.5,
        export={"artifact": "/models/x.onnx", "model_id": "x", "bits": 16},
    ),
    ErrorEvent(message="RuntimeError: CUDA out of memory"),
]  # fmt: skip


def test_every_kind_is_covered() -> None:
    assert sorted(type(e).kind for e in EVERY_KIND) == sorted(EVENT_TYPES)


@pytest.mark.parametrize("event", EVERY_KIND, ids=lambda e: type(e).kind)
def test_each_kind_round_trips_through_one_json_line(event: TrainerEvent) -> None:
    line = to_json_line(event)
    assert "\n" not in line and json.loads(line)["event"] == event.kind
    assert parse_line(line + "\n") == event


def test_eval_metrics_are_top_level_fields_on_the_wire() -> None:
    event = EvalEvent(step=8, epoch=1, metrics={"map": 0.5, "precision": 0.25})
    assert json.loads(to_json_line(event)) == {
        "event": "eval", "step": 8, "epoch": 1, "map": 0.5, "precision": 0.25,
    }  # fmt: skip


def test_non_finite_floats_are_written_as_null_and_read_back() -> None:
    event = StepEvent(step=1, total_steps=2, losses={"total": math.nan}, eta_s=math.inf)
    line = to_json_line(event)
    assert "NaN" not in line and "Infinity" not in line
    assert parse_line(line) == StepEvent(
        step=1, total_steps=2, losses={"total": None}, eta_s=None
    )


@pytest.mark.parametrize(
    ("line", "logged"),
    [
        ('{"event": "progress", "step": 1}', "unknown trainer event kind 'progress'"),
        ('{"type": "step", "step": 1, "total_steps": 2}', "unknown trainer event kind"),
        ('{"event": "step", "step": 1}', "missing fields ['total_steps']"),
        ('{"event": "step", "step": 1, "steps": 2}', "unknown fields ['steps']"),
        ('{"event": "step", "step": true, "total_steps": 2}', "step must be int"),
        ('{"event": "start", "total_steps": 2.5}', "total_steps must be int"),
        ('{"event": "step", "step": 1, "total_steps": 2, "loss": 0.5}', "['loss']"),
        ('{"event": "done", "artifact": "m.onnx"}', "unknown fields ['artifact']"),
        ('{"event": "done", "export": {"model_id": "x"}}', "must name its artifact"),
        ('{"event": "error"}', "missing fields ['message']"),
    ],
)
def test_unknown_or_malformed_events_are_logged_and_skipped(
    line: str, logged: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="sscq_desktop.model.trainer_events"):
        assert parse_line(line) is None
    assert logged in caplog.text


@pytest.mark.parametrize("line", ["Epoch 1 starting", "{broken", "[1, 2]", '"done"'])
def test_lines_that_are_not_json_objects_are_logged_as_trainer_output(
    line: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="sscq_desktop.model.trainer_events"):
        assert parse_line(line) is None
    assert f"trainer: {line}" in caplog.text


def test_blank_lines_are_skipped_silently(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="sscq_desktop.model.trainer_events"):
        assert parse_line("  \n") is None
    assert caplog.text == ""
