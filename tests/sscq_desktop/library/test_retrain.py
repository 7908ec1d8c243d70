from __future__ import annotations

import dataclasses
import logging
import random
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sscq_desktop.library.catalog.catalog import Catalog
from sscq_desktop.library.images.renderer import RenderedImage, Renderer
from sscq_desktop.library.library import Library
from sscq_desktop.library.models import model_files, model_manager
from sscq_desktop.library.models.model_manager import ModelManager
from sscq_desktop.library.progress import Progress, run_job
from sscq_desktop.library.records import FolderId, PhotoId, PhotoRecord
from sscq_desktop.library.retrain import retrainer
from sscq_desktop.library.retrain.model_check import check_photo_count
from sscq_desktop.library.retrain.quality_estimate import WORKING_SIDE
from sscq_desktop.library.retrain.retrain_request import RetrainRequest, TrainerJob
from sscq_desktop.library.retrain.retrainer import hold_out
from sscq_desktop.library.retrain.trainer_process import (
    RetrainError,
    event_progress,
    run_trainer,
)
from sscq_desktop.model.artifact import ModelArtifact
from sscq_desktop.model.trainer_events import CheckpointEvent, DoneEvent, StepEvent

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
    emit(event="step", step="two", total_steps=3)
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
    with caplog.at_level(logging.INFO, logger="sscq_desktop.model.trainer_events"):
        outcome = run_job(
            library.retrain(RetrainRequest(), command=trainer("ok")), seen.append
        )
    record = outcome.record
    assert record.model_id == "trained-here" and record.source == "trained"
    note, check_note, *events = seen
    assert note.event is None and "from scratch" in note.message
    assert check_note.event is None and check_note.message == (
        "the library has only 8 photos: too few to check the new model (100 needed), "
        "so it will be kept aside, not switched to"
    )
    # The stray print, the unknown kind and the malformed step are logged, skipped.
    assert [e.event.kind for e in events if e.event] == [
        "start", "step", "step", "step", "epoch_end", "done",
    ]  # fmt: skip
    assert [(p.done, p.total) for p in events] == [
        (0, 3), (1, 3), (2, 3), (3, 3), (3, 3), (3, 3),
    ]  # fmt: skip
    step = events[1]
    assert isinstance(step.event, StepEvent) and step.event.losses == {"total": 1.0}
    assert "total 1" in step.message and step.eta_s == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        step.event.step = 9  # type: ignore[misc]
    assert "trainer: a line that is not JSON" in caplog.text
    assert "unknown trainer event kind 'something_new'" in caplog.text
    assert "step event: step must be int, got 'two'" in caplog.text
    # Eight photos are too few to hold some out and check the model: it stays
    # registered, the active model stays in use, and switching by hand works.
    assert not outcome.switched and not outcome.check.better
    assert "too few photos" in outcome.check.reason
    assert library.pending_model_id is None
    assert library.active_model_id == "tiny-test-model"
    assert not library.switch_model("trained-here")  # pending: re-encode first
    run_job(library.ingest())
    assert library.active_model_id == "trained-here"
    (run,) = (library.paths.data_dir / "runs").iterdir()  # kept: list, metrics
    assert run.name.startswith("retrained-32bit-")
    assert [p.name for p in run.iterdir()] == ["images.txt"]
    models = sorted(p.name for p in library.paths.models_dir.iterdir())
    assert models == ["tiny-test-model.onnx", "trained-here.onnx"]


def test_only_a_measurably_better_model_is_switched_to(
    library: Library,
    tmp_path: Path,
    make_photo: Callable[..., Path],
    tiny_artifact_factory: Callable[..., ModelArtifact],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """110 photos: 50 are held out; a collapsed model in use loses to a working one,
    and a collapsed retrain does not replace the working one."""
    script = tmp_path / "fake_trainer.py"
    script.write_text(TRAINER)
    collapsed = tiny_artifact_factory(
        model_id="collapsed", collapsed=True, filename="collapsed.onnx"
    )
    working = tiny_artifact_factory(model_id="working", seed=5, filename="w.onnx")
    worse = tiny_artifact_factory(model_id="worse", collapsed=True, filename="x.onnx")

    def producing(model: ModelArtifact) -> Callable[[TrainerJob], list[str]]:
        return lambda job: [
            sys.executable, str(script), str(job.image_list), str(job.model_path),
            "ok", str(model.path),
        ]  # fmt: skip

    _indexed(library, tmp_path, make_photo, n=110)
    library.import_model(collapsed.path)
    library.switch_model("collapsed")
    run_job(library.ingest())
    assert library.active_model_id == "collapsed"

    seen: list[Progress] = []
    decoded: list[tuple[Path, int]] = []
    render = Renderer.render

    def spy(self: Renderer, path: Path, **kwargs: Any) -> RenderedImage:
        decoded.append((path, kwargs["max_side"]))
        return render(self, path, **kwargs)

    monkeypatch.setattr(Renderer, "render", spy)
    first = run_job(library.retrain(command=producing(working)), seen.append)
    listed = (library.paths.data_dir / "runs").glob("*/images.txt")
    trained_on = set(next(listed).read_text().splitlines())
    assert len(trained_on) == 60  # 50 held out
    assert seen[1].message == (
        "holding out 50 of 110 photos to check the new model before switching"
    )
    checking = seen[-1]
    assert checking.message == "checking the new model on 50 photos it did not train on"
    # At the trainer's last position: a progress bar does not jump back.
    assert (checking.done, checking.total) == (seen[-2].done, seen[-2].total) == (3, 3)
    # The held-out photos are decoded with the library's safe decode (pixel cap, in
    # a decoder process killed past its timeout), none of them trained on.
    assert len(decoded) == 50
    assert {side for _, side in decoded} == {WORKING_SIDE}
    assert not {str(path) for path, _ in decoded} & trained_on
    check = first.check
    assert first.switched and check.better and check.n_photos == 50
    assert check.new_score > check.active_score + 0.03  # type: ignore[operator]
    assert library.pending_model_id == "working"
    run_job(library.ingest())
    assert library.active_model_id == "working"

    second = run_job(library.retrain(command=producing(worse)))
    assert not second.switched and not second.check.better
    assert "not higher" in second.check.reason
    assert second.record.model_id == "worse"  # registered: a switch by hand works
    assert library.active_model_id == "working" and library.pending_model_id is None
    assert {m.model_id for m in library.models()} >= {"working", "worse"}


@pytest.mark.parametrize("when", ["while decoding", "once scored"])
def test_a_cancel_during_the_check_switches_nothing(
    library: Library,
    tmp_path: Path,
    make_photo: Callable[..., Path],
    tiny_artifact_factory: Callable[..., ModelArtifact],
    monkeypatch: pytest.MonkeyPatch,
    when: str,
) -> None:
    """A better model whose check is cancelled is not switched to; it stays registered
    (a switch by hand works), as a model that is not better."""
    script = tmp_path / "fake_trainer.py"
    script.write_text(TRAINER)
    collapsed = tiny_artifact_factory(
        model_id="collapsed", collapsed=True, filename="collapsed.onnx"
    )
    working = tiny_artifact_factory(model_id="working", seed=5, filename="w.onnx")
    _indexed(library, tmp_path, make_photo, n=110)
    library.import_model(collapsed.path)
    library.switch_model("collapsed")
    run_job(library.ingest())
    cancel = threading.Event()

    def on_progress(progress: Progress) -> None:
        if when == "while decoding" and progress.message.startswith("checking"):
            cancel.set()  # the next held-out photo is not decoded

    def scored_then_cancelled(*args: Any) -> Any:
        check = compare_models(*args)
        assert check.better  # it would have been switched to
        cancel.set()
        return check

    compare_models = retrainer.compare_models
    if when == "once scored":
        monkeypatch.setattr(retrainer, "compare_models", scored_then_cancelled)
    job = library.retrain(
        command=lambda job: [
            sys.executable, str(script), str(job.image_list), str(job.model_path),
            "ok", str(working.path),
        ],
        cancel=cancel,
    )  # fmt: skip
    with pytest.raises(
        RetrainError,
        match="the check of the new model was cancelled; working stays registered",
    ):
        run_job(job, on_progress)
    assert library.active_model_id == "collapsed"
    assert library.pending_model_id is None
    assert "working" in {m.model_id for m in library.models()}


def _photo_records(names: list[str]) -> list[PhotoRecord]:
    return [
        PhotoRecord(
            PhotoId(i),
            FolderId(1),
            Path("/photos") / name,
            1,
            1,
            f"k{i}",
            4,
            3,
            None,
            "ok",
            None,
        )  # fmt: skip
        for i, name in enumerate(names)
    ]


def test_the_held_out_sample_is_stable_as_the_library_changes() -> None:
    """Chosen per photo (a seeded hash of its path), not by its place in the list: the
    same photos in any order give the same sample, and a grown library keeps nearly
    all of the previous sample, which the previous model did not train on."""
    names = [f"{year}/IMG_{i:05d}.jpg" for year in (2021, 2022) for i in range(600)]
    before = _photo_records(names)
    train, held = hold_out(before, check_photo_count(len(before)))
    assert len(held) == 120 and len(train) == 1080
    assert {p.path for p in train}.isdisjoint(p.path for p in held)
    assert [p.path for p in train] == [
        p.path for p in before if p not in held
    ]  # in the library's order
    shuffled = before.copy()
    random.Random(1).shuffle(shuffled)
    assert {p.path for p in hold_out(shuffled, 120)[1]} == {p.path for p in held}
    # 10% more photos, new folders sorting before and after the old ones.
    added = [f"{d}/IMG_{i:05d}.jpg" for d in ("2020", "2023") for i in range(60)]
    after = _photo_records(sorted(names + added))
    _, held_after = hold_out(after, check_photo_count(len(after)))
    kept = {p.path for p in held} & {p.path for p in held_after}
    assert len(kept) >= 0.9 * len(held)

    # The draw by position it replaces kept far fewer.
    def by_position(photos: list[PhotoRecord], n: int) -> set[Path]:
        return {
            photos[i].path for i in random.Random(2026).sample(range(len(photos)), n)
        }

    old_kept = by_position(before, len(held)) & by_position(after, len(held_after))
    assert len(old_kept) < 0.5 * len(held)


def test_a_retrain_registers_validates_and_switches_its_model_once(
    library: Library,
    tmp_path: Path,
    make_photo: Callable[..., Path],
    tiny_artifact_factory: Callable[..., ModelArtifact],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The new model is registered, its file validated and its encoder probed once;
    the check and the switch reuse them (110 photos: it is checked, and it beats the
    collapsed model in use)."""
    script = tmp_path / "fake_trainer.py"
    script.write_text(TRAINER)
    collapsed = tiny_artifact_factory(
        model_id="collapsed", collapsed=True, filename="collapsed.onnx"
    )
    _indexed(library, tmp_path, make_photo, n=110)
    library.import_model(collapsed.path)
    library.switch_model("collapsed")
    run_job(library.ingest())

    def command(job: TrainerJob) -> list[str]:
        # Exported under the id the library chose, as the real trainer (--model-id).
        made = tiny_artifact_factory(model_id=job.model_id, seed=5, filename="n.onnx")
        return [
            sys.executable, str(script), str(job.image_list), str(job.model_path),
            "ok", str(made.path),
        ]  # fmt: skip

    calls: dict[str, list[tuple[object, ...]]] = {}

    def spy(owner: object, name: str) -> None:
        real = getattr(owner, name)
        seen = calls.setdefault(name, [])

        def wrapper(*args: object, **kwargs: object) -> object:
            seen.append(args)
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, wrapper)

    spy(ModelManager, "import_model")
    spy(Catalog, "register_model")
    spy(model_files, "read_artifact")
    spy(model_manager, "probe_encoder")
    spy(ModelManager, "switch_model")
    outcome = run_job(library.retrain(command=command))
    record = outcome.record
    assert outcome.switched and library.pending_model_id == record.model_id
    assert [len(calls[n]) for n in ("import_model", "register_model")] == [1, 1]
    assert [args[0] for args in calls["read_artifact"]] == [record.path]
    probed = [args[1] for args in calls["probe_encoder"]]
    assert [a.model_id for a in probed] == [record.model_id]  # type: ignore[attr-defined]
    assert len(calls["switch_model"]) == 1


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
    next(job)  # the library's note: how it trains
    next(job)  # the library's note: what it holds out to check the model
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


def test_events_without_a_position_keep_the_previous_one() -> None:
    previous = Progress("retrain", 7, 10)
    checkpoint = event_progress(CheckpointEvent(path="x.pt", step=7), previous)
    assert (checkpoint.done, checkpoint.total) == (7, 10)
    assert isinstance(checkpoint.event, CheckpointEvent)
    step = event_progress(StepEvent(step=8, total_steps=12, losses={"total": 0.5}))
    assert (step.done, step.total) == (8, 12) and step.message == "step 8/12, total 0.5"
    done = event_progress(DoneEvent(steps=12), step)
    assert (done.done, done.total) == (12, 12)


def test_run_trainer_refuses_a_shell_string(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="list of strings"):
        run_job(run_trainer([], output=tmp_path / "m.onnx"))
