"""The GUI's adapter over the real `Library` (skipped while the library is incomplete)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from sscq_desktop.model.artifact import ModelArtifact
from sscq_desktop.paths import app_paths

library_mod = pytest.importorskip("sscq_desktop.library.library")


def test_adapter_indexes_and_searches_with_the_real_library(
    tiny_artifact: ModelArtifact, photo_folders: tuple[Path, Path]
) -> None:
    from sscq_desktop.ui.library_adapter import LibraryAdapter

    a, b = photo_folders
    lib = library_mod.Library(app_paths())
    try:
        adapter = LibraryAdapter(lib)
        model = adapter.register_model(tiny_artifact.path)
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
