from __future__ import annotations

import logging
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
    run_trainer,
)
from sscq_desktop.library.retrain_request import RetrainRequest, TrainerJob
from sscq_desktop.model.artifact import ModelArtifact

Trainer = Callable[[str], Callable[[TrainerJob], list[str]]]

TRAINER = textwrap.dedent(
    """
    import json, shutil, sys, time
    images, output, mode, model = sys.argv[1:5]
    paths = open(images, encoding="utf-8").read().splitlines()
    def emit(**e): print(json.dumps(e), flush=True)
    emit(event="start", total_steps=3, n_images=len(paths))
    print("a line that is not JSON", flush=True)
    emit(event="something_new", detail=1)
    for step in range(1, 4):
        if mode == "crash" and step == 2:
            print("RuntimeError: CUDA out of memory (simulated)", file=sys.stderr)
            sys.exit(3)
        if mode == "hang":
            open(output, "wb").write(b"partial")
            time.sleep(60)
        emit(event="step", step=step, total_steps=3, losses={"total": 1.0 / step}, eta_s=3 - step)
    emit(event="epoch_end", epoch=0, step=3)
    shutil.copyfile(model, output)
    emit(event="done", steps=3, export={"artifact": output, "model_id": "x"})
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

    def command(mode: str) -> Callable[[TrainerJob], list[str]]:
        return lambda job: [
            sys.executable,
            str(script),
            str(job.image_list),
            str(job.model_path),
            mode,
            str(trained.path),
        ]

    return command


def _indexed(
    library: Library, tmp_path: Path, make_photo: Callable[..., Path], n: int = 8
) -> None:
    for i in range(n):
        make_photo(tmp_path / "photos" / f"p{i:02d}.jpg", seed=i)
    library.add_folder(tmp_path / "photos")
    run_job(library.update())


def _leftovers(library: Library) -> list[str]:
    runs = library.paths.data_dir / "runs"
    return sorted(
        p.name for p in [*runs.glob("*"), *library.paths.models_dir.glob("*")]
    )


def test_retrain_reports_progress_registers_and_switches(
    library: Library,
    trainer: Trainer,
    tmp_path: Path,
    make_photo: Callable[..., Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    _indexed(library, tmp_path, make_photo)
    seen: list[Progress] = []
    with caplog.at_level(logging.DEBUG, logger="sscq_desktop.library.retrain"):
        record = run_job(
            library.retrain(RetrainRequest(), command=trainer("ok")), seen.append
        )
    assert record.model_id == "trained-here" and record.source == "trained"
    note, *events = seen
    assert note.event is None and "from scratch" in note.message
    assert [e.event["event"] for e in events if e.event] == [
        "start", "something_new", "step", "step", "step", "epoch_end", "done",
    ]  # fmt: skip
    assert [(p.done, p.total) for p in events] == [(0, 3), (0, 3)] + [
        (1, 3), (2, 3), (3, 3), (3, 3), (3, 3),
    ]  # fmt: skip
    step = events[2]
    assert step.event is not None and step.event["losses"] == {"total": 1.0}
    assert "total 1" in step.message and step.eta_s == 2
    with pytest.raises(TypeError):
        step.event["losses"] = {}  # type: ignore[index]
    assert "trainer: a line that is not JSON" in caplog.text
    assert "unrecognised trainer event 'something_new'" in caplog.text
    assert library.pending_model_id == "trained-here"
    run_job(library.ingest())
    assert library.active_model_id == "trained-here"
    (run,) = (library.paths.data_dir / "runs").iterdir()  # kept: list, metrics
    assert run.name.startswith("retrained-32bit-")
    assert [p.name for p in run.iterdir()] == ["images.txt"]
    models = sorted(p.name for p in library.paths.models_dir.iterdir())
    assert models == ["tiny-test-model.onnx", "trained-here.onnx"]


def test_the_image_list_names_exactly_the_readable_photos(
    library: Library, tmp_path: Path, make_photo: Callable[..., Path]
) -> None:
    _indexed(library, tmp_path, make_photo, n=9)
    (tmp_path / "photos" / "broken.jpg").write_bytes(b"not a photo")
    run_job(library.update())
    listed: list[str] = []

    def command(job: TrainerJob) -> list[str]:
        listed.extend(job.image_list.read_text(encoding="utf-8").splitlines())
        assert job.n_images == len(listed)
        return [sys.executable, "-c", "raise SystemExit(1)"]

    with pytest.raises(RetrainError):
        run_job(library.retrain(command=command))
    assert sorted(listed) == [
        str(tmp_path / "photos" / f"p{i:02d}.jpg") for i in range(9)
    ]
    listed.clear()
    with pytest.raises(RetrainError):
        run_job(library.retrain(RetrainRequest(max_photos=8), command=command))
    assert len(listed) == 8


def test_too_few_photos_is_a_clear_error(
    library: Library, trainer: Trainer, tmp_path: Path, make_photo: Callable[..., Path]
) -> None:
    _indexed(library, tmp_path, make_photo, n=3)
    with pytest.raises(RetrainError, match="at least 8 indexed photos"):
        run_job(library.retrain(command=trainer("ok")))
    assert _leftovers(library) == ["tiny-test-model.onnx"]


def test_a_crashing_trainer_leaves_the_active_model(
    library: Library, trainer: Trainer, tmp_path: Path, make_photo: Callable[..., Path]
) -> None:
    _indexed(library, tmp_path, make_photo)
    before = library.active_model_id
    with pytest.raises(RetrainError, match="exited with code 3.*out of memory"):
        run_job(library.retrain(command=trainer("crash")))
    assert library.active_model_id == before and library.pending_model_id is None
    assert [m.model_id for m in library.models()] == [before]
    assert _leftovers(library) == ["tiny-test-model.onnx"]


def test_cancel_stops_the_trainer_quickly_and_cleans_up(
    library: Library, trainer: Trainer, tmp_path: Path, make_photo: Callable[..., Path]
) -> None:
    _indexed(library, tmp_path, make_photo)
    cancel = threading.Event()
    job = library.retrain(command=trainer("hang"), cancel=cancel)
    next(job)  # the library's note
    next(job)  # the trainer's start event
    cancel.set()
    started = time.monotonic()
    with pytest.raises(RetrainError, match="cancelled"):
        run_job(job)
    assert time.monotonic() - started < 10
    assert [m.model_id for m in library.models()] == ["tiny-test-model"]
    assert _leftovers(library) == ["tiny-test-model.onnx"]  # partial model removed


def test_warm_start_only_from_a_companion_with_the_same_code_length(
    library: Library,
    tiny_artifact_factory: Callable[..., ModelArtifact],
    tmp_path: Path,
    make_photo: Callable[..., Path],
) -> None:
    _indexed(library, tmp_path, make_photo)
    jobs: list[TrainerJob] = []

    def command(job: TrainerJob) -> list[str]:
        jobs.append(job)
        return [sys.executable, "-c", "raise SystemExit(1)"]

    def attempt(request: RetrainRequest) -> str:
        seen: list[Progress] = []
        with pytest.raises(RetrainError):
            run_job(library.retrain(request, command=command), seen.append)
        return seen[0].message

    assert "no warm-start checkpoint (tiny-test-model.pt)" in attempt(RetrainRequest())
    assert jobs[-1].init_from is None
    other = tiny_artifact_factory(model_id="with-pt", seed=5, filename="with.onnx")
    other.path.with_suffix(".pt").write_bytes(b"weights")
    library.import_model(other.path)  # copies the companion along
    library.switch_model("with-pt")
    run_job(library.ingest())  # re-encoded: now active
    companion = library.paths.models_dir / "with-pt.pt"
    assert companion.read_bytes() == b"weights"
    assert "warm start from the active model with-pt" in attempt(RetrainRequest())
    warm = jobs[-1]
    assert warm.init_from == companion
    assert "makes 32-bit codes, not 64" in attempt(RetrainRequest(bits=64))
    assert jobs[-1].init_from is None
    assert "from scratch, as asked" in attempt(RetrainRequest(warm_start=False))
    assert (
        companion.is_file()
    )  # a failed retrain never touches the active model's files


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
    assert p.event == event
    previous = Progress("retrain", 7, 10)
    checkpoint = event_to_progress({"event": "checkpoint", "path": "x"}, previous)
    assert (checkpoint.done, checkpoint.total) == (7, 10)


def test_run_trainer_refuses_a_shell_string(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="list of strings"):
        run_job(run_trainer([], output=tmp_path / "m.onnx"))
