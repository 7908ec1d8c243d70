from __future__ import annotations

import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sscq_desktop.library.library import Library
from sscq_desktop.library.progress import Progress, run_job
from sscq_desktop.library.retrain import (
    RetrainError,
    event_to_progress,
    parse_progress_line,
)
from sscq_desktop.model.artifact import ModelArtifact

Trainer = Callable[[str], Callable[[Path, Path], list[str]]]

TRAINER = textwrap.dedent(
    """
    import json, shutil, sys, time
    images, output, mode, model = sys.argv[1:5]
    paths = open(images).read().split()
    def emit(**e): print(json.dumps(e), flush=True)
    emit(event="start", total_steps=3, images=len(paths))
    print("a line that is not JSON", flush=True)
    for step in range(1, 4):
        if mode == "crash" and step == 2:
            print("RuntimeError: CUDA out of memory (simulated)", file=sys.stderr)
            sys.exit(3)
        if mode == "hang":
            time.sleep(60)
        emit(event="step", step=step, total_steps=3, losses={"total": 1.0 / step}, eta_s=3 - step)
    shutil.copyfile(model, output)
    emit(event="done", artifact=output)
    """
)


@pytest.fixture
def trainer(
    tmp_path: Path, tiny_artifact_factory: Callable[..., ModelArtifact]
) -> Trainer:
    script = tmp_path / "fake_trainer.py"
    script.write_text(TRAINER)
    trained = tiny_artifact_factory(
        model_id="trained-here", seed=11, filename="trained.onnx"
    )

    def command(mode: str) -> Callable[[Path, Path], list[str]]:
        return lambda images, output: [
            sys.executable,
            str(script),
            str(images),
            str(output),
            mode,
            str(trained.path),
        ]

    return command


def _indexed(library: Library, tmp_path: Path, make_photo: Callable[..., Path]) -> None:
    for i in range(4):
        make_photo(tmp_path / "photos" / f"p{i}.jpg", seed=i)
    library.add_folder(tmp_path / "photos")
    run_job(library.update())


def test_retrain_reports_progress_registers_and_switches(
    library: Library, trainer: Trainer, tmp_path: Path, make_photo: Callable[..., Path]
) -> None:
    _indexed(library, tmp_path, make_photo)
    seen: list[Progress] = []
    record = run_job(library.retrain(command=trainer("ok")), seen.append)
    assert record.model_id == "trained-here" and record.source == "trained"
    assert [(p.done, p.total) for p in seen] == [(0, 3), (1, 3), (2, 3), (3, 3), (0, 0)]
    assert "total 1" in seen[1].message and seen[1].eta_s == 2
    assert library.pending_model_id == "trained-here"
    run_job(library.ingest())
    assert library.active_model_id == "trained-here"
    assert not list(
        (library.paths.data_dir / "retrain").iterdir()
    )  # temporary files removed


def test_a_crashing_trainer_leaves_the_active_model(
    library: Library, trainer: Trainer, tmp_path: Path, make_photo: Callable[..., Path]
) -> None:
    _indexed(library, tmp_path, make_photo)
    before = library.active_model_id
    with pytest.raises(RetrainError, match="exited with code 3.*out of memory"):
        run_job(library.retrain(command=trainer("crash")))
    assert library.active_model_id == before and library.pending_model_id is None
    assert [m.model_id for m in library.models()] == [before]


def test_cancel_stops_the_trainer_quickly(
    library: Library, trainer: Trainer, tmp_path: Path, make_photo: Callable[..., Path]
) -> None:
    _indexed(library, tmp_path, make_photo)
    cancel = threading.Event()
    job = library.retrain(command=trainer("hang"), cancel=cancel)
    next(job)  # the start event
    cancel.set()
    started = time.monotonic()
    with pytest.raises(RetrainError, match="cancelled"):
        run_job(job)
    assert time.monotonic() - started < 10


def test_progress_line_parsing_is_tolerant() -> None:
    assert parse_progress_line("Epoch 1 starting") is None
    assert parse_progress_line("{broken") is None
    assert parse_progress_line("[1, 2]") is None
    event = parse_progress_line('{"epoch": 2, "epochs": 10, "loss": 0.5}')
    assert event is not None
    p = event_to_progress(event)
    assert (
        (p.done, p.total) == (2, 10)
        and "epoch 2/10" in p.message
        and "loss 0.5" in p.message
    )
