"""Storms of file events under a real watcher end with the catalog equal to the disk.

Issue 13, item 2: past `COLLAPSE_THRESHOLD` dirty paths the old watcher climbed to the
parent of a watched root, outside the library, and skipped the whole batch. Here 2,000+
photos are copied into a watched root, then a folder of 2,000 is renamed: every new photo
is indexed, no stale path survives, and the rename re-encodes nothing.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from library_testkit import Counter, make_photos, wait_until

from sscq_desktop.library.folders.watcher import COLLAPSE_THRESHOLD, FolderWatcher
from sscq_desktop.library.library import Library

STORM = COLLAPSE_THRESHOLD + 100


def catalog_matches_disk(library: Library, root: Path) -> bool:
    """Every image on disk is in the catalog and encoded; nothing else is."""
    on_disk = {Path(d) / f for d, _, files in os.walk(root) for f in files}
    known = {k.path for k in library.catalog.reader.known_files()}
    stats = library.stats()
    encoded = stats.encoded.get(library.active_model_id or "", 0)
    return known == on_disk and stats.ok == len(on_disk) == encoded


def _ids_by_name(library: Library, folder: Path) -> dict[str, int]:
    found = {p.name: library.photo_by_path(p) for p in folder.iterdir()}
    return {name: photo.id for name, photo in found.items() if photo is not None}


def test_copying_a_storm_of_photos_into_a_watched_root_indexes_all_of_them(
    library: Library,
    watching: Callable[..., None],
    tmp_path: Path,
) -> None:
    staging = tmp_path / "camera"
    make_photos(staging, STORM)
    root = tmp_path / "photos"
    root.mkdir()
    library.add_folder(root)
    watching(debounce_s=0.3, settle_s=0.3)

    for path in sorted(staging.iterdir()):  # straight into the root
        shutil.copy2(path, root / path.name)

    wait_until(lambda: catalog_matches_disk(library, root), timeout=240, interval=0.5)
    assert library.stats().images == STORM


def test_renaming_a_folder_of_2000_photos_keeps_their_codes(
    library: Library,
    counter: Counter,
    watching: Callable[..., None],
    tmp_path: Path,
) -> None:
    root = tmp_path / "photos"
    make_photos(root / "2024 trip", STORM)
    library.add_folder(root)
    watching(debounce_s=0.3, settle_s=0.3)
    wait_until(lambda: catalog_matches_disk(library, root), timeout=240, interval=0.5)
    ids = _ids_by_name(library, root / "2024 trip")
    encoded = counter.images

    (root / "2024 trip").rename(root / "2024 Italy")

    wait_until(lambda: catalog_matches_disk(library, root), timeout=240, interval=0.5)
    assert counter.images == encoded  # a rename re-encodes nothing
    assert _ids_by_name(library, root / "2024 Italy") == ids


def test_a_storm_is_coalesced_below_the_watched_roots(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    (root / "a").mkdir(parents=True)
    watcher = FolderWatcher(debounce_s=0.05)
    watcher.set_folders([root])
    try:
        storm = [root / "a" / f"{i}.jpg" for i in range(STORM)]
        watcher.mark_dirty([root, *storm, root.parent, tmp_path / "elsewhere.jpg"])
        assert watcher.next_batch(timeout=5) == {root}  # rescan the root, not skip it

        many_folders = [root / f"f{i}" / "x.jpg" for i in range(STORM)]
        watcher.mark_dirty(many_folders)
        assert watcher.next_batch(timeout=5) == {root}
    finally:
        watcher.stop()


def test_a_lost_inotify_queue_rescans_every_watched_root(tmp_path: Path) -> None:
    from watchdog.observers import inotify_c

    # watchdog tells nobody but its log when the kernel drops events; keep that true.
    assert "Inotify queue overflowed" in Path(inotify_c.__file__).read_text()
    roots = [tmp_path / "a", tmp_path / "b"]
    for root in roots:
        root.mkdir()
    watcher = FolderWatcher(debounce_s=0.05)
    watcher.set_folders(roots)
    try:
        logging.getLogger(inotify_c.__name__).warning(
            "Inotify queue overflowed; filesystem events were lost"
        )
        assert watcher.next_batch(timeout=5) == set(roots)
    finally:
        watcher.stop()
