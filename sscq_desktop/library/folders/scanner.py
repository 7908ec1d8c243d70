"""Walk library folders and reconcile what is on disk with what the catalog knows.

`walk_images` lists image files under a root: it skips hidden and system folders, the
app's own folders and symbolic links (never followed), visits each real directory once,
and reports the entries it cannot read so that their photos are not taken for deleted;
`root_problem` says when a whole root is offline (unplugged drive, unmounted share).
`reconcile` compares a disk listing with catalog rows and says what is new, changed,
moved (same content key at a new path: keeps its codes) or gone, as the records of
`sscq_desktop.library.catalog.reconciliation`. It reads only the few files whose size
matches a vanished photo. No catalog writes.
"""

from __future__ import annotations

import logging
import os
import stat
import sys
import threading
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sscq_desktop.library.catalog.reconciliation import (
    FileStat,
    KnownFile,
    Reconciliation,
)
from sscq_desktop.library.images.image_loader import is_supported_name
from sscq_desktop.library.path_text import display_path
from sscq_desktop.library.records import FolderId

logger = logging.getLogger(__name__)

SYSTEM_FOLDER_NAMES = frozenset(
    {
        "$recycle.bin",
        "system volume information",
        "lost+found",
        "@eadir",  # Synology thumbnails
        "#recycle",
        "__macosx",
        "node_modules",
    }
)
"""Folder names (lower case) that never hold the user's photos."""

_WINDOWS_HIDDEN = 0x2 | 0x4  # FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_SYSTEM

_SPECIAL_FOLDERS = (
    frozenset({"/proc", "/sys", "/dev"})
    if sys.platform.startswith("linux")
    else frozenset()
)
"""Kernel file systems: never photos, and walking them never ends (Linux)."""


def walk_images(
    root: Path,
    folder_id: FolderId,
    *,
    exclude: Collection[Path] = (),
    cancel: threading.Event | None = None,
    unreadable: list[Path] | None = None,
) -> Iterator[FileStat]:
    """List the image files under `root`, depth first.

    Symbolic links below `root` are never followed, files or folders (digiKam's
    default): a link cannot lead the walk out of the library, into ``/proc``, into the
    app's own folders or round a loop. `root` itself may be a link (a root the user
    picked). Folders are also entered once per (device, inode), so bind mounts cannot
    loop either, and `exclude` is compared on resolved paths.

    Args:
        root: A folder (or a single file, listed if it is an image).
        folder_id: Library root the files belong to, copied into each `FileStat`.
        exclude: Folders never entered (the app's own data and cache folders).
        cancel: Stops the walk early when set.
        unreadable: Receives every folder or entry that exists but could not be read
            (permission denied, I/O error): the caller must not take the photos it
            knows there for deleted.

    Yields:
        One `FileStat` per readable image file.
    """
    skipped = unreadable if unreadable is not None else []
    excluded = {_real(p) for p in exclude} | _SPECIAL_FOLDERS
    real_root = _real(root)
    if any(_within(real_root, e) for e in excluded):
        return
    try:
        st = root.stat()
    except (FileNotFoundError, NotADirectoryError):
        return  # gone: nothing to list, nothing to protect
    except OSError as exc:
        logger.warning("cannot read %s: %s", root, exc)
        skipped.append(root)
        return
    if not stat.S_ISDIR(st.st_mode):
        if stat.S_ISREG(st.st_mode) and is_supported_name(root.name):
            yield FileStat(root, st.st_size, st.st_mtime_ns, folder_id)
        return
    visited: set[tuple[int, int]] = {(st.st_dev, st.st_ino)}
    stack = [(root, real_root)]
    while stack:
        if cancel is not None and cancel.is_set():
            return
        folder, real = stack.pop()
        try:
            with os.scandir(folder) as entries:
                children = list(entries)
        except (FileNotFoundError, NotADirectoryError):
            continue  # vanished while walking: its photos are gone
        except OSError as exc:  # permission denied, I/O error: keep what we know
            logger.warning("cannot list %s: %s", folder, exc)
            skipped.append(folder)
            continue
        subfolders: list[tuple[Path, str]] = []
        for entry in children:
            try:
                found = _classify(entry, real, excluded, visited)
            except FileNotFoundError:
                continue
            except OSError as exc:
                logger.warning("cannot read %s: %s", entry.path, exc)
                skipped.append(Path(entry.path))
                continue
            if found is None:
                continue
            if isinstance(found, str):
                subfolders.append((Path(entry.path), found))
            else:
                yield FileStat(
                    Path(entry.path), found.st_size, found.st_mtime_ns, folder_id
                )
        stack.extend(sorted(subfolders, reverse=True))


@dataclass
class ChangedWalk:
    """What `walk_changed_paths` found.

    Attributes:
        disk: Image files found on disk under the paths.
        scoped: The paths the catalog's view is compared against.
        protected: Paths that exist but cannot be read: their photos are kept.
        online: Each root looked at, and whether it was online.
    """

    disk: list[FileStat] = field(default_factory=list)
    scoped: list[Path] = field(default_factory=list)
    protected: list[Path] = field(default_factory=list)
    online: dict[Path, bool] = field(default_factory=dict)


def walk_changed_paths(
    paths: Iterable[Path],
    roots: Collection[tuple[Path, FolderId]],
    *,
    is_online: Callable[[Path], bool],
    exclude: Collection[Path] = (),
) -> ChangedWalk:
    """Walk only these paths (files or folders, present or gone) below library roots.

    Paths of an offline root (`is_online` is asked once per root) and hidden or system
    folders are skipped; a path that exists but cannot be read is protected; symbolic
    links, and anything below one, are not followed.
    """
    out = ChangedWalk()
    for path in paths:
        root = next(((r, i) for r, i in roots if path.is_relative_to(r)), None)
        if root is None:
            continue
        root_path, root_id = root
        if root_path not in out.online:
            out.online[root_path] = is_online(root_path)
        if not out.online[root_path]:
            continue
        parts = path.relative_to(root_path).parts
        if any(p.startswith(".") or p.lower() in SYSTEM_FOLDER_NAMES for p in parts):
            continue
        out.scoped.append(path)
        try:
            st = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            continue  # gone: what the catalog knows there is deleted (or moved)
        except OSError as exc:  # permission denied below the root: keep it all
            logger.warning("cannot read %s: %s", display_path(path), exc)
            out.protected.append(path)
            continue
        if stat.S_ISLNK(st.st_mode) or crosses_link(root_path, path):
            continue  # links are not followed: nothing on disk here
        out.disk.extend(
            walk_images(path, root_id, exclude=exclude, unreadable=out.protected)
        )
    return out


def root_problem(root: Path, *, expect_photos: bool) -> str | None:
    """Why a library root cannot be read now (it is offline), or None if it can.

    A root is offline when it is gone, is no longer a folder, cannot be listed, or is
    empty while the catalog holds photos from it: an unplugged drive or an unmounted
    share leaves an empty mount point, which must not read as "every photo deleted".

    Args:
        root: The library root folder.
        expect_photos: Whether the catalog holds photos under it.

    Returns:
        A short reason for people, or None when the root is online.
    """
    try:
        st = root.stat()
    except (FileNotFoundError, NotADirectoryError):
        return "not found (unplugged, unmounted, moved or deleted)"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if not stat.S_ISDIR(st.st_mode):
        return "is no longer a folder"
    try:
        with os.scandir(root) as entries:
            empty = next(entries, None) is None
    except OSError as exc:
        return f"cannot be listed ({exc.strerror or exc})"
    if empty and expect_photos:
        return "is empty (an unmounted drive or share?)"
    return None


def reconcile(
    disk: Iterable[FileStat],
    known: Iterable[KnownFile],
    *,
    key_of: Callable[[Path], str | None],
    settle_ns: int = 0,
    now_ns: int | None = None,
    protected: Collection[Path] = (),
) -> Reconciliation:
    """Compare a disk listing with the catalog's rows for the same area.

    Args:
        disk: Files found on disk.
        known: Catalog rows for the same folders or paths.
        key_of: Content key of a file (None if unreadable); called only for new files
            whose size equals that of a vanished photo.
        settle_ns: New or changed files modified less than this long ago are deferred
            (a file still being written is picked up once it is complete).
        now_ns: Current time in ns (tests); defaults to the wall clock.
        protected: Paths that could not be read (offline roots, unreadable folders):
            known photos at or below them are left as they are, never deleted.

    Returns:
        The changes to apply.
    """
    from time import time_ns

    now = time_ns() if now_ns is None else now_ns
    result = Reconciliation()
    by_path = {k.path: k for k in known if not _under_any(k.path, protected)}
    fresh: list[FileStat] = []
    for entry in disk:
        old = by_path.pop(entry.path, None)
        if (
            old is not None
            and old.size == entry.size
            and old.mtime_ns == entry.mtime_ns
        ):
            continue
        if settle_ns and now - entry.mtime_ns < settle_ns:
            result.deferred.append(entry.path)
            if old is not None:
                continue  # still there; not deleted
            continue
        if old is not None:
            result.changed.append((old.id, entry))
        else:
            fresh.append(entry)
    # Whatever is left in by_path vanished from disk: a move source or a deletion.
    deferred = set(result.deferred)
    # size -> content key -> vanished photos: a renamed folder of 10,000 photos is
    # matched in linear time, reading only files whose size fits a vanished one.
    missing: dict[int, dict[str, list[KnownFile]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for gone in by_path.values():
        if gone.path in deferred:
            continue
        if gone.content_key is not None:
            missing[gone.size][gone.content_key].append(gone)
        else:
            result.deleted.append(gone)
    for entry in fresh:
        by_key = missing.get(entry.size)
        key = key_of(entry.path) if by_key else None
        candidates = by_key.get(key) if by_key and key else None
        if candidates:
            result.moved.append((candidates.pop(0).id, entry))
        else:
            result.new.append((entry, key))
    for by_key in missing.values():
        for leftovers in by_key.values():
            result.deleted.extend(leftovers)
    return result


def crosses_link(root: Path, path: Path) -> bool:
    """Whether a folder between `root` (excluded) and `path` is a symbolic link."""
    return any(
        os.path.islink(p) for p in path.parents if p != root and p.is_relative_to(root)
    )


def _classify(
    entry: os.DirEntry[str],
    parent_real: str,
    excluded: set[str],
    visited: set[tuple[int, int]],
) -> str | os.stat_result | None:
    """A subfolder to enter (its resolved path), an image file (its stat) or None."""
    name = entry.name
    if name.startswith(".") or name.lower() in SYSTEM_FOLDER_NAMES:
        return None
    if entry.is_symlink():  # never followed: see walk_images
        return None
    st = entry.stat(follow_symlinks=False)
    if getattr(st, "st_file_attributes", 0) & _WINDOWS_HIDDEN:
        return None
    if stat.S_ISDIR(st.st_mode):
        real = os.path.normcase(os.path.join(parent_real, name))
        if real in excluded:
            return None
        ident = (st.st_dev, st.st_ino)
        if ident in visited:  # a bind mount of a folder already walked
            return None
        visited.add(ident)
        return real
    if stat.S_ISREG(st.st_mode) and is_supported_name(name):
        return st
    return None


def _real(path: str | os.PathLike[str]) -> str:
    """Resolved, case-normalised text of a path, for comparing folders."""
    return os.path.normcase(os.path.realpath(path))


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _under_any(path: Path, folders: Collection[Path]) -> bool:
    return any(path == f or path.is_relative_to(f) for f in folders)
