from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Generator
from pathlib import Path

import numpy as np
import pytest
from broken_files import break_in_place, repair_in_place
from PIL import Image

from sscq_desktop import cli
from sscq_desktop.cli import output
from sscq_desktop.library.progress import Progress
from sscq_desktop.model.artifact import ModelArtifact


def _photo(path: Path, seed: int, size: tuple[int, int] = (96, 64)) -> Path:
    rng = np.random.default_rng(seed)
    grid = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid, "RGB").resize(size, Image.Resampling.NEAREST).save(
        path, quality=95
    )
    return path


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    for i in range(8):
        _photo(root / f"p{i}.jpg", seed=i)
    (root / "broken.jpg").write_bytes(b"nope")
    return root


def _json(capsys: pytest.CaptureFixture[str]) -> object:
    return json.loads(capsys.readouterr().out)


def test_index_similar_status_round_trip(
    photos: Path,
    tiny_artifact: ModelArtifact,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert (
        cli.main(["--model", str(tiny_artifact.path), "index", str(photos), "--json"])
        == 0
    )
    summary = _json(capsys)
    assert isinstance(summary, dict)
    assert summary["files"] == 9 and summary["errors"] == 1 and summary["images"] == 9

    query = _photo(tmp_path / "query.png", seed=3, size=(300, 200))
    assert cli.main(["similar", str(query), "--top", "3", "--json"]) == 0
    hits = _json(capsys)
    assert isinstance(hits, list) and len(hits) == 3
    assert Path(hits[0]["path"]).name == "p3.jpg"
    assert hits[0]["model_id"] == tiny_artifact.model_id

    assert cli.main(["similar", str(query), "--top", "2"]) == 0
    assert "p3.jpg" in capsys.readouterr().out.splitlines()[0]

    assert cli.main(["status", "--json"]) == 0
    status = _json(capsys)
    assert isinstance(status, dict)
    assert status["ok"] == 8 and status["errors"] == 1
    assert status["active_model"] == tiny_artifact.model_id
    assert status["failed"][0]["path"].endswith("broken.jpg")

    assert cli.main(["models", "list", "--json"]) == 0
    models = _json(capsys)
    assert isinstance(models, list) and models[0]["active"] and models[0]["bits"] == 32


def test_similar_with_unreadable_query_fails_cleanly(
    photos: Path,
    tiny_artifact: ModelArtifact,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["--model", str(tiny_artifact.path), "index", str(photos)]) == 0
    bad = tmp_path / "bad.jpg"
    bad.write_text("text")
    assert cli.main(["similar", str(bad)]) == cli.EXIT_FAILURE
    assert "cannot read" in capsys.readouterr().err


def test_without_any_model_commands_explain_and_exit_3(
    photos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    query = _photo(tmp_path / "q.jpg", seed=1)
    assert cli.main(["similar", str(query)]) == cli.EXIT_NO_MODEL
    err = capsys.readouterr().err
    assert "default model" in err and "models import" in err
    assert cli.main(["index", str(photos)]) == cli.EXIT_NO_MODEL
    assert cli.main(["doctor"]) == cli.EXIT_NO_MODEL
    assert "NONE" in capsys.readouterr().out


def test_doctor_reports_versions_provider_and_paths(
    tiny_artifact: ModelArtifact, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--model", str(tiny_artifact.path), "doctor", "--json"]) == 0
    report = _json(capsys)
    assert isinstance(report, dict) and report["ok"] is True
    assert report["execution provider"] in ("CPU", "CUDA")
    assert "onnxruntime" in report and "data dir" in report
    assert "ok" in report["catalog"]


def test_models_import_and_use_switches_after_re_encoding(
    photos: Path,
    tiny_artifact: ModelArtifact,
    tiny_artifact_factory: Callable[..., ModelArtifact],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["--model", str(tiny_artifact.path), "index", str(photos)]) == 0
    other = tiny_artifact_factory(model_id="tiny-other", seed=5, filename="other.onnx")
    assert cli.main(["models", "import", str(other.path)]) == 0
    assert cli.main(["models", "use", "tiny-other"]) == 0
    assert "active model: tiny-other" in capsys.readouterr().out
    assert cli.main(["models", "use", "no-such-model"]) == cli.EXIT_NO_MODEL
    assert cli.main(["models", "import", str(photos / "p0.jpg")]) == cli.EXIT_NO_MODEL


def test_duplicates_json(
    photos: Path, tiny_artifact: ModelArtifact, capsys: pytest.CaptureFixture[str]
) -> None:
    _photo(photos / "copy_of_p2.png", seed=2, size=(48, 32))
    assert cli.main(["--model", str(tiny_artifact.path), "index", str(photos)]) == 0
    capsys.readouterr()
    # Flat 4x4 grids without noise: only exact copies are told apart from the others.
    assert cli.main(["duplicates", "--json", "--level", "exact"]) == 0
    groups = _json(capsys)
    assert isinstance(groups, list)
    assert [sorted(Path(p).name for p in g["paths"]) for g in groups] == [
        ["copy_of_p2.png", "p2.jpg"]
    ]
    assert Path(groups[0]["keep"]).name == "p2.jpg"  # the larger copy is kept


def test_no_subcommand_starts_the_gui_or_says_why_not(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib

    def missing(name: str) -> object:
        raise ModuleNotFoundError(f"No module named {name!r}")

    monkeypatch.setattr(importlib, "import_module", missing)
    assert cli.main([]) == cli.EXIT_FAILURE
    assert "desktop app is not available" in capsys.readouterr().err


def test_usage_errors_exit_2() -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["similar"])
    assert info.value.code == 2


FAKE_TRAINER = """
import json, shutil, sys
image_list, model_path, init_from, source = sys.argv[1:5]
paths = open(image_list, encoding="utf-8").read().splitlines()
print(json.dumps({"event": "start", "n_images": len(paths), "total_steps": 1}), flush=True)
print(json.dumps({"event": "step", "step": 1, "total_steps": 1, "losses": {"total": 1.0}}), flush=True)
shutil.copyfile(source, model_path)
print(json.dumps({"event": "done", "export": {"artifact": model_path}}), flush=True)
"""


def test_retrain_registers_and_keeps_the_model_it_cannot_check(
    photos: Path,
    tiny_artifact_factory: Callable[..., ModelArtifact],
    tiny_artifact: ModelArtifact,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["--model", str(tiny_artifact.path), "index", str(photos)]) == 0
    trained = tiny_artifact_factory(model_id="cli-trained", M=4, filename="t.onnx")
    script = tmp_path / "trainer.py"
    script.write_text(FAKE_TRAINER)
    capsys.readouterr()
    argv = ["retrain", "--bits", "16", "--minutes", "1", "--device", "cpu"]
    argv += ["--from-scratch", "--max-steps", "2", "--trainer", sys.executable]
    argv += [
        str(script),
        "{image_list}",
        "{model_path}",
        "{init_from}",
        str(trained.path),
    ]
    assert cli.main(argv) == 0
    out, err = capsys.readouterr()
    assert "training from scratch, as asked" in err
    # Said before training: too few photos to check the new model.
    assert "the library has only 8 photos: too few to check the new model" in err
    assert "so it will be kept aside, not switched to" in err
    assert "trained and registered cli-trained" in out
    # Eight photos are too few to hold some out and check it: the model stays unused,
    # and the reason is said once, with no verdict on a model that was not measured.
    assert "the new model could not be checked: the library has too few photos" in out
    assert out.count("too few photos") == 1
    assert "better" not in out
    assert (
        f"the current model {tiny_artifact.model_id} stays in use; to switch to the "
        "new one by hand: sscq-desktop models use cli-trained"
    ) in out
    assert f"active model: {tiny_artifact.model_id}" in out


def test_retrain_switches_only_to_a_better_model_and_prints_both_figures(
    tiny_artifact_factory: Callable[..., ModelArtifact],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path / "many"
    for i in range(110):
        _photo(root / f"p{i:03d}.jpg", seed=100 + i)
    collapsed = tiny_artifact_factory(
        model_id="cli-collapsed", collapsed=True, filename="c.onnx"
    )
    assert cli.main(["--model", str(collapsed.path), "index", str(root)]) == 0
    script = tmp_path / "trainer.py"
    script.write_text(FAKE_TRAINER)

    def retrain(produced: ModelArtifact) -> str:
        capsys.readouterr()
        argv = ["retrain", "--from-scratch", "--trainer", sys.executable, str(script)]
        argv += ["{image_list}", "{model_path}", "{init_from}", str(produced.path)]
        assert cli.main(argv) == 0
        return capsys.readouterr().out

    good = tiny_artifact_factory(model_id="cli-good", filename="g.onnx")
    out = retrain(good)
    assert "finds a heavily edited copy of a photo first" in out
    assert "on 50 photos the new model did not train on" in out
    assert "copy score (mean reciprocal rank): new 0." in out
    assert "switching to cli-good: its score is higher by" in out
    assert "active model: cli-good" in out

    bad = tiny_artifact_factory(model_id="cli-bad", collapsed=True, filename="b.onnx")
    out = retrain(bad)
    assert (
        "kept the current model cli-good, as the new one is not measurably better "
        "(its score is not higher: " in out
    )
    assert "((" not in out and "))" not in out
    assert "sscq-desktop models use cli-bad" in out
    assert "active model: cli-good" in out


def test_notes_print_above_the_progress_bar_without_tearing_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(output, "show_progress", lambda args: True)

    def job() -> Generator[Progress, None, str]:
        yield Progress("retrain", 0, 0, message="training from scratch")
        yield Progress("retrain", 2, 3)
        yield Progress("retrain", 2, 3, message="checking the new model")
        return "trained"

    def note(progress: Progress) -> str | None:
        return f"sscq-desktop: {progress.message}" if progress.message else None

    assert (
        output.drive(
            job(), argparse.Namespace(no_progress=False), "training", note=note
        )
        == "trained"
    )
    lines = capsys.readouterr().err.replace("\r", "\n").split("\n")
    assert "sscq-desktop: training from scratch" in lines  # each a whole line
    assert "sscq-desktop: checking the new model" in lines
    assert any("2/3" in line for line in lines)


@pytest.mark.parametrize(
    "bad", [["--bits", "24"], ["--minutes", "0"], ["--device", "tpu"]]
)
def test_retrain_refuses_bad_choices(
    bad: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["retrain", *bad])
    assert exited.value.code == 2
    assert bad[0] in capsys.readouterr().err


def test_retrain_failure_leaves_the_model(
    photos: Path,
    tiny_artifact: ModelArtifact,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["--model", str(tiny_artifact.path), "index", str(photos)]) == 0
    argv = ["retrain", "--trainer", sys.executable, "-c", "raise SystemExit(4)"]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert "training failed: the trainer exited with code 4" in err
    assert f"the active model is unchanged: {tiny_artifact.model_id}" in err


def test_retry_indexes_a_repaired_photo_that_index_alone_skips(
    photos: Path, tiny_artifact: ModelArtifact, capsys: pytest.CaptureFixture[str]
) -> None:
    (photos / "broken.jpg").unlink()
    flaky = photos / "flaky.jpg"
    good = break_in_place(_photo(flaky, seed=42))
    assert cli.main(["--model", str(tiny_artifact.path), "index", str(photos)]) == 0
    capsys.readouterr()
    assert cli.main(["status"]) == 0
    out = capsys.readouterr().out
    assert f"failed: {flaky}" in out and "sscq-desktop retry" in out

    repair_in_place(flaky, good)
    assert cli.main(["index", str(photos), "--json"]) == 0
    summary = _json(capsys)  # size and mtime unchanged: a scan skips it
    assert isinstance(summary, dict) and summary["failed_total"] == 1

    assert cli.main(["retry", "--json"]) == 0
    result = _json(capsys)
    assert isinstance(result, dict)
    assert result["retried"] == 1 and result["indexed"] is True
    assert result["failed_total"] == 0 and result["failed"] == []
    assert cli.main(["status", "--json"]) == 0
    status = _json(capsys)
    assert isinstance(status, dict)
    assert status["ok"] == 9 and status["errors"] == 0 and status["pending"] == 0
    assert cli.main(["status"]) == 0
    assert "sscq-desktop retry" not in capsys.readouterr().out

    assert cli.main(["retry"]) == 0
    assert capsys.readouterr().out.strip() == "no failed photos to retry"


def test_retry_lists_what_still_fails_and_no_index_only_queues(
    photos: Path, tiny_artifact: ModelArtifact, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--model", str(tiny_artifact.path), "index", str(photos)]) == 0
    capsys.readouterr()
    assert cli.main(["retry"]) == 0
    out = capsys.readouterr().out
    assert "retried 1 failed photo(s)" in out and "1 still failing" in out
    assert f"failed: {photos / 'broken.jpg'}" in out
    # In plain words, then the recorded reason whole.
    assert "    This file is not a photo, or it is in a format" in out
    assert "(not an image, or an unsupported format)" in out

    assert cli.main(["retry", "--no-index"]) == 0
    assert "1 failed photo(s) queued" in capsys.readouterr().out
    assert cli.main(["status", "--json"]) == 0
    status = _json(capsys)
    assert isinstance(status, dict)
    assert status["pending"] == 1 and status["errors"] == 0
    assert cli.main(["index", str(photos), "--json"]) == 0  # the queue is worked off
    summary = _json(capsys)
    assert isinstance(summary, dict) and summary["failed_total"] == 1
