"""What displays ask the library for: folder overviews, photo lists, models, searches.

The GUI uses `Library` and its records directly (issue #14, item 1); these are the calls
it makes that the CLI does not, and the retrain it runs without a switch (moved here from
the deleted GUI adapter's tests).
"""

from __future__ import annotations

import shutil
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from library_testkit import grid_image

from sscq_desktop.library.library import Library
from sscq_desktop.library.progress import Progress, run_job
from sscq_desktop.library.records import ModelRecord
from sscq_desktop.library.retrain.retrain_request import RetrainRequest, TrainerJob
from sscq_desktop.model.artifact import ModelArtifact


@pytest.fixture
def two_folders(tmp_path: Path, make_photo: Callable[..., Path]) -> tuple[Path, Path]:
    """``a`` (10 photos and a broken file) and ``b`` (10, one a copy of ``a/a9.jpg``)."""
    a, b = tmp_path / "a", tmp_path / "b"
    for i in range(9):
        make_photo(a / f"a{i}.jpg", seed=i)
        make_photo(b / f"b{i}.jpg", seed=100 + i)
    make_photo(a / "a9.jpg", seed=300)
    grid_image(300, (144, 96)).save(b / "copy_of_a9.jpg", quality=95)
    (a / "broken.jpg").write_bytes(b"not a jpeg")
    return a, b


def _indexed(library: Library, *folders: Path) -> None:
    for folder in folders:
        library.add_folder(folder)
    run_job(library.update())


def test_folder_overviews_count_indexed_photos_and_say_why_one_is_offline(
    library: Library, two_folders: tuple[Path, Path]
) -> None:
    a, b = two_folders
    _indexed(library, a, b)

    overviews = {f.path: f for f in library.folder_overviews()}
    assert {p: f.photo_count for p, f in overviews.items()} == {a: 10, b: 10}
    assert not any(f.offline for f in overviews.values())
    assert [f.id for f in overviews.values()] == [f.id for f in library.folders()]

    shutil.rmtree(b)  # unplugged: no scan has seen it yet
    gone = {f.path: f for f in library.folder_overviews()}[b]
    assert gone.offline and gone.offline_reason is not None
    assert gone.offline_reason.startswith("not found")
    assert gone.photo_count == 10  # its photos are kept


def test_subfolders_come_from_the_catalog_with_counts_at_or_below(
    library: Library, tmp_path: Path, make_photo: Callable[..., Path]
) -> None:
    a = tmp_path / "a"
    layout = {"": 1, "x": 2, "x/y": 2, "z": 3, "x2": 1}  # x2: not below x
    seed = 0
    for sub, n in layout.items():
        for _ in range(n):
            make_photo(a / sub / f"p{seed}.jpg", seed=seed)
            seed += 1
    (a / "empty" / "deeper").mkdir(parents=True)  # no photo: not listed
    (a / "z" / "broken.jpg").write_bytes(b"not a jpeg")  # failed: not counted
    (a / "only_broken").mkdir()
    (a / "only_broken" / "broken.jpg").write_bytes(b"not a jpeg")
    _indexed(library, a)
    (root,) = library.folders()

    nodes = library.subfolders()
    assert [(n.path, n.photo_count) for n in nodes] == [
        (a / "x", 4),
        (a / "x" / "y", 2),
        (a / "x2", 1),
        (a / "z", 3),
    ]
    assert {n.root_id for n in nodes} == {root.id}
    shutil.rmtree(a / "x")  # the disk is not read: the catalog still holds them
    assert library.subfolders() == nodes
    # From photos already read (the window's snapshot): counts agree with them.
    some = [p for p in library.photos() if p.path.parent != a / "x" / "y"]
    assert [(n.path, n.photo_count) for n in library.subfolders(some)] == [
        (a / "x", 2),
        (a / "x2", 1),
        (a / "z", 3),
    ]


def test_photos_lists_the_indexed_ones_or_any_status(
    library: Library, two_folders: tuple[Path, Path]
) -> None:
    a, b = two_folders
    _indexed(library, a, b)

    indexed = library.photos()
    assert len(indexed) == 20 and {p.status for p in indexed} == {"ok"}
    assert [p.id for p in indexed] == sorted(p.id for p in indexed)
    (failed,) = library.photos(status="error")
    assert failed.path == a / "broken.jpg" and failed.error
    assert len(library.photos(status=None)) == 21


def test_searches_keep_to_a_folder_scope_and_a_score_floor(
    library: Library, two_folders: tuple[Path, Path]
) -> None:
    a, b = two_folders
    _indexed(library, a, b)
    query = library.photo_by_path(a / "a9.jpg")
    assert query is not None

    hits = library.similar_to_photo(query.id, k=5)
    assert hits[0].path == b / "copy_of_a9.jpg"
    assert query.id not in {h.photo_id for h in hits}
    scoped = library.similar_to_file(a / "a9.jpg", k=5, folders=[a])
    assert len(scoped) == 5 and all(h.path.parent == a for h in scoped)
    assert a / "a9.jpg" not in {h.path for h in scoped}  # a library file: itself out
    strict = library.similar_to_photo(query.id, k=20, min_score=0.5)
    assert strict and len(strict) < len(library.similar_to_photo(query.id, k=20))
    assert all(h.score >= 0.5 for h in strict)
    # the stored embedding is the query of an unchanged library file: same numbers
    as_file = library.similar_to_file(a / "a9.jpg", k=5)
    assert as_file == hits


def test_similar_to_image_searches_with_pixels_already_decoded(
    library: Library, two_folders: tuple[Path, Path]
) -> None:
    a, b = two_folders
    _indexed(library, a, b)
    pixels = np.asarray(grid_image(104, (200, 130)), dtype=np.uint8)  # b4, larger

    hits = library.similar_to_image(pixels, k=3)

    assert hits[0].path == b / "b4.jpg"  # nothing is excluded: it is not a file
    assert hits[0].score > hits[1].score
    scoped = library.similar_to_image(pixels, k=3, folders=[a])
    assert scoped and all(h.path.parent == a for h in scoped)
    with pytest.raises(TypeError, match="uint8"):
        library.similar_to_image(pixels.astype(np.float32), k=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        library.similar_to_image(pixels[..., :2], k=3)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        library.similar_to_image(pixels[:0], k=3)


def test_a_search_right_after_an_ingest_sees_every_photo_it_stored(
    library: Library, two_folders: tuple[Path, Path]
) -> None:
    # Searches reuse a snapshot of the codes for a moment while ingest writes; a
    # display that searches again on "ingest done" must not get the one from before.
    a, _ = two_folders
    assert library.similar_to_file(a / "a9.jpg", k=5) == []  # empty: snapshot made
    library.add_folder(a)
    last: list[Progress] = []
    run_job(library.update(), last.append)
    assert last[-1].done == last[-1].total == 11
    hits = library.similar_to_file(a / "a9.jpg", k=20)  # at once
    assert len(hits) == 9  # every other indexed photo of the folder


def test_near_duplicates_take_a_named_level(
    library: Library, two_folders: tuple[Path, Path]
) -> None:
    a, b = two_folders
    _indexed(library, a, b)

    # Same grid, other noise, 1.5x larger: 13 of 128 hash bits differ (exact: <= 10).
    assert run_job(library.near_duplicates(level="exact")) == []
    groups = run_job(library.near_duplicates(level="edited"))
    assert [sorted(p.name for p in g.paths) for g in groups] == [
        ["a9.jpg", "copy_of_a9.jpg"]
    ]
    loose = run_job(library.near_duplicates(level="similar"))
    # At least as loose as Edited copies; the other flat grids, alike in hashes and
    # embedding, differ in colour, which every level checks.
    assert any({"a9.jpg", "copy_of_a9.jpg"} <= {p.name for p in g.paths} for g in loose)
    with pytest.raises(ValueError, match="exact, edited, similar"):
        run_job(library.near_duplicates(level="0.95"))


def test_the_active_model_its_code_length_and_where_it_runs(
    open_library: Callable[..., Library],
    tiny_artifact: ModelArtifact,
    tiny_artifact_factory: Callable[..., ModelArtifact],
) -> None:
    library = open_library()  # the tests' installation has no default model
    assert library.active_model() is None and library.provider_name() == ""

    library.import_model(tiny_artifact.path)
    library.switch_model(tiny_artifact.model_id)
    active = library.active_model()
    assert isinstance(active, ModelRecord)
    assert active.model_id == tiny_artifact.model_id
    assert (active.M, active.K, active.nbits) == (8, 16, 32)  # 8 x log2(16)
    assert not active.is_default and active.source == "imported"
    assert library.provider_name() == "CPU"  # the counting encoder does not say
    wide = tiny_artifact_factory(model_id="wide", M=16, K=256, filename="wide.onnx")
    assert library.import_model(wide.path).nbits == 128


def test_the_shipped_default_model_is_flagged(
    open_library: Callable[..., Library],
    tiny_artifact: ModelArtifact,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSCQ_DESKTOP_DEFAULT_MODEL", str(tiny_artifact.path))
    library = open_library()
    active = library.active_model()
    assert active is not None and active.is_default and active.source == "default"


COPYING_TRAINER = textwrap.dedent(
    """
    import json, shutil, sys
    output, source = sys.argv[1:3]
    print(json.dumps({"event": "start", "total_steps": 1}), flush=True)
    shutil.copyfile(source, output)
    print(json.dumps({"event": "done", "steps": 1, "export": {"artifact": output}}), flush=True)
    """
)


def test_a_retrain_without_switch_decides_and_leaves_the_switch_to_the_caller(
    library: Library,
    tmp_path: Path,
    make_photo: Callable[..., Path],
    tiny_artifact_factory: Callable[..., ModelArtifact],
) -> None:
    """The GUI's retrain: the library decides (its check: better) and switches nothing;
    the GUI switches as one of its writes, as for a model chosen in Settings."""
    for i in range(110):
        make_photo(tmp_path / "photos" / f"p{i:03d}.jpg", seed=300 + i)
    collapsed = tiny_artifact_factory(
        model_id="collapsed", collapsed=True, filename="collapsed.onnx"
    )
    working = tiny_artifact_factory(model_id="working", seed=5, filename="w.onnx")
    script = tmp_path / "trainer.py"
    script.write_text(COPYING_TRAINER)
    library.import_model(collapsed.path)
    library.switch_model("collapsed")
    _indexed(library, tmp_path / "photos")

    def command(job: TrainerJob) -> list[str]:
        return [sys.executable, str(script), str(job.model_path), str(working.path)]

    seen: list[Progress] = []
    outcome = run_job(
        library.retrain(RetrainRequest(max_steps=1), command=command, switch=False),
        seen.append,
    )

    notes = [p.message for p in seen if p.event is None]
    assert "holding out 50 of 110 photos to check the new model" in notes[1]
    assert outcome.record.model_id == "working" and not outcome.switched
    check = outcome.check
    assert check.better and check.n_photos == 50
    assert "photos the new model did not train on" in check.summary()
    assert outcome.previous_model_id == "collapsed"
    assert library.active_model_id == "collapsed" and library.pending_model_id is None
    assert library.switch_model("working") is False  # what the window then runs
    run_job(library.ingest())
    assert library.active_model_id == "working"
