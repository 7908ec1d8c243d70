"""Watch library folders for changes, debounced and coalesced into batches of paths.

A watchdog observer streams events into a set of dirty paths; `FolderWatcher.next_batch`
hands them out once the stream has been quiet for `debounce_s` (or after `max_delay_s`
of continuous activity), so a burst of 10,000 copied files is one batch of work. A storm
of paths is coalesced into the folders that hold them, never above a watched root, so it
always ends with a rescan of the part of the library it touched; when the kernel drops
events (inotify queue overflow) every natively watched root is rescanned. Folders
on network file systems, folders the native observer refuses (inotify watch limits) and
everything when `force_polling` is set are watched by a polling observer instead. This
module only reports paths; `Library.watch` reconciles them with the catalog.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.polling import PollingObserver

from sscq_desktop.library.folders.network_fs import on_network_fs
from sscq_desktop.library.images.image_loader import is_supported_name

logger = logging.getLogger(__name__)

COLLAPSE_THRESHOLD = 2000
"""Above this many dirty paths, a batch is collapsed to their parent folders (and, if
still above it, to their watched roots): fewer, bigger rescans, never a skipped path."""

_OVERFLOW_LOGGERS = ("watchdog.observers.inotify_c", "watchdog.observers.inotify")

_RELEVANT = frozenset({"created", "modified", "moved", "deleted", "closed"})


class FolderWatcher:
    """Collects changed paths under library folders.

    Thread-safe: watchdog threads add paths, one consumer thread calls `next_batch`.

    Args:
        debounce_s: A batch is released after this long without new events.
        max_delay_s: ...or at the latest this long after its first event.
        force_polling: Poll every folder instead of using native events.
        polling_interval_s: Seconds between two polls of a polled folder.
    """

    def __init__(
        self,
        *,
        debounce_s: float = 1.0,
        max_delay_s: float = 10.0,
        force_polling: bool = False,
        polling_interval_s: float = 5.0,
    ) -> None:
        self._debounce = debounce_s
        self._max_delay = max_delay_s
        self._force_polling = force_polling
        self._cond = threading.Condition()
        self._dirty: dict[
            Path, float
        ] = {}  # path -> earliest time it may be handed out
        self._first_event: float | None = None
        self._last_event = 0.0
        self._handler = _Handler(self)
        self._native: BaseObserver | None = None
        self._polling: BaseObserver = PollingObserver(timeout=polling_interval_s)
        self._watches: dict[Path, tuple[BaseObserver, ObservedWatch]] = {}
        self._roots: frozenset[Path] = frozenset()  # replaced whole: read by observers
        self._overflow = _OverflowListener(self)
        self._started = False

    @property
    def polled_folders(self) -> list[Path]:
        """Folders watched by polling."""
        return [p for p, (obs, _) in self._watches.items() if obs is self._polling]

    @property
    def watched_folders(self) -> list[Path]:
        """Every folder being watched."""
        return list(self._watches)

    def start(self) -> None:
        """Start the observers (folders can be set before or after)."""
        if self._started:
            return
        self._polling.start()
        if not self._force_polling:
            try:
                native = Observer()
                native.start()
                self._native = native
            except Exception as exc:  # no native backend on this platform or build
                logger.warning(
                    "native file watching unavailable (%s); polling instead", exc
                )
        for name in _OVERFLOW_LOGGERS:
            logging.getLogger(name).addFilter(self._overflow)
        self._started = True

    def stop(self) -> None:
        """Stop and join the observers."""
        for name in _OVERFLOW_LOGGERS:
            logging.getLogger(name).removeFilter(self._overflow)
        for obs in (self._native, self._polling):
            if obs is not None and obs.is_alive():
                obs.stop()
                obs.join(timeout=5)
        self._started = False

    def set_folders(self, folders: Iterable[Path]) -> None:
        """Watch exactly these folders (polled when on a network file system)."""
        if not self._started:
            self.start()
        wanted = dict.fromkeys(folders)  # deduplicated, in order
        for path in list(self._watches):
            if path not in wanted:
                obs, watch = self._watches.pop(path)
                try:
                    obs.unschedule(watch)
                except (KeyError, OSError) as exc:  # its folder vanished meanwhile
                    logger.debug("unscheduling %s: %s", path, exc)
        for path in wanted:
            if path in self._watches or not path.is_dir():
                continue
            self._watches[path] = self._schedule(path, on_network_fs(path))
        self._roots = frozenset(wanted)

    def mark_all_dirty(self) -> None:
        """Rescan every watched root (events were lost)."""
        self.mark_dirty(self._roots)

    def mark_dirty(
        self, paths: Iterable[Path], *, not_before: float | None = None
    ) -> None:
        """Add paths to the next batches (also used to look again at deferred files).

        Args:
            paths: Changed paths (files or folders).
            not_before: Monotonic time before which they are not handed out.
        """
        now = time.monotonic()
        with self._cond:
            for path in paths:
                when = now if not_before is None else not_before
                self._dirty[path] = max(self._dirty.get(path, 0.0), when)
            if self._first_event is None:
                self._first_event = now
            self._last_event = now
            self._cond.notify_all()

    def next_batch(self, timeout: float) -> set[Path]:
        """Wait up to `timeout` seconds for a debounced batch of dirty paths.

        Returns:
            The paths (possibly collapsed to parent folders), empty on timeout.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                now = time.monotonic()
                ready = self._ready(now)
                if ready:
                    batch = {p for p, when in self._dirty.items() if when <= now}
                    for p in batch:
                        del self._dirty[p]
                    self._first_event = now if self._dirty else None
                    return _collapse(batch, roots=self._roots)
                if now >= deadline:
                    return set()
                self._cond.wait(min(deadline - now, max(0.02, self._debounce / 4)))

    def _ready(self, now: float) -> bool:
        if not any(when <= now for when in self._dirty.values()):
            return False
        quiet = now - self._last_event >= self._debounce
        overdue = (
            self._first_event is not None and now - self._first_event >= self._max_delay
        )
        return quiet or overdue

    def _schedule(self, path: Path, poll: bool) -> tuple[BaseObserver, ObservedWatch]:
        if not poll and self._native is not None:
            try:
                return self._native, self._native.schedule(
                    self._handler, str(path), recursive=True
                )
            except OSError as exc:  # inotify watch limit, unsupported file system...
                logger.warning(
                    "cannot watch %s natively (%s); polling it instead", path, exc
                )
        return self._polling, self._polling.schedule(
            self._handler, str(path), recursive=True
        )

    def _on_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in _RELEVANT:
            return
        paths: list[Path] = []
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if not raw:
                continue
            text = os.fsdecode(raw)
            if event.is_directory or is_supported_name(text):
                paths.append(Path(text))
        if paths:
            self.mark_dirty(paths)


class _Handler(FileSystemEventHandler):
    def __init__(self, owner: FolderWatcher) -> None:
        self._owner = owner

    def on_any_event(self, event: FileSystemEvent) -> None:
        self._owner._on_event(event)


class _OverflowListener(logging.Filter):
    """Sees watchdog's "inotify queue overflowed" warning: events were lost, rescan.

    watchdog rebuilds its own watches after an overflow but tells the handler nothing;
    its warning is the one signal there is, so the watcher listens for it.
    """

    def __init__(self, owner: FolderWatcher) -> None:
        super().__init__()
        self._owner = owner

    def filter(self, record: logging.LogRecord) -> bool:
        if "overflow" in str(record.msg).lower():
            self._owner.mark_all_dirty()
        return True


def _in_scope(path: Path, roots: frozenset[Path]) -> list[Path]:
    """`path` if it lies in a watched root, the roots it contains, or nothing.

    An event on a root's parent (a root renamed or deleted) must not become a dirty
    path above the library, where it would hide the library paths below it.
    """
    if any(path.is_relative_to(r) for r in roots):
        return [path]
    return [r for r in roots if r.is_relative_to(path)]


def _collapse(paths: set[Path], *, roots: frozenset[Path] = frozenset()) -> set[Path]:
    """Coalesce: drop paths under another dirty path; many paths become their folders.

    Above `COLLAPSE_THRESHOLD` paths, each becomes its parent folder, but never climbs
    above a watched root (a root stays itself); if that still leaves too many, each
    becomes its root. The caller rescans whatever comes out: a storm costs a bigger
    rescan, never a skipped change.
    """
    if roots:
        paths = {q for p in paths for q in _in_scope(p, roots)}
    if len(paths) > COLLAPSE_THRESHOLD:
        paths = {p if p in roots else p.parent for p in paths}
    if len(paths) > COLLAPSE_THRESHOLD and roots:
        paths = {next((r for r in roots if p.is_relative_to(r)), p) for p in paths}
    kept: set[Path] = set()
    for p in sorted(paths, key=lambda p: len(p.parts)):
        if not any(a in kept for a in p.parents):  # linear: storms are big
            kept.add(p)
    return kept
