"""`Library`: the one object the GUI and the CLI use to index, watch and search photos.

A facade over the parts that do the work, split by role: `Indexer` (scan, ingest,
watch), `Searcher` (similar photos, near-duplicates), `ModelManager` (registered,
active and pending models) and `Retrainer` (the trainer child process).

Threads (ARCHITECTURE.md): the job methods (`scan`, `ingest`, `update`, `watch`,
`near_duplicates`, `retrain`) are generators yielding `Progress`; drive them from one
worker thread, the writer lane. While `watch` runs, the writes (`add_folder`,
`remove_folder`, `retry_failed`, `switch_model`, `scan`, `ingest`, `update`) may be
called from any other thread: they are handed to the watch loop, which runs them
between batches (`WriterLane`), so the catalog keeps one writer. Searches
(`similar_to_photo`, `similar_to_file`, `similar_to_image`) and the read methods are
thread-safe and may run on any thread (never the GUI thread: they may load the code
index or run the encoder). Each search takes one `CodeIndex` snapshot, so a model
switch never mixes models in one answer. The GUI and the CLI use this class and the
records of `sscq_desktop.library.records` directly: there is no second vocabulary.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Generator, Iterable, Sequence
from pathlib import Path
from types import TracebackType

import numpy as np
import numpy.typing as npt

from sscq_desktop.library.catalog.catalog import Catalog
from sscq_desktop.library.catalog.reader import CatalogStats
from sscq_desktop.library.catalog.thread_readers import ThreadReaders
from sscq_desktop.library.folders.root_status import folder_overviews
from sscq_desktop.library.folders.subfolders import subfolder_overviews
from sscq_desktop.library.folders.trash import TrashError, move_to_trash
from sscq_desktop.library.images.image_loader import ImageLoadError
from sscq_desktop.library.images.renderer import (
    RenderedImage,
    Renderer,
    ThumbnailStatus,
)
from sscq_desktop.library.images.thumbnails import THUMBNAIL_SIZE, remove_thumbnail
from sscq_desktop.library.ingest.indexer import Indexer, ScanSummary
from sscq_desktop.library.ingest.ingest import IngestOptions, IngestSummary
from sscq_desktop.library.models.model_manager import (
    EncoderFactory,
    ModelManager,
    NoModelError,
    default_encoder_factory,
)
from sscq_desktop.library.progress import Progress
from sscq_desktop.library.records import (
    DuplicateGroup,
    FolderId,
    FolderOverview,
    FolderRecord,
    ImageStatus,
    ModelRecord,
    PhotoId,
    PhotoRecord,
    SearchHit,
    SimilarityBand,
    SubfolderOverview,
    TrashOutcome,
)
from sscq_desktop.library.retrain.retrain_request import RetrainRequest
from sscq_desktop.library.retrain.retrainer import (
    Retrainer,
    RetrainOutcome,
    TrainerCommand,
)
from sscq_desktop.library.search.code_index import CodeIndex
from sscq_desktop.library.search.duplicates import (
    DEFAULT_LEVEL,
    duplicate_level,
    near_duplicate_groups,
)
from sscq_desktop.library.search.searcher import Searcher
from sscq_desktop.model.artifact import ArtifactError, ModelArtifact
from sscq_desktop.model.encoder import Embedder
from sscq_desktop.paths import AppPaths, app_paths


class Library:
    """The photo library: catalog, models, indexing jobs, searches and retraining.

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
        self._readers = ThreadReaders(self.paths.catalog_path)
        options = ingest_options or IngestOptions()
        self._models = ModelManager(
            self._catalog,
            self.paths,
            encoder_factory=encoder_factory,
            on_switch=lambda: self._searcher.bump(force=True),
        )
        self._renderer = Renderer(
            thumbnails_dir=self.paths.thumbnails_dir,
            max_pixels=lambda: self._indexer.options.max_pixels,
            thumbnail_size=lambda: (
                self._indexer.options.thumbnail_size or THUMBNAIL_SIZE
            ),
        )
        self._searcher = Searcher(self._readers, self._models, renderer=self._renderer)
        self._indexer = Indexer(
            self._catalog,
            self.paths,
            self._models,
            options=options,
            bump=self._searcher.bump,
            settled=lambda: self._searcher.bump(force=True),
        )
        self._retrainer = Retrainer(
            self._readers, self._models, self.paths, self._renderer
        )

    # --- lifecycle ----------------------------------------------------------------------

    def close(self) -> None:
        """Close the catalog and stop the display decoders.

        Readers of other threads close when their thread ends.
        """
        self._renderer.close()
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

    @property
    def ingest_options(self) -> IngestOptions:
        """Tuning of the ingest pipeline (and the decoding cap of query files)."""
        return self._indexer.options

    @ingest_options.setter
    def ingest_options(self, options: IngestOptions) -> None:
        self._indexer.options = options

    # --- folders --------------------------------------------------------------------------

    def folders(self) -> list[FolderRecord]:
        """The library root folders (`FolderRecord.offline`: as the last job saw it)."""
        return self._catalog.reader.folders()

    def folder_overviews(self) -> list[FolderOverview]:
        """The root folders with their indexed photo counts and whether they are online.

        Looks at each root on disk now (a drive unplugged since the last scan shows as
        offline at once); any thread but the GUI's (a stalled network share may block).
        """
        return folder_overviews(self._readers.get())

    def subfolders(
        self, photos: Iterable[PhotoRecord] | None = None
    ) -> list[SubfolderOverview]:
        """The folders below the roots that hold indexed photos, each with its count.

        From the catalog's photo paths in one pass (`subfolder_overviews`), never from
        the disk: about 0.1 s for 100k photos given their records, 1.2 s reading them
        too (tests/benchmarks/bench_subfolders.py, a busy 2-core machine). Any thread
        but the GUI's.

        Args:
            photos: The indexed photos to count, when the caller has read them already
                (the window's snapshot: the counts then agree with its gallery);
                default: read from the catalog now.

        Returns:
            The folders in tree order (by root, parent before child, siblings by name).
        """
        reader = self._readers.get()
        roots = {f.id: f.path for f in reader.folders()}
        if photos is None:
            photos = reader.photos(status="ok")
        return subfolder_overviews(roots, photos)

    def add_folder(self, path: str | os.PathLike[str]) -> FolderRecord:
        """Add a folder to the library (run `update` or `scan` to index it).

        While `watch` runs, its loop writes the folder, then scans it alone and
        watches it; no other folder is walked again.

        Raises:
            NotADirectoryError: if `path` is not a folder.
        """
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise NotADirectoryError(f"not a folder: {folder}")
        return self._indexer.lane.call(lambda: self._catalog.add_folder(folder))

    def remove_folder(self, folder_id: FolderId) -> None:
        """Forget a folder and its photos (the files are not touched)."""

        def remove() -> None:
            for key in self._catalog.remove_folder(folder_id):
                remove_thumbnail(self.paths.thumbnails_dir, key)
            self._searcher.bump()

        self._indexer.lane.call(remove)

    # --- models (see ModelManager) ------------------------------------------------------------

    def models(self) -> list[ModelRecord]:
        """Registered models."""
        return self._models.models()

    def active_model(self) -> ModelRecord | None:
        """The record of the model answering searches; None when there is none."""
        model_id = self._models.active_model_id
        return None if model_id is None else self._models.model(model_id)

    def provider_name(self) -> str:
        """Where the active model runs: ``"CPU"`` or ``"CUDA"``; "" without a model.

        Loads the active model's encoder if it is not loaded yet (off the GUI thread).
        """
        model_id = self._models.active_model_id
        if model_id is None:
            return ""
        # An encoder that does not say (a test's fake) runs on the CPU.
        return str(getattr(self._models.encoder(model_id), "provider_name", "CPU"))

    @property
    def active_model_id(self) -> str | None:
        """The model answering searches."""
        return self._models.active_model_id

    @property
    def pending_model_id(self) -> str | None:
        """The model being switched to, while the library is re-encoded."""
        return self._models.pending_model_id

    @property
    def default_model_id(self) -> str | None:
        """The shipped default model, when this installation has one."""
        return self._models.default_model_id

    def import_model(self, path: str | os.PathLike[str]) -> ModelRecord:
        """Validate, copy and register a model artifact (it does not become active).

        Raises:
            ArtifactError: if the file is not a usable model.
        """
        return self._models.import_model(Path(path))

    def switch_model(self, model_id: str) -> bool:
        """Make `model_id` active, now or once `ingest` has re-encoded the library.

        While `watch` runs, its loop makes the switch and re-encodes the library.

        Once it is active, only its codes and the previous active model's are kept.

        Returns:
            True if the switch is already done.

        Raises:
            ArtifactError: if the model is unknown or its file is invalid.
        """
        return self._indexer.lane.call(lambda: self._switched(model_id))

    def use_default_model(self) -> bool:
        """Go back to the shipped default model (see `switch_model`).

        Raises:
            NoModelError: if this installation has no default model.
        """
        return self._indexer.lane.call(lambda: self._switched(None))

    def artifact(self, model_id: str) -> ModelArtifact:
        """The validated artifact of a registered model (cached)."""
        return self._models.artifact(model_id)

    def encoder(self, model_id: str) -> Embedder:
        """The loaded encoder of a registered model; kept warm for the library's life."""
        return self._models.encoder(model_id)

    # --- indexing jobs (writer lane; see Indexer) ------------------------------------------------

    def scan(
        self, *, cancel: threading.Event | None = None, settle_s: float = 0.0
    ) -> Generator[Progress, None, ScanSummary]:
        """Reconcile the catalog with the disk; see `Indexer.scan`."""
        indexer = self._indexer
        return indexer.lane.run(lambda: indexer.scan(cancel=cancel, settle_s=settle_s))

    def ingest(
        self,
        *,
        cancel: threading.Event | None = None,
        pause: threading.Event | None = None,
    ) -> Generator[Progress, None, IngestSummary]:
        """Encode every photo lacking codes, finish a pending switch; see `Indexer.ingest`."""
        indexer = self._indexer
        return indexer.lane.run(lambda: indexer.ingest(cancel=cancel, pause=pause))

    def update(
        self,
        *,
        cancel: threading.Event | None = None,
        pause: threading.Event | None = None,
    ) -> Generator[Progress, None, IngestSummary]:
        """`scan` then `ingest`: bring the library up to date."""
        indexer = self._indexer
        return indexer.lane.run(lambda: indexer.update(cancel=cancel, pause=pause))

    def retry_failed(self) -> int:
        """Queue every failed file for another try; returns how many.

        A running `watch` encodes them; otherwise run `ingest`.
        """
        return self._indexer.lane.call(self._indexer.retry_failed)

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
        """Keep the library up to date until `cancel` is set; see `Indexer.watch`."""
        return self._indexer.watch(
            cancel=cancel, pause=pause, debounce_s=debounce_s, settle_s=settle_s,
            force_polling=force_polling, polling_interval_s=polling_interval_s,
            initial_update=initial_update,
        )  # fmt: skip

    # --- searches (any thread; see Searcher) -------------------------------------------------------

    def similar_to_photo(
        self,
        photo_id: PhotoId,
        *,
        k: int = 20,
        max_distance: float | None = None,
        min_score: float | None = None,
        min_band: SimilarityBand | None = None,
        folders: Sequence[Path] | None = None,
    ) -> list[SearchHit]:
        """Photos most similar to a library photo; see `Searcher.similar_to_photo`."""
        return self._searcher.similar_to_photo(
            photo_id, k=k, max_distance=max_distance, min_score=min_score,
            min_band=min_band, folders=folders,
        )  # fmt: skip

    def similar_to_file(
        self,
        path: str | os.PathLike[str],
        *,
        k: int = 20,
        max_distance: float | None = None,
        min_score: float | None = None,
        min_band: SimilarityBand | None = None,
        folders: Sequence[Path] | None = None,
    ) -> list[SearchHit]:
        """Photos most similar to any image file; see `Searcher.similar_to_file`."""
        return self._searcher.similar_to_file(
            path, k=k, max_distance=max_distance, min_score=min_score,
            min_band=min_band, folders=folders,
        )  # fmt: skip

    def similar_to_image(
        self,
        pixels: npt.NDArray[np.uint8],
        *,
        k: int = 20,
        max_distance: float | None = None,
        min_score: float | None = None,
        min_band: SimilarityBand | None = None,
        folders: Sequence[Path] | None = None,
    ) -> list[SearchHit]:
        """Photos most similar to decoded pixels; see `Searcher.similar_to_image`.

        Shape:
            pixels: ``(H, W, 3)`` uint8 RGB.
        """
        return self._searcher.similar_to_image(
            pixels, k=k, max_distance=max_distance, min_score=min_score,
            min_band=min_band, folders=folders,
        )  # fmt: skip

    def near_duplicates(
        self,
        *,
        level: str = DEFAULT_LEVEL,
        folders: Sequence[Path] | None = None,
        cancel: threading.Event | None = None,
    ) -> Generator[Progress, None, list[DuplicateGroup]]:
        """Groups of near-duplicate photos, the copy to keep first in each.

        See `duplicates.near_duplicate_groups`: perceptual hashes and the active
        model's stored embeddings; groups never chain. Any thread but the GUI's.

        Args:
            level: A `DuplicateLevel` key: ``"exact"``, ``"edited"`` or ``"similar"``.
            folders: Only consider photos at or below these folders.
            cancel: Stops early.

        Raises:
            NoModelError: if no model is available.
            ValueError: if `level` is not a level's key.
        """
        rule = duplicate_level(level)
        reader = self._readers.get()
        model_id = reader.active_model_id()
        if model_id is None:
            raise NoModelError("no model is available")
        return near_duplicate_groups(
            reader,
            model_id,
            rule,
            folders=folders,
            thumbnails_dir=self.paths.thumbnails_dir,
            cancel=cancel,
        )

    def move_to_trash(self, photo_ids: Sequence[PhotoId]) -> TrashOutcome:
        """Move photos to the desktop's trash; the catalog forgets those moved at once.

        A file that cannot be trashed stays where it is and in the catalog, with the
        reason in `TrashOutcome.failed`. Any thread but the GUI's (the forgetting
        goes through the writer lane, like every write).
        """
        reader = self._readers.get()
        trashed: list[PhotoId] = []
        failed: list[tuple[Path, str]] = []
        freed = 0
        for pid in photo_ids:
            photo = reader.photo(pid)
            if photo is None:
                continue
            try:
                move_to_trash(photo.path)
            except TrashError as exc:
                failed.append((photo.path, str(exc)))
                continue
            trashed.append(pid)
            freed += photo.size

        def forget() -> None:
            for key in self._catalog.forget_photos(trashed):
                remove_thumbnail(self.paths.thumbnails_dir, key)
            self._searcher.bump()

        if trashed:
            self._indexer.lane.call(forget)
        return TrashOutcome(tuple(trashed), freed, tuple(failed))

    def code_index(self) -> CodeIndex:
        """The current snapshot of the active model's codes (rebuilt when stale).

        Raises:
            NoModelError: if no model is available.
        """
        return self._searcher.code_index()

    # --- information (any thread) ------------------------------------------------------------------

    def stats(self) -> CatalogStats:
        """Counts for status displays."""
        return self._readers.get().stats()

    def photo(self, photo_id: PhotoId) -> PhotoRecord | None:
        """One photo's record."""
        return self._readers.get().photo(photo_id)

    def photos(self, *, status: ImageStatus | None = "ok") -> list[PhotoRecord]:
        """Every photo with this status (default: indexed ones; None: all), by id."""
        return self._readers.get().photos(status=status)

    def photo_by_path(self, path: str | os.PathLike[str]) -> PhotoRecord | None:
        """The record of a library file, by path."""
        return self._readers.get().photo_by_path(Path(path).expanduser().absolute())

    def thumbnail_status(self, path: str | os.PathLike[str]) -> ThumbnailStatus:
        """The thumbnail a display shows for a file: ready, pending, failed or unknown.

        Never the GUI's job to decode a photo: a thumbnail lost from the cache is made
        again here (see `Renderer.thumbnail`), so this may decode; call it off the GUI
        thread.
        """
        return self._renderer.thumbnail(self.photo_by_path(path))

    def render_image(
        self, path: str | os.PathLike[str], *, max_side: int
    ) -> RenderedImage:
        """Decode any image file for display (a preview, a query from outside).

        With ingest's safety: pixel cap, decode budget, in a worker process killed
        past its timeout; see `Renderer.render`.

        Raises:
            ImageLoadError: if the file cannot be decoded, or its decoder hangs or
                crashes.
        """
        return self._renderer.render(
            Path(path).expanduser().absolute(), max_side=max_side
        )

    def count_errors(self) -> int:
        """How many files failed to decode (cheaper than `stats`)."""
        return self._readers.get().count_errors()

    def errors(self, *, limit: int = 100) -> list[tuple[Path, str]]:
        """Files that could not be decoded, with the reason."""
        return self._readers.get().errors(limit=limit)

    # --- retraining (writer lane; see Retrainer) ------------------------------------------------------

    def retrain(
        self,
        request: RetrainRequest | None = None,
        *,
        command: TrainerCommand | None = None,
        cancel: threading.Event | None = None,
        switch: bool = True,
    ) -> Generator[Progress, None, RetrainOutcome]:
        """Train a model on the library's photos in a child process, register and check it.

        Where a retrained model is registered and checked, and where it is decided
        whether to use it (`RetrainOutcome.check.better`), for the GUI and the CLI. The
        CLI lets it start the switch (``switch=True``; `ingest` finishes it). The GUI
        passes ``switch=False`` (then it writes only the registration, beside the
        writer lane) and switches to a better model with `switch_model`, as Settings
        does.
        Default request: `RetrainRequest()`; the arguments, progress, outcome and
        errors: see `Retrainer.retrain`.
        """
        return self._retrainer.retrain(
            request or RetrainRequest(), command=command, cancel=cancel, switch=switch
        )

    def _switched(self, model_id: str | None) -> bool:
        """Switch (None: to the default model); a running `watch` re-encodes."""
        if model_id is None:
            done = self._models.use_default_model()
        else:
            done = self._models.switch_model(model_id)
        if not done:
            self._indexer.request_ingest()
        return done


__all__ = [
    "ArtifactError",
    "EncoderFactory",
    "ImageLoadError",
    "Library",
    "NoModelError",
    "ScanSummary",
    "default_encoder_factory",
]
