"""Retrain end to end with the real trainer child process (``python -m training``).

Two or three training steps of the photos_cpu recipe on generated photos: the command
the library builds must be one the trainer accepts, its export must register, re-encode
and become active, and a warm start from that export must be cancellable mid-run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from sscq_desktop.library.library import Library
from sscq_desktop.library.progress import Progress, run_job
from sscq_desktop.library.retrain.retrain_request import (
    RetrainRequest,
    TrainerJob,
    trainer_command,
)
from sscq_desktop.library.retrain.trainer_process import RetrainError
from sscq_desktop.model.trainer_events import DoneEvent, StartEvent, StepEvent

pytest.importorskip("torch")
pytest.importorskip("kornia")

pytestmark = pytest.mark.slow

SHIPPED_MODEL = Path(__file__).resolve().parents[3] / "resources" / "default_model.onnx"


def _command(job: TrainerJob) -> list[str]:
    """The library's real command; every step reported, one thread (CI has two cores)."""
    return trainer_command(job) + [
        "--set", "run.log_every_steps=1", "--set", "run.threads=1",
    ]  # fmt: skip


def test_real_trainer_retrains_switches_and_cancels(
    library: Library, tmp_path: Path, make_photo: Callable[..., Path]
) -> None:
    for i in range(24):
        make_photo(tmp_path / "photos" / f"p{i:02d}.jpg", seed=i, size=(96, 80))
    library.add_folder(tmp_path / "photos")
    run_job(library.update())
    assert library.stats().ok == 24 and library.active_model_id == "tiny-test-model"

    seen: list[Progress] = []
    request = RetrainRequest(bits=16, minutes=1, device="cpu", max_steps=2)
    outcome = run_job(library.retrain(request, command=_command), seen.append)
    record = outcome.record

    assert "from scratch" in seen[0].message  # the tiny model has no companion .pt
    events = [p.event for p in seen if p.event is not None]
    steps = [e for e in events if isinstance(e, StepEvent)]
    assert [e.step for e in steps] == [1, 2]
    assert {"total", "cc", "cd"} <= set(steps[-1].losses)  # the raw losses, intact
    (start,) = [e for e in events if isinstance(e, StartEvent)]
    assert start.n_images == 24 and start.config["data"]["source"] == "image_list"
    assert start.config["model"]["n_codebooks"] == 4
    assert isinstance(events[-1], DoneEvent) and events[-1].artifact == record.path
    assert record.source == "trained" and (record.M, record.K) == (4, 16)
    assert record.path == library.paths.models_dir / f"{record.model_id}.onnx"
    assert record.path.with_suffix(".pt").is_file()  # for the next warm start
    # 24 photos are too few to hold some out and check the model: not switched to.
    assert not outcome.switched and "too few photos" in outcome.check.reason
    assert library.pending_model_id is None
    assert not library.switch_model(record.model_id)  # by hand: pending
    assert library.pending_model_id == record.model_id
    assert library.active_model_id == "tiny-test-model"  # until re-encoded
    run_job(library.ingest())
    assert library.active_model_id == record.model_id
    photo = library.photo_by_path(tmp_path / "photos" / "p03.jpg")
    assert photo is not None
    assert library.similar_to_photo(photo.id, k=3)[0].model_id == record.model_id
    assert not list((library.paths.data_dir / "runs").glob("*/*.pt"))

    # A warm start from the new model's companion, cancelled at its first step.
    cancel = threading.Event()
    notes: list[str] = []

    def on_progress(progress: Progress) -> None:
        if progress.event is None:
            notes.append(progress.message)
        elif isinstance(progress.event, StepEvent):
            cancel.set()

    models_before = sorted(p.name for p in library.paths.models_dir.iterdir())
    job = library.retrain(
        RetrainRequest(bits=16, minutes=1, device="cpu", max_steps=1000),
        command=_command,
        cancel=cancel,
    )
    with pytest.raises(RetrainError, match="cancelled"):
        run_job(job, on_progress)
    assert notes == [
        f"warm start from the active model {record.model_id}",
        "the library has only 24 photos: too few to check the new model (100 "
        "needed), so it will be kept aside, not switched to",
    ]
    assert library.active_model_id == record.model_id
    assert library.pending_model_id is None
    assert [m.model_id for m in library.models()] == [
        "tiny-test-model",
        record.model_id,
    ]
    assert sorted(p.name for p in library.paths.models_dir.iterdir()) == models_before
    assert [p.name for p in (library.paths.data_dir / "runs").iterdir()] == [
        record.model_id
    ]


def test_a_real_retrain_that_is_not_better_leaves_the_shipped_model_in_use(
    library: Library, tmp_path: Path, make_photo: Callable[..., Path]
) -> None:
    """Two steps from scratch cannot match the shipped default: the check says so."""
    for i in range(110):
        make_photo(tmp_path / "photos" / f"p{i:03d}.jpg", seed=500 + i, size=(96, 80))
    library.add_folder(tmp_path / "photos")
    run_job(library.update())
    shipped = library.import_model(SHIPPED_MODEL)
    library.switch_model(shipped.model_id)
    run_job(library.ingest())
    assert library.active_model_id == shipped.model_id

    seen: list[Progress] = []
    request = RetrainRequest(
        bits=32, minutes=1, device="cpu", max_steps=2, warm_start=False
    )
    outcome = run_job(library.retrain(request, command=_command), seen.append)

    (start,) = [p.event for p in seen if isinstance(p.event, StartEvent)]
    assert isinstance(start, StartEvent)
    assert start.n_images == 60  # 50 of the 110 held out to check the model
    assert seen[1].message == (
        "holding out 50 of 110 photos to check the new model before switching"
    )
    assert seen[-1].message == "checking the new model on 50 photos it did not train on"
    check = outcome.check
    assert check.n_photos == 50 and check.active_score is not None
    assert check.active_score > check.new_score + 0.03
    assert not check.better and not outcome.switched
    assert "not higher" in check.reason
    assert library.active_model_id == shipped.model_id
    assert library.pending_model_id is None
    assert outcome.record.model_id in {m.model_id for m in library.models()}
