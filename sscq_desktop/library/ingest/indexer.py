"""`Indexer`: the library's indexing jobs, run on the writer lane.

Scan (reconcile the catalog with the disk), ingest (decode, encode, store; finish a
pending model switch), update (both) and watch (keep up with changes until cancelled).
Each is a generator yielding `Progress`; drive one at a time from one worker thread,
the catalog's only writer. While `watch` runs, its thread owns the `WriterLane`: other
writes reach the catalog as commands it runs between batches, and a folder added
meanwhile is scanned alone. Searches are `Searcher`'s; this module only tells it,
through the `bump` callback, that the codes changed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sscq_desktop.library.catalog.catalog import Catalog
from sscq_desktop.library.catalog.reconciliation import (
    FileStat,
    KnownFile,
    Reconciliation,
)
from sscq_desktop.library.folders.root_status import check_root
from sscq_desktop.library.folders.scanner import (
    reconcile,
    walk_changed_paths,
    walk_images,
)
from sscq_desktop.library.folders.watcher import FolderWatcher
from sscq_desktop.library.images.content_key import content_key
from sscq_desktop.library.images.thumbnails import remove_thumbnail
from sscq_desktop.library.ingest.held_deletions import HeldDeletions
from sscq_desktop.library.ingest.ingest import (
    IngestOptions,
    IngestPipeline,
    IngestSummary,
)
from sscq_desktop.library.ingest.writer_lane import WriterLane
from sscq_desktop.library.models.model_manager import ModelManager
from sscq_desktop.library.path_text import display_path
from sscq_desktop.library.progress import Progress, ProgressMeter, is_cancelled
from sscq_desktop.library.records import FolderId, FolderRecord
from sscq_desktop.model.encoder import ModelOutputError
from sscq_desktop.paths import AppPaths

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScanSummary:
    """What a scan changed in the catalog.

    Attributes:
        files: Image files seen on disk.
        new: Files added (to be encoded).
        changed: Files modified (to be re-encoded).
        moved: Files found at a new path with their codes kept.
        deleted: Files gone from disk, removed from the catalog.
        deferred: Files still being written, left for later.
        offline: Root folders that could not be read (their photos are kept).
        unreadable: Folders or files below the roots that could not be read (their
            photos are kept too).
    """

    files: int
    new: int
    changed: int
    moved: int
    deleted: int
    deferred: int
    offline: tuple[Path, ...] = ()
    unreadable: tuple[Path, ...] = ()


class Indexer:
    """Indexing jobs of one library.

    Args:
        catalog: The catalog writer.
        paths: The app's folders (excluded from scans; thumbnails).
        models: The library's models (encoders; pending switch).
        options: Tuning of the ingest pipeline.
        bump: Called after each write that changes what a search may see (a
            search may still use a snapshot a second or two old while ingest writes).
        settled: Called when an ingest has stored its last batch, before that is
            reported: the next search sees all of it (a display refreshed on "ingest
            done" must not find the snapshot of a moment ago).
    """

    def __init__(
        self,
        catalog: Catalog,
        paths: AppPaths,
        models: ModelManager,
        *,
        options: IngestOptions,
        bump: Callable[[], None],
        settled: Callable[[], None],
    ) -> None:
        self._catalog = catalog
        self.paths = paths
        self._models = models
        self.options = options
        self._bump = bump
        self._settled = settled
        self.lane = WriterLane()
        """Where writes from other threads go while `watch` runs (see `WriterLane`)."""
        self._wants_ingest = False  # a command left photos to encode (retry)
        self._held = HeldDeletions(hold_s=0.0)  # `watch` sets how long

    def scan(
        self, *, cancel: threading.Event | None = None, settle_s: float = 0.0
    ) -> Generator[Progress, None, ScanSummary]:
        """Reconcile the catalog with the disk (start-up, or after `add_folder`).

        A root that cannot be read (`root_problem`) is marked offline and its photos
        are kept; so are the photos of any folder below a root that cannot be read.
        A root that comes back is marked online; its unchanged photos keep their codes.

        Args:
            cancel: Stops the walk early; nothing is changed then.
            settle_s: Files modified less than this long ago are left for later.

        Yields:
            `Progress` while walking (``done`` = files seen, total unknown).

        Returns:
            A `ScanSummary`.
        """
        meter = ProgressMeter("scan")
        disk: list[FileStat] = []
        offline: list[Path] = []
        unreadable: list[Path] = []
        for folder in self._catalog.reader.folders():
            if not self._check_root(folder):
                offline.append(folder.path)
                continue
            start = len(disk)
            for entry in walk_images(
                folder.path,
                folder.id,
                exclude=self._exclude,
                cancel=cancel,
                unreadable=unreadable,
            ):
                disk.append(entry)
                meter.advance()
                if meter.done % 1000 == 0:
                    yield meter.snapshot(display_path(folder.path))
            if not is_cancelled(cancel) and not self._check_root(folder):
                # Ejected while being walked: the folders not reached yet vanished,
                # which is no deletion. Keep all its photos, as for any offline root.
                del disk[start:]
                offline.append(folder.path)
        if is_cancelled(cancel):
            return ScanSummary(len(disk), 0, 0, 0, 0, 0)
        rec = reconcile(
            disk,
            self._catalog.reader.known_files(),
            key_of=_safe_key,
            settle_ns=int(settle_s * 1e9),
            protected=offline + unreadable,
        )
        self._apply(rec)
        yield meter.snapshot("scan complete")
        return ScanSummary(
            len(disk),
            len(rec.new),
            len(rec.changed),
            len(rec.moved),
            len(rec.deleted),
            len(rec.deferred),
            tuple(offline),
            tuple(unreadable),
        )

    def ingest(
        self,
        *,
        cancel: threading.Event | None = None,
        pause: threading.Event | None = None,
    ) -> Generator[Progress, None, IngestSummary]:
        """Decode and encode every photo lacking codes; finish a pending model switch.

        Encodes with the active model and, during a switch, with the pending one; when
        the pending model's codes are complete the switch happens in one transaction.

        Args:
            cancel: Stops after the current batch (all stored results stay).
            pause: Pauses between batches while set.

        Yields:
            `Progress` (phase ``ingest``) with counts, rate and ETA.

        Returns:
            An `IngestSummary`.

        Raises:
            NoModelError: if no model is available.
            ArtifactError: if a model file became invalid or fails its probe.
            ModelOutputError: if a model produced invalid output; its batch's photos
                stay pending, not failed (`ModelManager.drop_misbehaving`).
        """
        active = self._models.require_active()
        pending = self._models.pending_model_id
        encoders = self._models.ingest_encoders(active, pending)
        while True:
            job = IngestPipeline(
                self._catalog,
                encoders,
                thumbnails_dir=self.paths.thumbnails_dir,
                options=self.options,
            ).run(cancel=cancel, pause=pause)
            try:
                while True:
                    try:
                        snapshot = next(job)
                    except StopIteration as stop:
                        summary: IngestSummary = stop.value
                        break
                    if snapshot.total and snapshot.done >= snapshot.total:
                        self._settled()  # the last batch: searches see it all now
                    else:
                        self._bump()
                    yield snapshot
                break
            except ModelOutputError as exc:
                encoders = self._models.drop_misbehaving(exc, encoders, active=active)
        if pending and not summary.cancelled and self._models.complete_pending(pending):
            logger.info("switched the active model from %s to %s", active, pending)
        return summary

    def update(
        self,
        *,
        cancel: threading.Event | None = None,
        pause: threading.Event | None = None,
    ) -> Generator[Progress, None, IngestSummary]:
        """`scan` then `ingest`: bring the library up to date."""
        yield from self.scan(cancel=cancel)
        return (yield from self.ingest(cancel=cancel, pause=pause))

    def retry_failed(self) -> int:
        """Queue every failed file for another try; returns how many.

        A running `watch` then encodes them (after its next wait for changes).
        """
        count = self._catalog.retry_errors()
        if count:
            self.request_ingest()
        return count

    def request_ingest(self) -> None:
        """Have a running `watch` ingest on its next turn (photos were queued)."""
        self._wants_ingest = True

    def watch(
        self,
        *,
        cancel: threading.Event,
        pause: threading.Event | None = None,
        debounce_s: float = 1.0,
        settle_s: float = 2.0,
        force_polling: bool = False,
        polling_interval_s: float = 5.0,
        initial_update: bool = True,
    ) -> Generator[Progress, None, None]:
        """Keep the library up to date until `cancel` is set.

        Reconciles at start (optional), then watches the folders: every debounced batch
        of changes is reconciled (moves keep codes, deletions leave, modified files are
        re-encoded) and ingested. Files still being written wait until `settle_s` after
        their last change. A folder added meanwhile is scanned alone (the others are
        not walked again), and every other write asked for on another thread runs
        here, between batches (`WriterLane`): nothing restarts the watcher.

        Args:
            cancel: Stops watching (required: the job otherwise never ends).
            pause: Pauses ingest while set.
            debounce_s: Quiet time that closes a batch of events.
            settle_s: Age a file's mtime must reach before it is read.
            force_polling: Poll every folder (network drives, tests).
            polling_interval_s: Seconds between polls of polled folders.
            initial_update: Run `update` first (changes made while the app was closed).

        Yields:
            A ``watch`` snapshot once the folders are watched, `Progress` of each
            scan/ingest, and a ``watch`` snapshot after each batch of changes.
        """
        watcher = FolderWatcher(
            debounce_s=debounce_s,
            force_polling=force_polling,
            polling_interval_s=polling_interval_s,
        )
        # Watch first, reconcile second: a change made during the start-up scan is
        # then seen by one or the other, never lost between them.
        watcher.start()
        # A vanished photo waits this long for the other half of a move (another batch).
        self._held = HeldDeletions(hold_s=2.0 * (debounce_s + settle_s))
        batches = 0
        check_every = max(1.0, min(polling_interval_s, 5.0))
        next_check = time.monotonic() + check_every
        try:
            with self.lane.owned_by_this_thread():
                known = {f.id for f in self._catalog.reader.folders()}
                self._wants_ingest = False
                self._watch_online(watcher)
                yield Progress(
                    phase="watch",
                    done=0,
                    total=0,
                    message=f"watching {len(watcher.watched_folders)} folder(s), "
                    f"{len(watcher.polled_folders)} by polling",
                )
                if initial_update:
                    yield from self.scan(cancel=cancel)
                    yield from self._ingest_between_commands(cancel, pause)
                while not cancel.is_set():
                    # Writes asked for meanwhile (add or remove a folder, retry,
                    # switch models) run here, between batches: one writer, and
                    # the watcher goes on.
                    self.lane.drain()
                    if cancel.is_set():
                        break
                    added = self._added_folders(known)
                    self._watch_online(watcher)
                    expired = self._held.expired(now=time.monotonic())
                    if expired:  # vanished long enough: no move claimed them
                        self._delete_held(expired)
                        batches += 1
                        yield Progress(
                            phase="watch",
                            done=batches,
                            total=0,
                            message=f"{len(expired)} deleted",
                        )
                    if time.monotonic() >= next_check:
                        # Roots come and go without events (a drive plugged back
                        # in, a share mounted): look at each one; one that is back
                        # is rescanned.
                        self._recheck_roots(watcher)
                        next_check = time.monotonic() + check_every
                    # A folder just added is scanned alone, now; the others are not
                    # walked again (their changes come as events).
                    batch = added or watcher.next_batch(timeout=0.25)
                    if not batch and not self._wants_ingest:
                        continue
                    rec = Reconciliation()
                    if batch:
                        rec = self._reconcile_paths(sorted(batch), settle_s=settle_s)
                    if rec.deferred:
                        watcher.mark_dirty(
                            rec.deferred, not_before=time.monotonic() + settle_s
                        )
                    wants = self._wants_ingest or not rec.is_empty
                    self._wants_ingest = False
                    if wants and self._models.active_model_id is not None:
                        yield from self._ingest_between_commands(cancel, pause)
                    batches += 1
                    yield Progress(
                        phase="watch",
                        done=batches,
                        total=0,
                        message=f"{len(rec.new)} new, {len(rec.changed)} changed, "
                        f"{len(rec.moved)} moved, {len(rec.deleted)} deleted",
                    )
        finally:
            watcher.stop()
            self._delete_held(self._held.take_all())

    def _ingest_between_commands(
        self, cancel: threading.Event, pause: threading.Event | None
    ) -> Generator[Progress, None, None]:
        """`ingest` for `watch`: it stops after a batch when a command is queued.

        The loop then runs the command and resumes the ingest on its next turn.
        """
        summary = yield from self.ingest(
            cancel=self.lane.yield_event(cancel), pause=pause
        )
        if summary.cancelled and not cancel.is_set():
            self._wants_ingest = True

    def _added_folders(self, known: set[FolderId]) -> set[Path]:
        """Roots added since the last look (`known` is updated), online ones only."""
        folders = self._catalog.reader.folders()
        added = {f.path for f in folders if f.id not in known and not f.offline}
        known.clear()
        known.update(f.id for f in folders)
        return added

    @property
    def _exclude(self) -> list[Path]:
        """The app's own folders: never indexed, even inside a library root."""
        return [self.paths.data_dir, self.paths.cache_dir, self.paths.config_dir]

    def _check_root(self, folder: FolderRecord) -> bool:
        """Look at a root now; mark it offline or back online. True if online."""
        online, changed = check_root(self._catalog, folder)
        if changed:
            self._bump()
        return online

    def _watch_online(self, watcher: FolderWatcher) -> None:
        """Watch the roots that are online (an offline one is watched once back)."""
        watcher.set_folders(
            f.path for f in self._catalog.reader.folders() if not f.offline
        )

    def _recheck_roots(self, watcher: FolderWatcher) -> None:
        """Look at every root (every 1-5 s while watching); rescan one that is back.

        The catalog is written only when a root's state changes (`check_root`), so an
        idle watch costs no write transactions. The probe runs on the watch thread: a
        root on a network share whose server stopped answering may block it in
        ``stat`` or ``scandir`` until the kernel times the mount out.
        """
        for folder in self._catalog.reader.folders():
            was_offline = folder.offline
            online = self._check_root(folder)
            if online and was_offline:
                watcher.mark_dirty([folder.path])  # rescan it: nothing re-encoded

    def _reconcile_paths(
        self, paths: Sequence[Path], *, settle_s: float
    ) -> Reconciliation:
        """Reconcile only these paths (files or folders, present or gone).

        Paths of an offline root are dropped (the root is rescanned when it is back);
        paths that exist but cannot be read keep their photos; symbolic links and
        anything below one are not followed.
        """
        roots = self._catalog.reader.folders()
        by_path = {r.path: r for r in roots}
        walked = walk_changed_paths(
            paths, [(r.path, r.id) for r in roots],
            is_online=lambda root: self._check_root(by_path[root]), exclude=self._exclude,
        )  # fmt: skip
        disk, scoped, protected, online = (
            walked.disk, walked.scoped, walked.protected, walked.online
        )  # fmt: skip
        # A root ejected while its paths were walked: what vanished is no deletion.
        gone = [r.path for r in roots if online.get(r.path) and not self._check_root(r)]
        if gone:
            disk = [f for f in disk if not any(f.path.is_relative_to(g) for g in gone)]
            protected.extend(gone)
        known = self._catalog.reader.known_files(under=scoped)
        rec = reconcile(
            [*disk], [*known, *self._still_held(self._held.candidates(known))],
            key_of=_safe_key, settle_ns=int(settle_s * 1e9), protected=protected,
        )  # fmt: skip
        self._held.settle(rec, {k.id for k in known}, now=time.monotonic())
        self._apply(rec)
        return rec

    def _delete_held(self, rows: list[KnownFile]) -> None:
        """Delete vanished photos whose hold is over (no move claimed them)."""
        rows = self._still_held(rows)
        if rows:
            self._apply(Reconciliation(deleted=rows))

    def _still_held(self, rows: list[KnownFile]) -> list[KnownFile]:
        """The held rows still in the catalog as they were held (same id, same path).

        Another write may have removed one meanwhile (Move to Trash, a folder removed)
        and SQLite may have given its id to a new photo: that one is not touched.
        """
        reader = self._catalog.reader
        return [
            row
            for row in rows
            if (photo := reader.photo(row.id)) is not None and photo.path == row.path
        ]

    def _apply(self, rec: Reconciliation) -> None:
        for key in self._catalog.apply_reconciliation(rec):
            remove_thumbnail(self.paths.thumbnails_dir, key)
        if rec.deleted or rec.moved or rec.changed:
            self._bump()


def _safe_key(path: Path) -> str | None:
    try:
        return content_key(path)
    except OSError:
        return None
