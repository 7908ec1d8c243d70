"""Hostile model files through the real CLI (issue 13): refused with a message, never active.

Each test builds real ONNX files (`hostile_models`), runs `sscq_desktop.cli.main` on the
test's own SSCQ_DESKTOP_HOME with real onnxruntime, and checks that the library keeps
working with the model it had.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from hostile_models import (
    BadOutput,
    tiny_graph,
    with_bad_output,
    with_custom_op,
    with_loop,
    write_raw,
)
from PIL import Image

from sscq_desktop import cli
from sscq_desktop.model.artifact import ModelArtifact
from sscq_desktop.paths import app_paths

GOOD = "tiny-test-model"


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    root.mkdir()
    for i in range(8):
        grid = np.random.default_rng(i).integers(0, 256, (4, 4, 3), dtype=np.uint8)
        image = Image.fromarray(grid, "RGB").resize((96, 64), Image.Resampling.NEAREST)
        image.save(root / f"p{i}.jpg", quality=95)
    (root / "broken.jpg").write_bytes(b"nope")
    return root


@pytest.fixture
def indexed(photos: Path, tiny_artifact: ModelArtifact) -> Path:
    """A library indexed with the good tiny model (8 photos ok, 1 broken)."""
    assert cli.main(["--model", str(tiny_artifact.path), "index", str(photos)]) == 0
    return photos


def _status(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()
    assert cli.main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert isinstance(status, dict)
    return status


def _model_ids(capsys: pytest.CaptureFixture[str]) -> list[str]:
    capsys.readouterr()
    assert cli.main(["models", "list", "--json"]) == 0
    return [m["model_id"] for m in json.loads(capsys.readouterr().out)]


def _broken_reshape(proto: onnx.ModelProto) -> onnx.ModelProto:
    """Passes every static check, but onnxruntime refuses it: (N, 32) into L = 5."""
    out = onnx.ModelProto()
    out.CopyFrom(proto)
    shape = next(t for t in out.graph.initializer if t.name == "split_shape")
    shape.CopyFrom(
        onnx.numpy_helper.from_array(np.array([-1, 8, 1, 5], np.int64), "split_shape")
    )
    return out


def _hostile(kind: str, path: Path, model_id: str) -> Path:
    graph, meta = tiny_graph(model_id=model_id)
    builders: dict[str, Callable[[onnx.ModelProto], onnx.ModelProto]] = {
        "custom-op": with_custom_op,
        "onnxruntime-refuses": _broken_reshape,
        "loop": with_loop,
        "codes>=K": lambda g: with_bad_output(g, "codes"),
        "nan": lambda g: with_bad_output(g, "nan"),
        "wide": lambda g: with_bad_output(g, "wide"),
    }
    proto = builders[kind](graph)
    return write_raw(proto, meta, path)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("custom-op", "operator domain 'com.example.custom'"),
        ("loop", "operator 'Loop'"),
        ("onnxruntime-refuses", "cannot be used: onnxruntime"),
        ("codes>=K", r"produced invalid output: codes must be in [0, 16)"),
        ("nan", "produced invalid output: the embedding holds NaN"),
        ("wide", "produced invalid output: 'embedding' has shape (2, 33)"),
    ],
)
def test_import_refuses_a_model_that_cannot_run_or_answers_wrongly(
    kind: str,
    reason: str,
    indexed: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = _hostile(kind, tmp_path / "bad.onnx", "tiny-bad")
    capsys.readouterr()
    assert cli.main(["models", "import", str(bad)]) == cli.EXIT_NO_MODEL
    err = capsys.readouterr().err
    assert reason in err and "bad.onnx" in err and "Traceback" not in err
    assert _model_ids(capsys) == [GOOD]
    assert not list(app_paths().models_dir.glob("tiny-bad*"))
    # --model FILE (import and switch in one go) refuses it too; the library still works.
    assert cli.main(["--model", str(bad), "index", str(indexed)]) == cli.EXIT_NO_MODEL
    assert cli.main(["index", str(indexed)]) == cli.EXIT_OK
    assert _status(capsys)["active_model"] == GOOD


@pytest.mark.parametrize("kind", ["custom-op", "onnxruntime-refuses"])
def test_models_use_refuses_a_registered_model_and_the_old_one_stays(
    kind: str,
    indexed: Path,
    tiny_artifact_factory: Callable[..., ModelArtifact],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A file registered before these checks (or changed since) cannot become active."""
    other = tiny_artifact_factory(model_id="tiny-b", seed=5, filename="b.onnx")
    assert cli.main(["models", "import", str(other.path)]) == 0
    registered = app_paths().models_dir / "tiny-b.onnx"
    _hostile(kind, registered, "tiny-b")
    capsys.readouterr()

    assert cli.main(["models", "use", "tiny-b"]) == cli.EXIT_NO_MODEL
    err = capsys.readouterr().err
    assert "tiny-b" in err and f"the active model is unchanged: {GOOD}" in err
    status = _status(capsys)
    assert status["active_model"] == GOOD and status["pending_model"] is None
    assert cli.main(["index", str(indexed)]) == cli.EXIT_OK  # not broken until guessed


@pytest.mark.parametrize(
    ("kind", "reason"),
    [("codes", "codes must be in [0, 16)"), ("nan", "the embedding holds NaN")],
)
def test_a_model_failing_on_real_photos_is_refused_during_the_switch(
    kind: BadOutput,
    reason: str,
    indexed: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """It passes the probe (black and white images), then breaks on the first photo."""
    graph, meta = tiny_graph(model_id="tiny-sly")
    proto = with_bad_output(graph, kind, only_on_photos=True)
    sly = write_raw(proto, meta, tmp_path / "sly.onnx")
    assert cli.main(["models", "import", str(sly)]) == 0
    capsys.readouterr()

    assert cli.main(["models", "use", "tiny-sly"]) == cli.EXIT_FAILURE
    err = capsys.readouterr().err
    assert f"model 'tiny-sly' produced invalid output: {reason}" in err
    assert "its photos stay pending" in err and f"unchanged: {GOOD}" in err
    status = _status(capsys)
    assert status["active_model"] == GOOD and status["pending_model"] is None
    assert status["encoded"] == {GOOD: 8, "tiny-sly": 0}  # none for the bad model
    assert status["ok"] == 8 and status["errors"] == 1
    assert cli.main(["index", str(indexed)]) == cli.EXIT_OK


def test_an_active_model_failing_on_photos_leaves_them_pending_not_failed(
    photos: Path,
    tiny_artifact: ModelArtifact,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    graph, meta = tiny_graph(model_id="tiny-sly")
    proto = with_bad_output(graph, "codes", only_on_photos=True)
    sly = write_raw(proto, meta, tmp_path / "sly.onnx")
    capsys.readouterr()

    assert cli.main(["--model", str(sly), "index", str(photos)]) == cli.EXIT_FAILURE
    err = capsys.readouterr().err
    assert "model 'tiny-sly' produced invalid output" in err
    assert "its photos stay pending" in err
    status = _status(capsys)
    assert status["encoded"] == {"tiny-sly": 0}
    assert status["ok"] == 0 and status["errors"] == 0
    assert status["pending"] == 9

    # Switching away works although the active model breaks on every batch.
    good = ["--model", str(tiny_artifact.path), "index", str(photos)]
    assert cli.main(good) == cli.EXIT_OK
    status = _status(capsys)
    assert status["active_model"] == GOOD and status["pending_model"] is None
    assert status["ok"] == 8 and status["errors"] == 1
    assert status["encoded"] == {GOOD: 8, "tiny-sly": 0}


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_import_refuses_a_symlinked_companion_and_copies_nothing(
    tiny_artifact_factory: Callable[..., ModelArtifact],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("private key material")
    model = tiny_artifact_factory(model_id="tiny-link", filename="m.onnx")
    os.symlink(secret, model.path.with_suffix(".pt"))
    capsys.readouterr()

    assert cli.main(["models", "import", str(model.path)]) == cli.EXIT_NO_MODEL
    err = capsys.readouterr().err
    assert "m.pt is a symbolic link" in err
    assert _model_ids(capsys) == []
    copied = (
        list(app_paths().models_dir.glob("*"))
        if app_paths().models_dir.exists()
        else []
    )
    assert copied == []


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_import_refuses_a_symlinked_model_file(
    tiny_artifact: ModelArtifact, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    link = tmp_path / "link.onnx"
    os.symlink(tiny_artifact.path, link)
    capsys.readouterr()
    assert cli.main(["models", "import", str(link)]) == cli.EXIT_NO_MODEL
    assert "link.onnx is a symbolic link" in capsys.readouterr().err
    assert _model_ids(capsys) == []


def test_import_still_copies_a_real_companion_checkpoint(
    tiny_artifact_factory: Callable[..., ModelArtifact],
    capsys: pytest.CaptureFixture[str],
) -> None:
    model = tiny_artifact_factory(model_id="tiny-pt", filename="m.onnx")
    model.path.with_suffix(".pt").write_bytes(b"warm start")
    assert cli.main(["models", "import", str(model.path)]) == cli.EXIT_OK
    copied = app_paths().models_dir / "tiny-pt.pt"
    assert copied.read_bytes() == b"warm start" and not copied.is_symlink()


def test_a_refused_re_import_keeps_the_registered_models_checkpoint(
    tiny_artifact_factory: Callable[..., ModelArtifact],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A registered model whose .onnx went missing but whose .pt is still in models/:
    # importing a file under its id that fails the probe must not take the .pt along.
    model = tiny_artifact_factory(model_id="tiny-pt", filename="m.onnx")
    model.path.with_suffix(".pt").write_bytes(b"warm start")
    assert cli.main(["models", "import", str(model.path)]) == cli.EXIT_OK
    kept = app_paths().models_dir / "tiny-pt.pt"
    (app_paths().models_dir / "tiny-pt.onnx").unlink()

    for companion in (False, True):
        bad = _hostile(
            "onnxruntime-refuses", tmp_path / f"bad{companion}.onnx", "tiny-pt"
        )
        if companion:
            bad.with_suffix(".pt").write_bytes(b"the refused model's checkpoint")
        capsys.readouterr()
        assert cli.main(["models", "import", str(bad)]) == cli.EXIT_NO_MODEL
        assert "cannot be used: onnxruntime" in capsys.readouterr().err
        assert kept.read_bytes() == b"warm start"
        assert not (app_paths().models_dir / "tiny-pt.onnx").exists()


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("deep", "metadata is not valid JSON: it is nested too deeply"),
        ("latin1", "metadata is not valid UTF-8 text"),
    ],
)
def test_import_of_unreadable_metadata_says_the_file_is_invalid(
    payload: str, reason: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    graph, meta = tiny_graph()
    path = write_raw(graph, meta, tmp_path / "meta.onnx")
    proto = onnx.load(str(path))
    placeholder = "\x01" * 32
    if payload == "deep":
        proto.metadata_props[0].value = "[" * 100_000 + "]" * 100_000
        path.write_bytes(proto.SerializeToString())
    else:
        proto.metadata_props[0].value = placeholder
        data = proto.SerializeToString()
        path.write_bytes(
            data.replace(placeholder.encode(), b'{"model_id": "caf\xe9"}'.ljust(32))
        )
    capsys.readouterr()
    assert cli.main(["models", "import", str(path)]) == cli.EXIT_NO_MODEL
    err = capsys.readouterr().err
    assert f"model file {path} is invalid: " in err and reason in err
    assert "Recursion" not in err and "codec" not in err and "Traceback" not in err
