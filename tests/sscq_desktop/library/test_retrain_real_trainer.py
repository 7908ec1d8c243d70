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
from sscq_desktop.library.retrain import RetrainError
from sscq_desktop.library.retrain_request import (
    RetrainRequest,
    TrainerJob,
    trainer_command,
)

pytest.importorskip("torch")
pytest.importorskip("kornia")

pytestmark = pytest.mark.slow


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
    record = run_job(library.retrain(request, command=_command), seen.append)

    assert "from scratch" in seen[0].message  # the tiny model has no companion .pt
    events = [p.event for p in seen if p.event is not None]
    steps = [e for e in events if e["event"] == "step"]
    assert [e["step"] for e in steps] == [1, 2]
    assert {"total", "cc", "cd"} <= set(steps[-1]["losses"])  # the raw losses, intact
    start = next(e for e in events if e["event"] == "start")
    assert start["n_images"] == 24 and start["config"]["data"]["source"] == "image_list"
    assert start["config"]["model"]["n_codebooks"] == 4
    assert record.source == "trained" and (record.M, record.K) == (4, 16)
    assert record.path == library.paths.models_dir / f"{record.model_id}.onnx"
    assert record.path.with_suffix(".pt").is_file()  # for the next warm start
    pending = library.pending_model_id
    assert pending == record.model_id
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
        elif progress.event.get("event") == "step":
            cancel.set()

    models_before = sorted(p.name for p in library.paths.models_dir.iterdir())
    job = library.retrain(
        RetrainRequest(bits=16, minutes=1, device="cpu", max_steps=1000),
        command=_command,
        cancel=cancel,
    )
    with pytest.raises(RetrainError, match="cancelled"):
        run_job(job, on_progress)
    assert notes == [f"warm start from the active model {record.model_id}"]
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
