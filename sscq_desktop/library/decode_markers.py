"""`DecodeMarkers`: per-thread "decoding this file now" files that outlive a process crash.

A decoder thread writes the image it is about to decode into a tiny file of its own and
empties it when the decode ends (written, not fsync'd: they must survive a crashed process,
not a power cut). Markers still full in a dead process's file name the files whose
decoding killed it (`collect_leftovers`). It never touches the catalog (`crash_quarantine`
does). Owners hold an exclusive lock on their files, so a live process's are never taken.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import logging
import os
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sscq_desktop.library.records import PhotoId

logger = logging.getLogger(__name__)

SUFFIX = ".marker"
NEW_SUFFIX = ".new"
"""A file being created: renamed to `SUFFIX` once locked, so every unlocked marker is dead."""
STALE_NEW_S = 60.0
"""An unlocked `NEW_SUFFIX` file older than this was left by a process that died creating it."""

_EXIT_WAIT_S = 1.0
"""How long the exit cleanup waits for a thread to finish writing its marker."""

_DELETE_WHILE_OPEN: bool = sys.platform != "win32"
_OPEN_FLAGS = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def markers_dir(catalog_path: Path) -> Path:
    """The marker folder of a catalog: ``<catalog>-decoding`` beside it (as SQLite's ``-wal``).

    Args:
        catalog_path: The catalog file (``catalog.sqlite3``).

    Returns:
        The folder (not created).
    """
    return catalog_path.with_name(catalog_path.name + "-decoding")


@dataclass(frozen=True)
class LeftoverDecode:
    """A decode that was under way when its process died.

    Attributes:
        photo_id: The image being decoded.
        path: Its path at the time.
    """

    photo_id: PhotoId
    path: Path


@dataclass
class _Slot:
    """One thread's marker file: an open, locked descriptor.

    ``busy`` and ``closed`` change under `DecodeMarkers`' lock; ``io`` serialises the
    owner's writes with the exit-time emptying only (other threads never wait on it).
    """

    fd: int
    path: Path
    busy: bool = False
    closed: bool = False
    io: threading.Lock = field(default_factory=threading.Lock)


class DecodeMarkers:
    """Per-thread marker files in one folder; `begin` and `end` run on the decoding thread.

    Each thread gets its file on its first `begin` (a few system calls per image after
    that: no fsync, no SQLite, no waiting on other threads). A normal interpreter exit
    empties every file, so only a process that died abruptly (native crash, abort, kill)
    leaves markers behind. One object serves one ingest run: after `close` (or the exit
    cleanup) `begin` does nothing.

    Args:
        folder: Where the files go (created, user-only); see `markers_dir`.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._token = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._local = threading.local()
        self._lock = threading.Lock()  # slot bookkeeping and the flags; never file I/O
        self._slots: list[_Slot] = []
        self._registered = False
        self._serial = itertools.count()
        self._warned = False
        self._closed = False

    def begin(self, photo_id: int, path: Path) -> None:
        """Record that this thread starts decoding `path` (call `end` in a ``finally``).

        A marker that cannot be written (full disk, permissions) is logged once and the
        decode goes on unprotected: crash quarantine must never stop ingest. Once the
        object is closed or the interpreter is exiting, nothing is recorded.

        Args:
            photo_id: The image's catalog id.
            path: The file.
        """
        raw = os.fsencode(path)
        with self._lock:  # `close` may run on another thread meanwhile
            if self._closed:
                return
            slot: _Slot | None = getattr(self._local, "slot", None)
            try:
                if slot is None or slot.closed:
                    slot = self._open_slot()
            except OSError as exc:
                self._warn(exc)
                return
            slot.busy = True  # from now on `close` leaves the descriptor open
            slot.io.acquire()  # taken before the flag can change: see `_clear_at_exit`
        try:
            os.lseek(slot.fd, 0, os.SEEK_SET)
            os.write(slot.fd, b"%d %d\n%s" % (photo_id, len(raw), raw))
        except OSError as exc:
            self._warn(exc)  # `end` still empties whatever got written
        finally:
            slot.io.release()

    def end(self) -> None:
        """Record that this thread's decode ended (empties its file)."""
        slot: _Slot | None = getattr(self._local, "slot", None)
        if slot is None or not slot.busy:  # only this thread sets it
            return
        try:
            os.ftruncate(slot.fd, 0)  # busy: nobody closes it meanwhile
        except OSError as exc:
            logger.warning("cannot clear the decode marker %s: %s", slot.path, exc)
        with self._lock:
            slot.busy = False
            if self._closed and not slot.closed:  # a decode that outlived `close`
                self._release(slot)

    def close(self) -> None:
        """Delete the files of idle threads; a busy thread's goes when its decode ends.

        A thread stuck in a decode forever keeps its file until the process exits.
        Later calls of `begin` do nothing: a new run takes a new object.
        """
        with self._lock:
            self._closed = True
            for slot in [s for s in self._slots if not s.busy]:
                self._release(slot)

    def _warn(self, exc: OSError) -> None:
        """Log the first failure to write a marker (a race may log it twice)."""
        if not self._warned:
            self._warned = True
            logger.warning("cannot write decode markers in %s: %s", self.folder, exc)

    def _release(self, slot: _Slot) -> None:
        """Close and delete one idle file (caller holds ``_lock``)."""
        slot.closed = True
        self._slots.remove(slot)
        os.close(slot.fd)
        _unlink(slot.path)
        if not self._slots and self._registered:
            atexit.unregister(self._clear_at_exit)
            self._registered = False

    def _open_slot(self) -> _Slot:
        """This thread's new file, created and locked (caller holds ``_lock``)."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.folder / f"{self._token}-{next(self._serial)}{SUFFIX}"
        if _DELETE_WHILE_OPEN:
            new = path.with_suffix(NEW_SUFFIX)
            fd = os.open(new, _OPEN_FLAGS, 0o600)
            _lock_owned(fd)
            os.replace(new, path)  # only now can `collect_leftovers` see it
        else:  # Windows: our open handle alone keeps others from deleting it
            fd = os.open(path, _OPEN_FLAGS, 0o600)
        slot = _Slot(fd, path)
        self._slots.append(slot)
        if not self._registered:
            atexit.register(self._clear_at_exit)
            self._registered = True
        self._local.slot = slot
        return slot

    def _clear_at_exit(self) -> None:
        """A normal exit is no crash: empty every file, and let no daemon thread refill one.

        A thread that passed `begin`'s check before the flag was set holds its slot's
        ``io`` lock until its write is done, so the emptying here comes after it.
        """
        with self._lock:  # so no `close` releases a descriptor meanwhile
            self._closed = True
            for slot in self._slots:
                held = slot.io.acquire(timeout=_EXIT_WAIT_S)
                try:
                    with contextlib.suppress(OSError):  # best effort at exit
                        os.ftruncate(slot.fd, 0)
                finally:
                    if held:
                        slot.io.release()


def collect_leftovers(folder: Path) -> list[LeftoverDecode]:
    """Take the markers that dead processes left in `folder`, deleting their files.

    Files of live processes (this one included) are locked and left alone; the empty
    files of dead processes are deleted; unreadable content is logged and dropped.

    Args:
        folder: The marker folder (may be missing).

    Returns:
        One `LeftoverDecode` per decode that was under way when its process died.
    """
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        path = folder / name
        try:
            if name.endswith(NEW_SUFFIX):
                _take(path, min_age_s=STALE_NEW_S)
                continue
            if not name.endswith(SUFFIX):
                continue
            content = _take(path)
        except OSError as exc:
            logger.warning("cannot read the decode marker %s: %s", path, exc)
            continue
        if not content:
            continue
        leftover = _parse(content)
        if leftover is None:
            logger.warning("ignoring a malformed decode marker %s", path)
        else:
            found.append(leftover)
    return found


def _take(path: Path, *, min_age_s: float = 0.0) -> bytes:
    """The content of a dead process's file, now deleted; b"" for any other file.

    Args:
        path: The file.
        min_age_s: Leave files modified more recently than this.
    """
    try:
        fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        return b""
    try:
        if not _try_lock(fd) or os.fstat(fd).st_nlink == 0:
            return b""  # a live owner, or another process took it meanwhile
        if time.time() - os.fstat(fd).st_mtime < min_age_s:
            return b""
        content = os.read(fd, 1 << 16)
        if _DELETE_WHILE_OPEN:
            # Deleted under the lock: whoever locks it next sees st_nlink == 0.
            return content if _unlink(path) else b""
    finally:
        os.close(fd)
    # Windows: deleting fails while the file is open anywhere, our handle included.
    return content if _unlink(path) else b""


def _parse(content: bytes) -> LeftoverDecode | None:
    head, sep, raw = content.partition(b"\n")
    fields = head.split(b" ")
    if not sep or len(fields) != 2 or not all(f.isdigit() for f in fields):
        return None
    photo_id, length = (int(f) for f in fields)
    if len(raw) != length:
        return None
    return LeftoverDecode(PhotoId(photo_id), Path(os.fsdecode(raw)))


def _unlink(path: Path) -> bool:
    """Delete a file; False if it is gone or (Windows) still open somewhere."""
    try:
        path.unlink()
    except (FileNotFoundError, PermissionError):
        return False
    return True


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only

    def _lock_owned(fd: int) -> None:
        """Windows refuses to delete a file open elsewhere: that is the owner's lock."""

    def _try_lock(fd: int) -> bool:
        return True

else:
    import fcntl

    def _lock_owned(fd: int) -> None:
        """Hold an exclusive lock on our file until the descriptor closes (or we die)."""
        fcntl.flock(fd, fcntl.LOCK_EX)

    def _try_lock(fd: int) -> bool:
        """Whether no live descriptor (of any process, this one too) holds the file."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
