"""Symbolic links are never followed below a library root (issue 13, item 8).

digiKam's default: a link inside a watched folder is not followed, file or folder, so it
cannot lead the scan into ``/proc`` (and through ``/proc/self/root`` the whole file
system), into the app's own data folder, round a loop or out of the library. The app's
own folders are excluded by resolved path, whatever link they were named through.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from library_testkit import Counter, wait_until

from sscq_desktop.library.library import Library
from sscq_desktop.library.progress import run_job
from sscq_desktop.paths import AppPaths

pytestmark = pytest.mark.skipif(
    not hasattr(os, "symlink") or sys.platform == "win32", reason="POSIX links"
)


def _indexed(library: Library, root: Path) -> set[str]:
    return {
        k.path.relative_to(root).as_posix()
        for k in library.catalog.reader.known_files()
    }


def test_links_below_a_root_are_not_followed(
    library: Library, tmp_path: Path, make_photo: Callable[..., Path]
) -> None:
    root = tmp_path / "photos"
    make_photo(root / "real.jpg", seed=1)
    make_photo(root / "sub" / "deep.jpg", seed=2)
    outside = tmp_path / "outside"
    make_photo(outside / "private.jpg", seed=3)
    data_dir = library.paths.data_dir
    make_photo(data_dir / "looks_like_a_photo.jpg", seed=4)
    (root / "outside_link").symlink_to(outside, target_is_directory=True)
    (root / "data_link").symlink_to(data_dir, target_is_directory=True)
    (root / "sub" / "loop").symlink_to(root, target_is_directory=True)
    (root / "file_link.jpg").symlink_to(outside / "private.jpg")
    (root / "dangling.jpg").symlink_to(tmp_path / "missing.jpg")
    library.add_folder(root)

    summary = run_job(library.scan())

    assert _indexed(library, root) == {"real.jpg", "sub/deep.jpg"}
    assert summary.files == 2 and summary.unreadable == ()


@pytest.mark.skipif(not Path("/proc/self/root").exists(), reason="needs /proc")
@pytest.mark.timeout(120)
def test_a_link_to_proc_does_not_walk_the_file_system(
    library: Library, tmp_path: Path, make_photo: Callable[..., Path]
) -> None:
    root = tmp_path / "photos"
    make_photo(root / "real.jpg", seed=1)
    (root / "proc").symlink_to("/proc", target_is_directory=True)
    library.add_folder(root)

    summary = run_job(library.scan())

    assert summary.files == 1 and _indexed(library, root) == {"real.jpg"}


def test_app_folders_are_excluded_by_resolved_path(
    counter: Counter, tmp_path: Path, make_photo: Callable[..., Path]
) -> None:
    root = tmp_path / "photos"
    make_photo(root / "real.jpg", seed=1)
    (root / "app").mkdir()
    # The app's folders are named through a link (as platformdirs may give them, e.g.
    # a linked ~/.local) but lie inside the library root.
    link = tmp_path / "linked_local"
    link.symlink_to(root / "app", target_is_directory=True)
    paths = AppPaths(link / "data", link / "cache", link / "config", link / "logs")
    with Library(paths, encoder_factory=counter.factory) as library:
        make_photo(paths.data_dir / "not_mine.jpg", seed=2)
        make_photo(paths.cache_dir / "thumb.jpg", seed=3)
        library.add_folder(root)

        run_job(library.scan())

        assert _indexed(library, root) == {"real.jpg"}


def test_the_watcher_does_not_follow_a_new_link(
    library: Library,
    watching: Callable[..., None],
    tmp_path: Path,
    make_photo: Callable[..., Path],
) -> None:
    root = tmp_path / "photos"
    make_photo(root / "real.jpg", seed=1)
    outside = tmp_path / "outside"
    make_photo(outside / "a" / "private.jpg", seed=2)
    library.add_folder(root)
    watching(debounce_s=0.2, settle_s=0.3)
    wait_until(lambda: library.stats().ok == 1)

    (root / "link").symlink_to(outside, target_is_directory=True)
    (root / "one.jpg").symlink_to(outside / "a" / "private.jpg")
    make_photo(root / "later.jpg", seed=3)  # a batch after the links
    wait_until(lambda: library.stats().ok == 2)
    make_photo(outside / "a" / "more.jpg", seed=4)
    make_photo(root / "last.jpg", seed=5)
    wait_until(lambda: library.stats().ok == 3)

    assert _indexed(library, root) == {"real.jpg", "later.jpg", "last.jpg"}
