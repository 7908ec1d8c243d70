from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from library_testkit import wait_until

from sscq_desktop.library.folders import watcher as watcher_module
from sscq_desktop.library.folders.watcher import FolderWatcher, _collapse
from sscq_desktop.library.library import Library
from sscq_desktop.library.progress import run_job


@pytest.mark.parametrize("force_polling", [False, True], ids=["native", "polling"])
def test_watcher_sees_new_moved_and_deleted_files(
    library: Library,
    watching: Callable[..., None],
    tmp_path: Path,
    make_photo: Callable[..., Path],
    force_polling: bool,
) -> None:
    root = tmp_path / "photos"
    make_photo(root / "first.jpg", seed=1)
    library.add_folder(root)
    watching(
        debounce_s=0.2,
        settle_s=0.3,
        force_polling=force_polling,
        polling_interval_s=0.2,
    )
    wait_until(
        lambda: library.stats().encoded.get(library.active_model_id or "", 0) == 1
    )

    make_photo(root / "sub" / "new.jpg", seed=2)
    wait_until(
        lambda: (
            (p := library.photo_by_path(root / "sub" / "new.jpg")) is not None
            and p.status == "ok"
        )
    )
    new_id = library.photo_by_path(root / "sub" / "new.jpg").id  # type: ignore[union-attr]

    (root / "sub" / "new.jpg").rename(root / "renamed.jpg")
    wait_until(lambda: library.photo_by_path(root / "renamed.jpg") is not None)
    assert library.photo_by_path(root / "renamed.jpg").id == new_id  # type: ignore[union-attr]

    (root / "first.jpg").unlink()
    wait_until(lambda: library.photo_by_path(root / "first.jpg") is None)
    assert library.stats().images == 1


def test_a_file_still_being_written_is_read_once_complete(
    library: Library,
    watching: Callable[..., None],
    tmp_path: Path,
    make_photo: Callable[..., Path],
) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    source = make_photo(tmp_path / "source.jpg", seed=5, size=(400, 300))
    data = source.read_bytes()
    library.add_folder(root)
    watching(debounce_s=0.1, settle_s=1.0)
    target = root / "copying.jpg"
    with target.open("wb") as handle:
        handle.write(data[: len(data) // 2])
        handle.flush()
        handle.write(data[len(data) // 2 :])
    wait_until(
        lambda: (
            (p := library.photo_by_path(target)) is not None and p.status != "pending"
        )
    )
    photo = library.photo_by_path(target)
    assert photo is not None and photo.status == "ok", photo


def test_debounce_coalesces_a_burst_into_one_batch(tmp_path: Path) -> None:
    watcher = FolderWatcher(debounce_s=0.2)
    paths = [tmp_path / "burst" / f"{i}.jpg" for i in range(10_000)]
    for chunk in range(0, len(paths), 1000):
        watcher.mark_dirty(paths[chunk : chunk + 1000])
    batch = watcher.next_batch(timeout=5)
    assert batch == {tmp_path / "burst"}  # one batch, collapsed to the folder
    assert watcher.next_batch(timeout=0.3) == set()


def test_collapse_drops_paths_under_another() -> None:
    assert _collapse({Path("/a"), Path("/a/b.jpg"), Path("/c.jpg")}) == {
        Path("/a"),
        Path("/c.jpg"),
    }


def test_native_failure_falls_back_to_polling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    watcher = FolderWatcher(debounce_s=0.1, polling_interval_s=0.1)
    watcher.start()
    try:
        assert watcher._native is not None

        def refuse(*args: object, **kwargs: object) -> object:
            raise OSError(28, "inotify watch limit reached")

        monkeypatch.setattr(watcher._native, "schedule", refuse)
        watcher.set_folders([tmp_path])
        assert watcher.polled_folders == [tmp_path]
        (tmp_path / "x.jpg").write_bytes(b"data")
        deadline = time.monotonic() + 10
        batch: set[Path] = set()
        while not batch and time.monotonic() < deadline:
            batch = watcher.next_batch(timeout=0.5)
        target = tmp_path / "x.jpg"
        assert any(target == p or target.is_relative_to(p) for p in batch)
    finally:
        watcher.stop()


def test_a_folder_on_a_network_file_system_is_polled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    share, local = tmp_path / "share", tmp_path / "local"
    share.mkdir()
    local.mkdir()
    asked: list[Path] = []

    def on_share(path: Path) -> bool:
        asked.append(path)
        return path == share

    monkeypatch.setattr(watcher_module, "on_network_fs", on_share)
    watcher = FolderWatcher(debounce_s=0.1, polling_interval_s=0.1)
    try:
        watcher.set_folders([share, local])
        assert asked == [share, local]
        assert watcher.polled_folders == [share]
        assert set(watcher.watched_folders) == {share, local}
    finally:
        watcher.stop()


def test_watch_requires_no_model_for_reconciling(
    open_library: Callable[..., Library], tmp_path: Path
) -> None:
    lib = open_library()
    lib.add_folder(tmp_path)
    summary = run_job(lib.scan())
    assert summary.files == 0
