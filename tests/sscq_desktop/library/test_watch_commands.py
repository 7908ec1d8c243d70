"""Writes made while `watch` runs reach its loop as commands; nothing restarts it.

Issue #14, item 2: adding a folder while thousands of photos are watched used to stop
the watcher and rescan every folder. Now the watch loop runs the write between two
batches and scans the new folder alone. Here a real watcher over a real catalog; the
scanner's walks and the watcher's starts are counted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from library_testkit import Counter, make_photos, wait_until

from sscq_desktop.library.catalog.reconciliation import FileStat
from sscq_desktop.library.folders import scanner as scanner_module
from sscq_desktop.library.folders.watcher import FolderWatcher
from sscq_desktop.library.ingest import indexer as indexer_module
from sscq_desktop.library.library import Library
from sscq_desktop.library.progress import run_job
from sscq_desktop.library.records import FolderId, FolderRecord
from sscq_desktop.model.artifact import ModelArtifact

WATCHED = 400
"""Photos watched when a folder is added (issue #14 says 10,000: see the benchmark)."""


class Spy:
    """Counts the scanner's walks (by root) and the watcher's starts and stops."""

    def __init__(self) -> None:
        self.walked: list[Path] = []
        self.watcher_starts = 0
        self.watcher_stops = 0
        self.writer_threads: set[int] = set()


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Iterator[Spy]:
    """Installed after the watch is up: counts from then on."""
    found = Spy()
    walk = scanner_module.walk_images

    def counting_walk(
        root: Path, folder_id: FolderId, **kw: object
    ) -> Iterator[FileStat]:
        found.walked.append(root)
        return walk(root, folder_id, **kw)  # type: ignore[arg-type]

    start, stop = FolderWatcher.start, FolderWatcher.stop

    def counting_start(self: FolderWatcher) -> None:
        found.watcher_starts += 1
        start(self)

    def counting_stop(self: FolderWatcher) -> None:
        found.watcher_stops += 1
        stop(self)

    monkeypatch.setattr(scanner_module, "walk_images", counting_walk)
    monkeypatch.setattr(indexer_module, "walk_images", counting_walk)
    monkeypatch.setattr(FolderWatcher, "start", counting_start)
    monkeypatch.setattr(FolderWatcher, "stop", counting_stop)
    yield found


def encoded(library: Library) -> int:
    return library.stats().encoded.get(library.active_model_id or "", 0)


def is_indexed(library: Library, paths: list[Path]) -> bool:
    photos = [library.photo_by_path(p) for p in paths]
    return all(p is not None and p.status == "ok" for p in photos)


@pytest.fixture
def watched(
    library: Library, watching: Callable[..., None], tmp_path: Path
) -> list[Path]:
    """`WATCHED` photos under a watched root, all indexed."""
    photos = make_photos(tmp_path / "watched", WATCHED)
    library.add_folder(tmp_path / "watched")
    watching(debounce_s=0.2, settle_s=0.2)
    wait_until(lambda: encoded(library) == WATCHED, timeout=240, interval=0.2)
    return photos


def test_adding_a_folder_while_watching_scans_only_that_folder(
    library: Library, watched: list[Path], counter: Counter, spy: Spy, tmp_path: Path
) -> None:
    new = make_photos(tmp_path / "new", 12, first_seed=10_000)
    images_before = counter.images
    caller = threading.get_ident()
    add = library.catalog.add_folder
    writers: list[int] = []

    def spied_add(path: Path) -> FolderRecord:
        writers.append(threading.get_ident())
        return add(path)

    library.catalog.add_folder = spied_add  # type: ignore[method-assign]

    record = library.add_folder(tmp_path / "new")

    assert record.path == (tmp_path / "new").resolve()
    assert writers and writers[0] != caller  # written by the watch loop's thread
    wait_until(lambda: is_indexed(library, new), timeout=60)
    assert encoded(library) == WATCHED + len(new)
    assert counter.images - images_before == len(new)  # nothing else re-encoded
    assert spy.walked, "the new folder was not walked"
    watched_root = (tmp_path / "watched").resolve()
    assert not [p for p in spy.walked if p.is_relative_to(watched_root)]
    assert all(p.is_relative_to(record.path) for p in spy.walked)
    assert spy.watcher_starts == spy.watcher_stops == 0  # never restarted
    hits = library.similar_to_file(new[3], k=WATCHED + len(new))
    assert set(new) - {new[3]} <= {h.path for h in hits}  # searchable

    make_photos(tmp_path / "new" / "later", 1, first_seed=20_000)  # now watched
    wait_until(lambda: encoded(library) == WATCHED + len(new) + 1, timeout=60)


def test_removing_and_retrying_while_watching_never_rescans(
    library: Library, watched: list[Path], spy: Spy, tmp_path: Path
) -> None:
    other = make_photos(tmp_path / "other", 5, first_seed=30_000)
    broken = tmp_path / "other" / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not a jpeg")
    library.add_folder(tmp_path / "other")
    wait_until(lambda: is_indexed(library, other), timeout=60)
    wait_until(lambda: library.count_errors() == 1, timeout=60)
    walked = len(spy.walked)

    assert library.retry_failed() == 1
    photo = library.photo_by_path(broken)
    assert photo is not None and photo.status == "pending"
    wait_until(lambda: library.count_errors() == 1, timeout=60)  # tried again

    folder = next(f for f in library.folders() if f.path.name == "other")
    library.remove_folder(folder.id)
    assert library.photo_by_path(other[0]) is None
    assert len(library.folders()) == 1
    assert encoded(library) == WATCHED
    assert len(spy.walked) == walked  # neither walked a folder
    assert spy.watcher_starts == spy.watcher_stops == 0


def test_switching_models_while_watching_re_encodes_on_the_watch_thread(
    library: Library,
    watched: list[Path],
    spy: Spy,
    tiny_artifact_factory: Callable[..., ModelArtifact],
) -> None:
    new = tiny_artifact_factory(model_id="tiny-new", seed=3, filename="new.onnx")
    library.import_model(new.path)
    ingest = indexer_module.Indexer.ingest
    threads: list[int] = []

    def spied_ingest(self: indexer_module.Indexer, **kw: object) -> object:
        threads.append(threading.get_ident())
        return ingest(self, **kw)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(indexer_module.Indexer, "ingest", spied_ingest)
        assert library.switch_model("tiny-new") is False
        summary = run_job(library.ingest())  # handed to the watch loop
        wait_until(lambda: library.active_model_id == "tiny-new", timeout=120)

    assert summary.done in (0, WATCHED)  # the loop may have re-encoded it first
    assert threads and threading.get_ident() not in threads
    assert encoded(library) == WATCHED
    assert spy.walked == []
    assert spy.watcher_starts == spy.watcher_stops == 0
