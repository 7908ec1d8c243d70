"""The GUI's adapter over the real `Library` (skipped while the library is incomplete)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import write_photo

from sscq_desktop.model.artifact import ModelArtifact
from sscq_desktop.paths import app_paths
from sscq_desktop.ui.library_backend import RetrainResult

library_mod = pytest.importorskip("sscq_desktop.library.library")


def test_adapter_indexes_and_searches_with_the_real_library(
    tiny_artifact: ModelArtifact, photo_folders: tuple[Path, Path]
) -> None:
    from sscq_desktop.ui.library_adapter import LibraryAdapter

    a, b = photo_folders
    lib = library_mod.Library(app_paths())
    try:
        adapter = LibraryAdapter(lib)
        model = lib.import_model(tiny_artifact.path)
        list(
            adapter.switch_model(
                model.model_id, cancel=threading.Event(), pause=threading.Event()
            )
        )
        adapter.add_folder(a)
        adapter.add_folder(b)
        list(adapter.ingest(cancel=threading.Event(), pause=threading.Event()))
        assert len(adapter.photos()) == 19
        assert {f.photo_count for f in adapter.folders()} == {10, 9}
        beach = next(p for p in adapter.photos() if p.path.name == "beach.jpg")
        hits = adapter.similar_to_photo(
            beach.photo_id, k=5, threshold=0.0, folders=None
        )
        assert hits[0].path.name in {"beach_small.jpg", "beach_copy.jpg"}
        scoped = adapter.similar_to_file(
            a / "beach.jpg", k=5, threshold=0.0, folders=[b]
        )
        assert scoped and {h.folder for h in scoped} == {b}
        assert adapter.active_model().model_id == model.model_id
        assert adapter.provider_name() in {"CPU", "CUDA"}
    finally:
        lib.close()


FAKE_TRAINER = """
import json, shutil, sys
output, source = sys.argv[1:3]
print(json.dumps({"event": "start", "total_steps": 1}), flush=True)
shutil.copyfile(source, output)
print(json.dumps({"event": "done", "steps": 1, "export": {"artifact": output}}), flush=True)
"""


def test_adapter_retrain_reports_the_library_decision_and_switches_nothing(
    tiny_artifact_factory: Callable[..., ModelArtifact],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The library decides (its check: better) but the adapter asks it not to switch:
    the GUI switches on its writer lane, as for a model chosen in Settings."""
    from sscq_desktop.library.retrain_request import TrainerJob
    from sscq_desktop.ui.library_adapter import LibraryAdapter
    from sscq_desktop.ui.library_backend import RetrainNote, RetrainRequest

    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(110):
        write_photo(folder / f"p{i:03d}.jpg", seed=300 + i, size=(80, 60))
    collapsed = tiny_artifact_factory(
        model_id="collapsed", collapsed=True, filename="collapsed.onnx"
    )
    working = tiny_artifact_factory(model_id="working", seed=5, filename="w.onnx")
    script = tmp_path / "trainer.py"
    script.write_text(FAKE_TRAINER)
    lib = library_mod.Library(app_paths())
    try:
        adapter = LibraryAdapter(lib)
        lib.import_model(collapsed.path)
        lib.switch_model("collapsed")
        adapter.add_folder(folder)
        list(adapter.ingest(cancel=threading.Event(), pause=threading.Event()))
        asked: list[bool] = []
        retrain = lib.retrain

        def with_fake_trainer(request: Any, **kwargs: Any) -> Any:
            asked.append(kwargs["switch"])

            def command(job: TrainerJob) -> list[str]:
                return [
                    sys.executable,
                    str(script),
                    str(job.model_path),
                    str(working.path),
                ]

            return retrain(request, command=command, **kwargs)

        monkeypatch.setattr(lib, "retrain", with_fake_trainer)
        updates = list(
            adapter.retrain(RetrainRequest(max_steps=1), cancel=threading.Event())
        )
        notes = [u.message for u in updates if isinstance(u, RetrainNote)]
        assert "holding out 50 of 110 photos to check the new model" in notes[1]
        result = updates[-1]
        assert isinstance(result, RetrainResult)
        assert asked == [False]
        assert result.model.model_id == "working"
        assert result.better and result.checked and result.previous_model == "collapsed"
        assert "photos the new model did not train on" in result.summary
        assert lib.active_model_id == "collapsed" and lib.pending_model_id is None
        list(  # what the window's ModelSwitcher runs on the writer lane
            adapter.switch_model(
                "working", cancel=threading.Event(), pause=threading.Event()
            )
        )
        assert lib.active_model_id == "working"
    finally:
        lib.close()
