from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from library_testkit import Counter, CountingEncoder

from sscq_desktop.library.catalog import Catalog, IngestRecord
from sscq_desktop.library.crash_quarantine import (
    CRASH_ERROR,
    CRASH_LIMIT,
    review_crashed_decodes,
)
from sscq_desktop.library.decode_markers import markers_dir
from sscq_desktop.library.image_loader import LoadedImage, load_image
from sscq_desktop.library.ingest import IngestOptions, IngestPipeline
from sscq_desktop.library.progress import run_job
from sscq_desktop.library.records import PhotoId
from sscq_desktop.library.scanner import FileStat, Reconciliation
from sscq_desktop.model.artifact import ModelArtifact


def _catalog(tmp_path: Path, names: list[str]) -> tuple[Catalog, dict[str, PhotoId]]:
    cat = Catalog(tmp_path / "data" / "catalog.sqlite3")
    folder = cat.add_folder(tmp_path)
    files = [FileStat(tmp_path / n, 10, 1, folder.id) for n in names]
    cat.apply_reconciliation(Reconciliation(new=[(f, None) for f in files]))
    rows = cat._rows("SELECT id, path FROM images")
    return cat, {Path(p).name: PhotoId(i) for i, p in rows}


def _register(cat: Catalog, artifact: ModelArtifact) -> None:
    meta = artifact.metadata
    cat.register_model(
        model_id=meta.model_id,
        path=artifact.path,
        source="imported",
        M=meta.M,
        K=meta.K,
        L=meta.L,
    )


def _dead_marker(cat: Catalog, photo_id: int, path: Path, tag: str = "0") -> None:
    """A marker as a process that died mid-decode leaves it (nobody holds its lock)."""
    folder = markers_dir(cat.path)
    folder.mkdir(exist_ok=True)
    raw = os.fsencode(path)
    (folder / f"dead-{tag}.marker").write_bytes(
        b"%d %d\n%s" % (photo_id, len(raw), raw)
    )


def _row(cat: Catalog, photo_id: int) -> tuple[str, str | None, int]:
    row = cat._one(
        "SELECT status, error, decode_crashes FROM images WHERE id = ?", (photo_id,)
    )
    return row[0], row[1], row[2]


def test_one_crash_only_counts_the_second_quarantines(tmp_path: Path) -> None:
    cat, ids = _catalog(tmp_path, ["a.jpg", "b.jpg"])
    a = ids["a.jpg"]
    assert review_crashed_decodes(cat, markers_dir(cat.path)).suspects == set()

    _dead_marker(cat, a, tmp_path / "a.jpg")
    review = review_crashed_decodes(cat, markers_dir(cat.path))
    assert review.quarantined == [] and review.suspects == {a}
    assert _row(cat, a) == ("pending", None, 1)
    assert list(markers_dir(cat.path).iterdir()) == []  # markers are consumed

    _dead_marker(cat, a, tmp_path / "a.jpg")
    review = review_crashed_decodes(cat, markers_dir(cat.path))
    assert review.quarantined == [tmp_path / "a.jpg"] and review.suspects == set()
    assert _row(cat, a) == ("error", CRASH_ERROR, 2)
    assert cat.errors() == [(tmp_path / "a.jpg", CRASH_ERROR)]
    assert _row(cat, ids["b.jpg"]) == ("pending", None, 0)

    assert cat.retry_errors() == 1  # tried again, but one crash from the limit
    assert _row(cat, a) == ("pending", None, CRASH_LIMIT - 1)
    review = review_crashed_decodes(cat, markers_dir(cat.path))
    assert review.quarantined == [] and review.suspects == {a}  # decoded alone

    _dead_marker(cat, a, tmp_path / "a.jpg")  # it crashes again: set aside at once
    review = review_crashed_decodes(cat, markers_dir(cat.path))
    assert review.quarantined == [tmp_path / "a.jpg"] and review.suspects == set()
    assert _row(cat, a) == ("error", CRASH_ERROR, CRASH_LIMIT)
    cat.close()


def test_retry_keeps_other_errors_at_no_crash(tmp_path: Path) -> None:
    cat, ids = _catalog(tmp_path, ["a.jpg"])
    cat.record_ingest([IngestRecord(ids["a.jpg"], 10, 1, "k", error="truncated")])
    assert cat.retry_errors() == 1
    assert _row(cat, ids["a.jpg"]) == ("pending", None, 0)
    assert cat.crash_suspects() == set()
    cat.close()


def test_a_review_without_leftovers_writes_nothing(tmp_path: Path) -> None:
    cat, ids = _catalog(tmp_path, ["a.jpg"])
    cat._conn.execute("UPDATE images SET decode_crashes = 1")
    statements: list[str] = []
    cat._conn.set_trace_callback(statements.append)
    review = review_crashed_decodes(cat, markers_dir(cat.path))
    cat._conn.set_trace_callback(None)
    assert review.quarantined == [] and review.suspects == {ids["a.jpg"]}
    assert statements and not [s for s in statements if "SELECT" not in s]
    cat.close()


def test_success_and_a_changed_file_reset_the_count(tmp_path: Path) -> None:
    cat, ids = _catalog(tmp_path, ["a.jpg", "b.jpg"])
    for name, tag in (("a.jpg", "1"), ("b.jpg", "2")):
        _dead_marker(cat, ids[name], tmp_path / name, tag)
    assert review_crashed_decodes(cat, markers_dir(cat.path)).suspects == set(
        ids.values()
    )
    cat.record_ingest([IngestRecord(ids["a.jpg"], 10, 1, "k", 4, 3)])
    changed = FileStat(tmp_path / "b.jpg", 11, 2, cat.folders()[0].id)
    cat.apply_reconciliation(Reconciliation(changed=[(ids["b.jpg"], changed)]))
    assert _row(cat, ids["a.jpg"]) == ("ok", None, 0)
    assert _row(cat, ids["b.jpg"]) == ("pending", None, 0)
    cat.close()


def test_a_marker_whose_path_no_longer_matches_blames_nobody(tmp_path: Path) -> None:
    cat, ids = _catalog(tmp_path, ["a.jpg"])
    _dead_marker(cat, ids["a.jpg"], tmp_path / "other.jpg", "1")  # id reused since
    _dead_marker(cat, 999, tmp_path / "gone.jpg", "2")  # deleted since
    review = review_crashed_decodes(cat, markers_dir(cat.path))
    assert review.quarantined == [] and review.suspects == set()
    assert _row(cat, ids["a.jpg"]) == ("pending", None, 0)
    cat.close()


def test_a_file_that_crashed_once_is_decoded_alone(
    tmp_path: Path,
    tiny_artifact: ModelArtifact,
    make_photo: Callable[..., Path],
) -> None:
    names = [f"p{i:02d}.jpg" for i in range(12)]
    for i, name in enumerate(names):
        make_photo(tmp_path / name, seed=i)
    cat, ids = _catalog(tmp_path, names)
    _register(cat, tiny_artifact)
    suspect = "p05.jpg"
    _dead_marker(cat, ids[suspect], tmp_path / suspect)
    lock = threading.Lock()
    running: list[str] = []
    company: dict[str, int] = {}  # decodes running when each one started
    beside_suspect: list[str] = []

    def loader(path: Any, **kw: Any) -> LoadedImage:
        name = Path(path).name
        with lock:
            running.append(name)
            company[name] = len(running)
            if suspect in running and name != suspect:
                beside_suspect.append(name)
        try:
            threading.Event().wait(0.02)  # long enough for decodes to overlap
            return load_image(path, **kw)
        finally:
            with lock:
                running.remove(name)

    pipeline = IngestPipeline(
        cat,
        {tiny_artifact.model_id: CountingEncoder(tiny_artifact, Counter())},
        thumbnails_dir=None,
        options=IngestOptions(workers=3, batch_size=4),
        loader=loader,
    )
    summary = run_job(pipeline.run())
    assert summary.done == 12 and summary.errors == 0
    assert company[suspect] == 1 and beside_suspect == []  # it was decoded alone
    assert max(company.values()) > 1  # the others still decode in parallel
    assert _row(cat, ids[suspect]) == ("ok", None, 0)
    assert list(markers_dir(cat.path).iterdir()) == []  # idle markers are removed
    cat.close()


def test_every_run_of_a_pipeline_marks_its_decodes_and_leaves_no_file(
    tmp_path: Path,
    tiny_artifact: ModelArtifact,
    make_photo: Callable[..., Path],
) -> None:
    names = ["a.jpg", "b.jpg"]
    for i, name in enumerate(names):
        make_photo(tmp_path / name, seed=i)
    cat, _ = _catalog(tmp_path, names)
    _register(cat, tiny_artifact)
    marked: list[bool] = []

    def loader(path: Any, **kw: Any) -> LoadedImage:
        raw = os.fsencode(path)
        files = markers_dir(cat.path).glob("*.marker")
        marked.append(any(f.read_bytes().endswith(raw) for f in files))
        return load_image(path, **kw)

    pipeline = IngestPipeline(
        cat,
        {tiny_artifact.model_id: CountingEncoder(tiny_artifact, Counter())},
        thumbnails_dir=None,
        options=IngestOptions(workers=2, batch_size=1),
        loader=loader,
    )
    assert run_job(pipeline.run()).done == 2
    cat._conn.execute("DELETE FROM encodings")  # the same pipeline, run again
    assert run_job(pipeline.run()).done == 2
    assert marked == [True] * 4  # each run has markers of its own
    assert list(markers_dir(cat.path).iterdir()) == []
    cat.close()
