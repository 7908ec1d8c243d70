"""`Library`: the one object the GUI and the CLI use to index, watch and search photos.

Threads (ARCHITECTURE.md): the job methods (`scan`, `ingest`, `update`, `watch`,
`near_duplicates`, `retrain`) are generators yielding `Progress`; drive them from one
worker thread, the writer lane. Searches (`similar_to_photo`, `similar_to_file`,
`similar_to_image`) and the read methods are thread-safe and may run on any thread
(never the GUI thread: they may load the code index or run the encoder). Each search
takes one `CodeIndex` snapshot, so a model switch never mixes models in one answer.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np
import numpy.typing as npt
from PIL import Image

from sscq_desktop.library.catalog import (
    ACTIVE_MODEL_KEY,
    PENDING_MODEL_KEY,
    Catalog,
    CatalogReader,
    CatalogStats,
)
from sscq_desktop.library.content_key import content_key
from sscq_desktop.library.duplicates import find_near_duplicates
from sscq_desktop.library.image_loader import ImageLoadError, load_image
from sscq_desktop.library.ingest import IngestOptions, IngestPipeline, IngestSummary
from sscq_desktop.library.model_registry import ModelRegistry
from sscq_desktop.library.progress import Progress, ProgressMeter, is_cancelled
from sscq_desktop.library.records import (
    DuplicateGroup,
    FolderId,
    FolderRecord,
    ModelRecord,
    PhotoId,
    PhotoRecord,
    SearchHit,
)
from sscq_desktop.library.retrain import TrainerCommand, run_trainer
from sscq_desktop.library.scanner import (
    FileStat,
    Reconciliation,
    reconcile,
    walk_images,
)
from sscq_desktop.library.search_service import CodeIndex
from sscq_desktop.library.thumbnails import remove_thumbnail, thumbnail_path
from sscq_desktop.library.watcher import FolderWatcher
from sscq_desktop.model.artifact import ArtifactError, ModelArtifact
from sscq_desktop.model.encoder import Embedder
from sscq_desktop.model.preprocessing import to_model_input
from sscq_desktop.paths import AppPaths, app_paths

logger = logging.getLogger(__name__)

EncoderFactory = Callable[[ModelArtifact], Embedder]
"""Builds the encoder of a model; the default runs it with onnxruntime (`OnnxEncoder`)."""

_INDEX_REFRESH_S = (
    2.0  # a stale index is rebuilt at most this often while ingest writes
)


class NoModelError(RuntimeError):
    """No model is available: none is active and the shipped default model is missing."""


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
    """

    files: int
    new: int
    changed: int
    moved: int
    deleted: int
    deferred: int


def default_encoder_factory(artifact: ModelArtifact) -> Embedder:
    """Run a model with onnxruntime (CUDA when it works, else the CPU)."""
    from sscq_desktop.model.encoder import OnnxEncoder

    return OnnxEncoder(artifact)


class Library:
    """The photo library: catalog, models, indexing jobs and searches.

    Args:
        paths: The app's folders; default: `app_paths()` (honours ``SSCQ_DESKTOP_HOME``).
        encoder_factory: Builds a model's encoder (tests pass a fake or a counting one).
        ingest_options: Tuning of the ingest pipeline.

    Raises:
        CatalogVersionError: if the catalog was written by a newer app.
    """

    def __init__(
        self,
        paths: AppPaths | None = None,
        *,
        encoder_factory: EncoderFactory = default_encoder_factory,
        ingest_options: IngestOptions | None = None,
    ) -> None:
        self.paths = (paths or app_paths()).ensure()
        self._catalog = Catalog(self.paths.catalog_path)
        self._registry = ModelRegistry(self._catalog, self.paths)
        self._encoder_factory = encoder_factory
        self.ingest_options = ingest_options or IngestOptions()
        self._lock = threading.RLock()
        self._encoders: dict[str, Embedder] = {}
        self._artifacts: dict[str, ModelArtifact] = {}
        self._index: CodeIndex | None = None
        self._index_built_at = 0.0
        self._generation = 0
        self._local = threading.local()
        default = self._registry.ensure_default()
        if default is not None and self._catalog.active_model_id() is None:
            self._catalog.set_setting(ACTIVE_MODEL_KEY, default.model_id)

    # --- lifecycle ----------------------------------------------------------------------

    def close(self) -> None:
        """Close the catalog (readers of other threads close when their thread ends)."""
        self._catalog.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def catalog(self) -> Catalog:
        """The catalog writer (for diagnostics and tests; prefer the methods here)."""
        return self._catalog

    # --- folders --------------------------------------------------------------------------

    def folders(self) -> list[FolderRecord]:
        """The library root folders."""
        return self._catalog.folders()

    def add_folder(self, path: str | os.PathLike[str]) -> FolderRecord:
        """Add a folder to the library (run `update` or `scan` to index it).

        Raises:
            NotADirectoryError: if `path` is not a folder.
        """
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise NotADirectoryError(f"not a folder: {folder}")
        return self._catalog.add_folder(folder)

    def remove_folder(self, folder_id: FolderId) -> None:
        """Forget a folder and its photos (the files are not touched)."""
        for key in self._catalog.remove_folder(folder_id):
            remove_thumbnail(self.paths.thumbnails_dir, key)
        self._bump()

    # --- models -----------------------------------------------------------------------------

    def models(self) -> list[ModelRecord]:
        """Registered models."""
        return self._catalog.models()

    @property
    def active_model_id(self) -> str | None:
        """The model answering searches."""
        return self._catalog.active_model_id()

    @property
    def pending_model_id(self) -> str | None:
        """The model being switched to, while the library is re-encoded."""
        return self._catalog.pending_model_id()

    @property
    def default_model_id(self) -> str | None:
        """The shipped default model, when this installation has one."""
        return self._registry.default_model_id()

    def import_model(self, path: str | os.PathLike[str]) -> ModelRecord:
        """Validate, copy and register a model artifact (it does not become active).

        Raises:
            ArtifactError: if the file is not a usable model.
        """
        return self._registry.import_artifact(Path(path))

    def switch_model(self, model_id: str) -> bool:
        """Make `model_id` the active model, now or once the library is re-encoded.

        With no active model, or when every photo already has its codes, the switch is
        immediate. Otherwise the model becomes pending: `ingest` re-encodes the library
        with it while the old model keeps answering, then switches atomically.

        Returns:
            True if the switch is already done.

        Raises:
            ArtifactError: if the model is unknown or its file is invalid.
        """
        self._registry.load(model_id)  # validates the file before anything changes
        if model_id == self.active_model_id:
            self._catalog.set_setting(PENDING_MODEL_KEY, None)
            return True
        if self.active_model_id is None:
            self._catalog.set_setting(ACTIVE_MODEL_KEY, model_id)
        if self.active_model_id == model_id or self._catalog.complete_switch(model_id):
            self._catalog.set_setting(PENDING_MODEL_KEY, None)
            self._bump(force=True)
            return True
        self._catalog.set_setting(PENDING_MODEL_KEY, model_id)
        return False

    def use_default_model(self) -> bool:
        """Go back to the shipped default model (see `switch_model`).

        Raises:
            NoModelError: if this installation has no default model.
        """
        default = self._registry.ensure_default()
        if default is None:
            raise NoModelError("this installation has no default model")
        return self.switch_model(default.model_id)

    def artifact(self, model_id: str) -> ModelArtifact:
        """The validated artifact of a registered model (cached)."""
        with self._lock:
            if model_id not in self._artifacts:
                self._artifacts[model_id] = self._registry.load(model_id)
            return self._artifacts[model_id]

    def encoder(self, model_id: str) -> Embedder:
        """The loaded encoder of a registered model; kept warm for the library's life."""
        with self._lock:
            if model_id not in self._encoders:
                self._encoders[model_id] = self._encoder_factory(
                    self.artifact(model_id)
                )
            return self._encoders[model_id]

    def _require_active(self) -> str:
        model_id = self.active_model_id
        if model_id is None:
            raise NoModelError(
                "no model is available: import one (models import FILE) or install the default model"
            )
        return model_id

    # --- indexing jobs (writer lane) ----------------------------------------------------------

    def scan(
        self, *, cancel: threading.Event | None = None, settle_s: float = 0.0
    ) -> Generator[Progress, None, ScanSummary]:
        """Reconcile the catalog with the disk (start-up, or after `add_folder`).

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
        exclude = [self.paths.data_dir, self.paths.cache_dir, self.paths.config_dir]
        for folder in self.folders():
            for entry in walk_images(
                folder.path, folder.id, exclude=exclude, cancel=cancel
            ):
                disk.append(entry)
                meter.advance()
                if meter.done % 1000 == 0:
                    yield meter.snapshot(str(folder.path))
        if is_cancelled(cancel):
            return ScanSummary(len(disk), 0, 0, 0, 0, 0)
        rec = reconcile(
            disk,
            self._catalog.known_files(),
            key_of=_safe_key,
            settle_ns=int(settle_s * 1e9),
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
            ArtifactError: if a model file became invalid.
        """
        active = self._require_active()
        pending = self.pending_model_id
        targets = [active] + ([pending] if pending and pending != active else [])
        pipeline = IngestPipeline(
            self._catalog,
            {m: self.encoder(m) for m in targets},
            thumbnails_dir=self.paths.thumbnails_dir,
            options=self.ingest_options,
        )
        job = pipeline.run(cancel=cancel, pause=pause)
        while True:
            try:
                snapshot = next(job)
            except StopIteration as stop:
                summary: IngestSummary = stop.value
                break
            self._bump()
            yield snapshot
        if pending and not summary.cancelled and self._catalog.complete_switch(pending):
            logger.info("switched the active model from %s to %s", active, pending)
            self._bump(force=True)
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
        """Queue every failed file for another try; returns how many."""
        return self._catalog.retry_errors()

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
        their last change. Folders added meanwhile are picked up.

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
        batches = 0
        try:
            watcher.set_folders((f.path, f.polling) for f in self.folders())
            yield Progress(
                phase="watch",
                done=0,
                total=0,
                message=f"watching {len(watcher.watched_folders)} folder(s), "
                f"{len(watcher.polled_folders)} by polling",
            )
            if initial_update:
                yield from self.update(cancel=cancel, pause=pause)
            while not cancel.is_set():
                watcher.set_folders((f.path, f.polling) for f in self.folders())
                batch = watcher.next_batch(timeout=0.25)
                if not batch:
                    continue
                rec = self._reconcile_paths(sorted(batch), settle_s=settle_s)
                if rec.deferred:
                    watcher.mark_dirty(
                        rec.deferred, not_before=time.monotonic() + settle_s
                    )
                if not rec.is_empty and self.active_model_id is not None:
                    yield from self.ingest(cancel=cancel, pause=pause)
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

    def _reconcile_paths(
        self, paths: Sequence[Path], *, settle_s: float
    ) -> Reconciliation:
        """Reconcile only these paths (files or folders, present or gone)."""
        roots = self.folders()
        exclude = [self.paths.data_dir, self.paths.cache_dir, self.paths.config_dir]
        disk: list[FileStat] = []
        scoped: list[Path] = []
        for path in paths:
            root = next(
                (r for r in roots if path == r.path or path.is_relative_to(r.path)),
                None,
            )
            if root is None:
                continue
            scoped.append(path)
            if path.is_dir():
                disk.extend(walk_images(path, root.id, exclude=exclude))
            elif path.is_file() and not any(
                part.startswith(".") for part in path.relative_to(root.path).parts
            ):
                disk.extend(walk_images(path, root.id))
        rec = reconcile(
            disk,
            self._catalog.known_files(under=scoped),
            key_of=_safe_key,
            settle_ns=int(settle_s * 1e9),
        )
        self._apply(rec)
        return rec

    def _apply(self, rec: Reconciliation) -> None:
        for key in self._catalog.apply_reconciliation(rec):
            remove_thumbnail(self.paths.thumbnails_dir, key)
        if rec.deleted or rec.moved or rec.changed:
            self._bump()

    # --- searches (any thread) ------------------------------------------------------------------

    def similar_to_photo(
        self,
        photo_id: PhotoId,
        *,
        k: int = 20,
        max_distance: float | None = None,
        min_score: float | None = None,
        folders: Sequence[Path] | None = None,
    ) -> list[SearchHit]:
        """Photos most similar to a library photo (itself excluded).

        Args:
            photo_id: The query photo; its stored embedding is the query.
            k: Most results.
            max_distance: Drop results farther than this (the similarity threshold).
            min_score: Drop results whose `SearchHit.score` is below this (a slider).
            folders: Only return photos at or below these folders.

        Returns:
            Hits, nearest first, all from the active model.

        Raises:
            NoModelError: if no model is available.
            KeyError: if the photo has no codes under the active model (yet).
        """
        index = self.code_index()
        query = self._reader().embedding(photo_id, index.model_id)
        if query is None:
            raise KeyError(
                f"photo {photo_id} is not encoded with model {index.model_id} (yet)"
            )
        return self._search(
            index,
            query,
            k=k,
            max_distance=max_distance,
            min_score=min_score,
            folders=folders,
            exclude=[photo_id],
        )

    def similar_to_file(
        self,
        path: str | os.PathLike[str],
        *,
        k: int = 20,
        max_distance: float | None = None,
        min_score: float | None = None,
        folders: Sequence[Path] | None = None,
    ) -> list[SearchHit]:
        """Photos most similar to any image file (encoded on the fly).

        A file that is itself in the library is excluded from its results.

        Raises:
            NoModelError: if no model is available.
            ImageLoadError: if the file cannot be decoded.
        """
        index = self.code_index()
        meta = self.artifact(index.model_id).metadata
        loaded = load_image(
            path,
            targets=[(meta.input.size, meta.input.resize)],
            max_pixels=self.ingest_options.max_pixels,
        )
        query = self._encode_query(index.model_id, loaded.image)
        itself = self._reader().photo_by_path(Path(path).expanduser().absolute())
        exclude = [itself.id] if itself is not None else []
        return self._search(
            index,
            query,
            k=k,
            max_distance=max_distance,
            min_score=min_score,
            folders=folders,
            exclude=exclude,
        )

    def similar_to_image(
        self,
        image: Image.Image,
        *,
        k: int = 20,
        max_distance: float | None = None,
        min_score: float | None = None,
        folders: Sequence[Path] | None = None,
    ) -> list[SearchHit]:
        """Photos most similar to an in-memory image (a paste from the clipboard).

        Args:
            image: Upright pixels in any Pillow mode.
            k: Most results.
            max_distance: Similarity threshold, as a distance.
            min_score: Similarity threshold, as a score in [0, 1].
            folders: Folder scope.

        Returns:
            Hits, nearest first.
        """
        index = self.code_index()
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        query = self._encode_query(index.model_id, rgb)
        return self._search(
            index,
            query,
            k=k,
            max_distance=max_distance,
            min_score=min_score,
            folders=folders,
            exclude=[],
        )

    def near_duplicates(
        self,
        *,
        max_distance: float | None = None,
        folders: Sequence[Path] | None = None,
        cancel: threading.Event | None = None,
    ) -> Generator[Progress, None, list[DuplicateGroup]]:
        """Groups of near-duplicate photos (a strict threshold; see `duplicates`).

        Args:
            max_distance: Pair threshold in the model's distance; default is strict.
            folders: Only consider photos at or below these folders.
            cancel: Stops early.

        Yields:
            `Progress` of the scan.

        Returns:
            Groups, largest first.
        """
        index = self.code_index()
        reader = self._reader()
        ids, emb = reader.embeddings(index.model_id)
        if folders is not None:
            keep = np.isin(ids, reader.ids_under(folders))
            ids, emb = ids[keep], emb[keep]
        groups = yield from find_near_duplicates(
            index, ids, emb, max_distance=max_distance, cancel=cancel
        )
        paths = reader.paths_of(pid for members, _ in groups for pid in members)
        return [
            DuplicateGroup(
                photo_ids=tuple(PhotoId(p) for p in members if p in paths),
                paths=tuple(paths[PhotoId(p)] for p in members if p in paths),
                max_distance=dist,
            )
            for members, dist in groups
        ]

    def code_index(self) -> CodeIndex:
        """The current snapshot of the active model's codes (rebuilt when stale).

        Raises:
            NoModelError: if no model is available.
        """
        with self._lock:
            index = self._index
            model_id = self._reader().active_model_id()
            if model_id is None:
                raise NoModelError("no model is available")
            fresh = (
                index is not None
                and index.model_id == model_id
                and (
                    index.generation == self._generation
                    or time.monotonic() - self._index_built_at < _INDEX_REFRESH_S
                )
            )
            if index is not None and fresh:
                return index
            meta = self.artifact(model_id).metadata
            index = CodeIndex.load(self._reader(), meta, generation=self._generation)
            self._index, self._index_built_at = index, time.monotonic()
            return index

    def _encode_query(
        self, model_id: str, image: Image.Image
    ) -> npt.NDArray[np.float32]:
        meta = self.artifact(model_id).metadata
        pixels = to_model_input(image, size=meta.input.size, policy=meta.input.resize)
        embedding: npt.NDArray[np.float32] = (
            self.encoder(model_id).encode(pixels[None]).embedding[0]
        )
        return embedding

    def _search(
        self,
        index: CodeIndex,
        query: npt.NDArray[np.float32],
        *,
        k: int,
        max_distance: float | None,
        min_score: float | None,
        folders: Sequence[Path] | None,
        exclude: Sequence[int],
    ) -> list[SearchHit]:
        allowed = None if folders is None else self._reader().ids_under(folders)
        if min_score is not None:
            by_score = index.distance_for_score(min_score)
            max_distance = (
                by_score if max_distance is None else min(max_distance, by_score)
            )
        found = index.search(
            query,
            k,
            max_distance=max_distance,
            allowed_ids=allowed,
            exclude_ids=exclude,
        )
        paths = self._reader().paths_of(pid for pid, _ in found)
        return [
            SearchHit(
                PhotoId(pid),
                paths[PhotoId(pid)],
                dist,
                index.model_id,
                index.score(dist),
            )
            for pid, dist in found
            if PhotoId(pid) in paths  # deleted since the snapshot was built
        ]

    # --- information (any thread) ------------------------------------------------------------------

    def stats(self) -> CatalogStats:
        """Counts for status displays."""
        return self._reader().stats()

    def photo(self, photo_id: PhotoId) -> PhotoRecord | None:
        """One photo's record."""
        return self._reader().photo(photo_id)

    def photo_by_path(self, path: str | os.PathLike[str]) -> PhotoRecord | None:
        """The record of a library file, by path."""
        return self._reader().photo_by_path(Path(path).expanduser().absolute())

    def thumbnail(self, photo_id: PhotoId) -> Path | None:
        """The thumbnail file of a photo, if it has been made."""
        record = self.photo(photo_id)
        if record is None or record.content_key is None:
            return None
        path = thumbnail_path(self.paths.thumbnails_dir, record.content_key)
        return path if path.is_file() else None

    def errors(self, *, limit: int = 100) -> list[tuple[Path, str]]:
        """Files that could not be decoded, with the reason."""
        return self._reader().errors(limit=limit)

    def _reader(self) -> CatalogReader:
        reader: CatalogReader | None = getattr(self._local, "reader", None)
        if reader is None:
            reader = CatalogReader(self.paths.catalog_path)
            self._local.reader = reader
        return reader

    def _bump(self, *, force: bool = False) -> None:
        with self._lock:
            self._generation += 1
            if force:
                self._index = None

    # --- retraining (writer lane) ---------------------------------------------------------------------

    def retrain(
        self,
        *,
        command: TrainerCommand | None = None,
        cancel: threading.Event | None = None,
        switch: bool = True,
    ) -> Generator[Progress, None, ModelRecord]:
        """Train a model on the library's photos in a child process and register it.

        Args:
            command: Builds the trainer's argument list from (image list file, output
                file); default: ``python -m training train``.
            cancel: Stops the trainer (the active model is untouched).
            switch: Start switching to the new model once it is registered.

        Yields:
            `Progress` (phase ``retrain``) from the trainer's JSON-lines output.

        Returns:
            The registered model.

        Raises:
            RetrainError: if the trainer fails or is cancelled.
            ArtifactError: if it produced an invalid model.
        """
        work = self.paths.data_dir / "retrain"
        work.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, list_name = tempfile.mkstemp(prefix="images-", suffix=".txt", dir=work)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for photo in self._reader().photos(status="ok"):
                handle.write(f"{photo.path}\n")
        output = work / f"model-{time.strftime('%Y%m%d-%H%M%S')}.onnx"
        log_path = self.paths.log_dir / "retrain.log"
        try:
            produced = yield from run_trainer(
                Path(list_name),
                output,
                command=command,
                cancel=cancel,
                log_path=log_path,
            )
            record = self._registry.import_artifact(produced, origin="trained")
        finally:
            Path(list_name).unlink(missing_ok=True)
            output.unlink(missing_ok=True)
        if switch:
            self.switch_model(record.model_id)
        return record


def _safe_key(path: Path) -> str | None:
    try:
        return content_key(path)
    except OSError:
        return None


__all__ = [
    "ArtifactError",
    "ImageLoadError",
    "Library",
    "NoModelError",
    "ScanSummary",
]
