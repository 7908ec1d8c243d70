"""Walk library folders and reconcile what is on disk with what the catalog knows.

`walk_images` lists image files under a root: it skips hidden and system folders, the
app's own folders, visits each real directory once (symlink loops end there) and steps
over entries it cannot read. `reconcile` compares a disk listing with catalog rows and
says what is new, changed, moved (same content key at a new path: keeps its codes) or
gone. It reads only the few files whose size matches a vanished photo. No catalog writes.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sscq_desktop.library.image_loader import is_supported_name
from sscq_desktop.library.records import FolderId, PhotoId

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


@dataclass(frozen=True)
class FileStat:
    """An image file seen on disk.

    Attributes:
        path: Absolute path (under a library root; symlinks are not resolved).
        size: Size in bytes.
        mtime_ns: Modification time in nanoseconds.
        folder_id: The library root it was found under.
    """

    path: Path
    size: int
    mtime_ns: int
    folder_id: FolderId


@dataclass(frozen=True)
class KnownFile:
    """What the catalog holds about a file, as far as reconciliation needs."""

    id: PhotoId
    path: Path
    size: int
    mtime_ns: int
    content_key: str | None


@dataclass
class Reconciliation:
    """What to change in the catalog so that it matches the disk.

    Attributes:
        new: Files to add, each with its content key when it was computed.
        changed: Known photos whose size or mtime changed: to re-decode and re-encode.
        moved: Known photos found at a new path with the same content key: keep codes.
        deleted: Known photos no longer on disk.
        deferred: Files modified too recently to be complete; look again later.
    """

    new: list[tuple[FileStat, str | None]] = field(default_factory=list)
    changed: list[tuple[PhotoId, FileStat]] = field(default_factory=list)
    moved: list[tuple[PhotoId, FileStat]] = field(default_factory=list)
    deleted: list[KnownFile] = field(default_factory=list)
    deferred: list[Path] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """True when the catalog already matches the disk."""
        return not (self.new or self.changed or self.moved or self.deleted)


def walk_images(
    root: Path,
    folder_id: FolderId,
    *,
    exclude: Collection[Path] = (),
    cancel: threading.Event | None = None,
) -> Iterator[FileStat]:
    """List the image files under `root`, depth first.

    Args:
        root: A folder (or a single file, listed if it is an image).
        folder_id: Library root the files belong to, copied into each `FileStat`.
        exclude: Folders never entered (the app's own data and cache folders).
        cancel: Stops the walk early when set.

    Yields:
        One `FileStat` per readable image file.
    """
    excluded = {os.path.normcase(os.path.abspath(p)) for p in exclude}
    try:
        st = root.stat()
    except OSError as exc:
        logger.warning("cannot read %s: %s", root, exc)
        return
    if not stat.S_ISDIR(st.st_mode):
        if stat.S_ISREG(st.st_mode) and is_supported_name(root.name):
            yield FileStat(root, st.st_size, st.st_mtime_ns, folder_id)
        return
    visited: set[tuple[int, int]] = {(st.st_dev, st.st_ino)}
    stack = [root]
    while stack:
        if cancel is not None and cancel.is_set():
            return
        folder = stack.pop()
        try:
            with os.scandir(folder) as entries:
                children = list(entries)
        except OSError as exc:  # permission denied, vanished, I/O error
            logger.warning("cannot list %s: %s", folder, exc)
            continue
        subfolders: list[Path] = []
        for entry in children:
            try:
                found = _classify(entry, excluded, visited)
            except OSError as exc:
                logger.debug("skipping %s: %s", entry.path, exc)
                continue
            if found is None:
                continue
            if isinstance(found, Path):
                subfolders.append(found)
            else:
                yield FileStat(
                    Path(entry.path), found.st_size, found.st_mtime_ns, folder_id
                )
        stack.extend(sorted(subfolders, reverse=True))


def reconcile(
    disk: Iterable[FileStat],
    known: Iterable[KnownFile],
    *,
    key_of: Callable[[Path], str | None],
    settle_ns: int = 0,
    now_ns: int | None = None,
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

    Returns:
        The changes to apply.
    """
    from time import time_ns

    now = time_ns() if now_ns is None else now_ns
    result = Reconciliation()
    by_path = {k.path: k for k in known}
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
    missing_by_size: dict[int, list[KnownFile]] = defaultdict(list)
    for gone in by_path.values():
        if gone.path in deferred:
            continue
        if gone.content_key is not None:
            missing_by_size[gone.size].append(gone)
        else:
            result.deleted.append(gone)
    for entry in fresh:
        candidates = missing_by_size.get(entry.size)
        key = key_of(entry.path) if candidates else None
        match = next(
            (c for c in candidates or () if key and c.content_key == key), None
        )
        if match is not None and candidates is not None:
            candidates.remove(match)
            result.moved.append((match.id, entry))
        else:
            result.new.append((entry, key))
    for leftovers in missing_by_size.values():
        result.deleted.extend(leftovers)
    return result


def _classify(
    entry: os.DirEntry[str], excluded: set[str], visited: set[tuple[int, int]]
) -> Path | os.stat_result | None:
    """A subfolder to enter (Path), an image file (its stat) or None to skip."""
    name = entry.name
    if name.startswith(".") or name.lower() in SYSTEM_FOLDER_NAMES:
        return None
    st = entry.stat()  # follows symlinks; raises OSError for dangling links
    if getattr(st, "st_file_attributes", 0) & _WINDOWS_HIDDEN:
        return None
    if stat.S_ISDIR(st.st_mode):
        if os.path.normcase(os.path.abspath(entry.path)) in excluded:
            return None
        ident = (st.st_dev, st.st_ino)
        if ident in visited:  # symlink loop or second link to a folder already walked
            return None
        visited.add(ident)
        return Path(entry.path)
    if stat.S_ISREG(st.st_mode) and is_supported_name(name):
        return st
    return None
