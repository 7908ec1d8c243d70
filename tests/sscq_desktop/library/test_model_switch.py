from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from library_testkit import Counter

from sscq_desktop.library.library import Library
from sscq_desktop.library.progress import run_job
from sscq_desktop.model.artifact import ArtifactError, ModelArtifact


def _photos(make_photo: Callable[..., Path], root: Path, n: int) -> None:
    for i in range(n):
        make_photo(root / f"p{i:03d}.jpg", seed=i)


def test_old_model_answers_until_the_new_codes_are_complete(
    library: Library,
    tiny_artifact_factory: Callable[..., ModelArtifact],
    tmp_path: Path,
    make_photo: Callable[..., Path],
) -> None:
    root = tmp_path / "photos"
    _photos(make_photo, root, 60)
    library.add_folder(root)
    run_job(library.update())
    old = library.active_model_id
    new = tiny_artifact_factory(model_id="tiny-new", seed=3, filename="new.onnx")
    library.import_model(new.path)

    assert library.switch_model("tiny-new") is False
    assert library.pending_model_id == "tiny-new" and library.active_model_id == old
    query = library.photo_by_path(root / "p005.jpg")
    assert query is not None

    seen: list[tuple[str, ...]] = []
    wrong: list[str] = []
    stop = threading.Event()

    def searcher() -> None:
        while not stop.is_set():
            hits = library.similar_to_photo(query.id, k=10)
            seen.append(tuple(sorted({h.model_id for h in hits})))
            model_id = hits[0].model_id
            meta = library.artifact(model_id).metadata
            reader = library.catalog.reader
            ids, stored = reader.embeddings_of(model_id, [h.photo_id for h in hits])
            emb = reader.embedding(query.id, model_id)
            assert emb is not None
            for h in hits:  # every distance comes from that one model's embeddings
                other = stored[int(np.flatnonzero(ids == h.photo_id)[0])]
                d = np.sqrt(
                    ((emb - other).reshape(meta.M, meta.L) ** 2).sum(axis=1)
                ).sum()
                if abs(d - h.distance) > 1e-3:
                    wrong.append(f"{model_id}: {d} != {h.distance}")

    thread = threading.Thread(target=searcher)
    thread.start()
    job = library.ingest()
    first = next(job)
    assert first.total == 60
    for _ in job:
        assert library.active_model_id == old  # still the old one while encoding
    stop.set()
    thread.join(timeout=30)

    assert library.stats().active_model == "tiny-new"
    assert library.stats().pending_model is None
    assert seen and all(len(models) == 1 for models in seen)
    assert not wrong
    assert library.similar_to_photo(query.id, k=3)[0].model_id == "tiny-new"


def test_switching_back_is_immediate_when_codes_exist(
    library: Library,
    tiny_artifact_factory: Callable[..., ModelArtifact],
    counter: Counter,
    tmp_path: Path,
    make_photo: Callable[..., Path],
) -> None:
    root = tmp_path / "photos"
    _photos(make_photo, root, 10)
    library.add_folder(root)
    run_job(library.update())
    first = library.active_model_id
    new = tiny_artifact_factory(model_id="tiny-new", seed=3, filename="new.onnx")
    library.import_model(new.path)
    library.switch_model("tiny-new")
    run_job(library.ingest())
    calls = counter.calls
    assert first is not None and library.switch_model(first) is True
    assert counter.calls == calls and library.active_model_id == first


def test_a_switch_keeps_the_codes_of_the_new_and_the_previous_model_only(
    library: Library,
    tiny_artifact_factory: Callable[..., ModelArtifact],
    tmp_path: Path,
    make_photo: Callable[..., Path],
) -> None:
    root = tmp_path / "photos"
    _photos(make_photo, root, 10)
    library.add_folder(root)
    run_job(library.update())
    first = library.active_model_id
    assert first is not None
    for n, model_id in enumerate(("second", "third")):
        model = tiny_artifact_factory(
            model_id=model_id, seed=3 + n, filename=f"{n}.onnx"
        )
        library.import_model(model.path)
        assert library.switch_model(model_id) is False
        assert library.stats().encoded[first] == 10  # still searched: kept
        run_job(library.ingest())
        assert library.active_model_id == model_id

    assert library.stats().encoded == {first: 0, "second": 10, "third": 10}
    assert len(library.catalog.reader.codes(first)[0]) == 0  # registered, but no codes
    query = library.photo_by_path(root / "p004.jpg")
    assert query is not None
    hits = library.similar_to_photo(query.id, k=3)
    assert len(hits) == 3 and {h.model_id for h in hits} == {"third"}
    outside = make_photo(tmp_path / "query.jpg", seed=4)
    hits = library.similar_to_file(outside, k=3)
    assert len(hits) == 3 and {h.model_id for h in hits} == {"third"}
    # One step back is immediate and keeps both; further back means re-encoding.
    assert library.switch_model("second") is True
    assert library.stats().encoded == {first: 0, "second": 10, "third": 10}
    assert library.similar_to_photo(query.id, k=3)[0].model_id == "second"
    assert library.switch_model(first) is False


def test_going_back_to_the_default_model(
    open_library: Callable[..., Library],
    tiny_artifact_factory: Callable[..., ModelArtifact],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    make_photo: Callable[..., Path],
) -> None:
    default = tiny_artifact_factory(
        model_id="shipped-default", seed=9, filename="default.onnx"
    )
    monkeypatch.setattr(
        "sscq_desktop.library.models.model_files.default_model_path",
        lambda: default.path,
    )
    lib = open_library()
    assert lib.active_model_id == "shipped-default" == lib.default_model_id
    _photos(make_photo, tmp_path / "photos", 5)
    lib.add_folder(tmp_path / "photos")
    run_job(lib.update())
    mine = tiny_artifact_factory(model_id="mine", seed=4, filename="mine.onnx")
    lib.import_model(mine.path)
    lib.switch_model("mine")
    run_job(lib.ingest())
    assert lib.active_model_id == "mine"
    assert lib.use_default_model() is True
    assert lib.active_model_id == "shipped-default"


def test_import_refuses_a_different_model_under_a_registered_id(
    library: Library,
    tiny_artifact: ModelArtifact,
    tiny_artifact_factory: Callable[..., ModelArtifact],
) -> None:
    assert (
        library.import_model(tiny_artifact.path).model_id == tiny_artifact.model_id
    )  # idempotent
    impostor = tiny_artifact_factory(
        model_id=tiny_artifact.model_id, seed=77, filename="impostor.onnx"
    )
    with pytest.raises(ArtifactError, match="different model"):
        library.import_model(impostor.path)
    with pytest.raises(ArtifactError):
        library.switch_model("unknown-model")
