"""`LibraryAdapter`: the real `sscq_desktop.library.library.Library` as a `LibraryBackend`.

Translates the library's records (ids, `FolderRecord`, `SearchHit`, `ModelRecord`,
`DuplicateGroup`) into the GUI's values and its jobs into the GUI's generators. Blocking,
like the library; called only inside Tasks. Keeps the GUI working while the library's
API settles: every assumption about it is in this one file.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sscq_desktop.library import retrain_request
from sscq_desktop.library.catalog import CatalogReader
from sscq_desktop.library.library import Library
from sscq_desktop.library.path_text import display_path
from sscq_desktop.library.progress import Progress
from sscq_desktop.library.records import ModelRecord, PhotoId
from sscq_desktop.library.retrainer import RetrainOutcome
from sscq_desktop.library.root_status import folder_problems
from sscq_desktop.ui.library_backend import (
    FailedPhoto,
    FolderState,
    Hit,
    ModelInfo,
    Photo,
    RetrainNote,
    RetrainRequest,
    RetrainResult,
    RetrainUpdate,
    ThumbnailInfo,
)

logger = logging.getLogger(__name__)


class LibraryAdapter:
    """Adapts a `Library` to `LibraryBackend` (see that protocol for each method)."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self._local = threading.local()

    def _reader(self) -> CatalogReader:
        # One SQLite reader per thread: connections must not cross threads.
        reader: CatalogReader | None = getattr(self._local, "reader", None)
        if reader is None:
            reader = CatalogReader(self.library.paths.catalog_path)
            self._local.reader = reader
        return reader

    # -- folders and photos -----------------------------------------------------

    def folders(self) -> Sequence[FolderState]:
        out = []
        reader = self._reader()
        problems = folder_problems(reader)
        for folder in self.library.folders():
            count = reader.count_indexed_under(folder.path)
            problem = problems.get(folder.id)
            if problem is None and folder.offline:
                problem = "could not be read at the last scan"
            if problem is None:
                out.append(FolderState(folder.path, count))
            else:
                out.append(
                    FolderState(
                        folder.path,
                        count,
                        "missing",
                        f"{display_path(folder.path)} is offline: {problem}. Its "
                        "photos are kept and come back without re-indexing; remove "
                        "the folder to forget them.",
                    )
                )
        return out

    def add_folder(self, path: Path) -> None:
        self.library.add_folder(path)

    def remove_folder(self, path: Path) -> None:
        for folder in self.library.folders():
            if folder.path == path:
                self.library.remove_folder(folder.id)
                return
        raise ValueError(f"{path} is not a folder of the library")

    def photos(self) -> Sequence[Photo]:
        roots = [f.path for f in self.library.folders()]
        out = []
        for record in self._reader().photos(status="ok"):
            out.append(
                Photo(
                    photo_id=int(record.id),
                    path=record.path,
                    folder=_root_of(record.path, roots),
                    mtime=record.mtime_ns / 1e9,
                )
            )
        return out

    def thumbnail(self, path: Path) -> ThumbnailInfo:
        status = self.library.thumbnail_status(path)
        return ThumbnailInfo(status.state, status.path, status.reason)

    def render_image(self, path: Path, *, max_side: int) -> npt.NDArray[np.uint8]:
        return self.library.render_image(path, max_side=max_side).pixels

    def failed_count(self) -> int:
        return self.library.count_errors()

    def failed_photos(self, *, limit: int) -> Sequence[FailedPhoto]:
        return [FailedPhoto(p, e) for p, e in self.library.errors(limit=limit)]

    def retry_failed(self) -> int:
        return self.library.retry_failed()

    def ingest(
        self, *, cancel: threading.Event, pause: threading.Event
    ) -> Iterator[Progress]:
        yield from self.library.update(cancel=cancel, pause=pause)

    def watch(
        self, *, cancel: threading.Event, pause: threading.Event
    ) -> Iterator[Progress]:
        yield from self.library.watch(cancel=cancel, pause=pause)

    # -- searches ---------------------------------------------------------------

    def similar_to_photo(
        self,
        photo_id: int,
        *,
        k: int,
        threshold: float,
        folders: Sequence[Path] | None,
    ) -> Sequence[Hit]:
        hits = self.library.similar_to_photo(
            PhotoId(photo_id), k=k, min_score=threshold or None, folders=folders
        )
        return self._hits(hits)

    def similar_to_file(
        self,
        path: Path,
        *,
        k: int,
        threshold: float,
        folders: Sequence[Path] | None,
    ) -> Sequence[Hit]:
        hits = self.library.similar_to_file(
            path, k=k, min_score=threshold or None, folders=folders
        )
        return self._hits(hits)

    def _hits(self, hits: Sequence[Any]) -> list[Hit]:
        roots = [f.path for f in self.library.folders()]
        return [
            Hit(
                photo_id=int(h.photo_id),
                path=h.path,
                folder=_root_of(h.path, roots),
                distance=float(h.distance),
                score=float(getattr(h, "score", 0.0)),
            )
            for h in hits
        ]

    def near_duplicates(self, *, threshold: float) -> Sequence[Sequence[Photo]]:
        index = self.library.code_index()
        max_distance = index.distance_for_score(threshold)
        job = self.library.near_duplicates(max_distance=max_distance)
        while True:
            try:
                next(job)
            except StopIteration as stop:
                groups = stop.value
                break
        roots = [f.path for f in self.library.folders()]
        return [
            [
                Photo(int(pid), path, _root_of(path, roots), _mtime(path))
                for pid, path in zip(g.photo_ids, g.paths, strict=True)
            ]
            for g in groups
        ]

    # -- models -----------------------------------------------------------------

    def active_model(self) -> ModelInfo:
        model_id = self.library.active_model_id
        for record in self.library.models():
            if record.model_id == model_id:
                return _model_info(record)
        raise LookupError("no model is active: the default model is missing")

    def models(self) -> Sequence[ModelInfo]:
        return [_model_info(r) for r in self.library.models()]

    def provider_name(self) -> str:
        model_id = self.library.active_model_id
        if model_id is None:
            return ""
        name = getattr(self.library.encoder(model_id), "provider_name", "CPU")
        return str(name)

    def switch_model(
        self, model_id: str, *, cancel: threading.Event, pause: threading.Event
    ) -> Iterator[Progress]:
        if self.library.switch_model(model_id):
            return
        # Pending: ingest re-encodes with the new model, then switches atomically.
        yield from self.library.ingest(cancel=cancel, pause=pause)

    def retrain(
        self, request: RetrainRequest, *, cancel: threading.Event
    ) -> Iterator[RetrainUpdate]:
        # The library builds the trainer command, registers and checks the model and
        # decides whether to use it; this only translates the request and the outcome.
        # It switches nothing here (switch=False): the window switches on its writer
        # lane (`ModelSwitcher`), so that no switch is written beside another.
        previous = self.library.active_model_id
        job = self.library.retrain(
            retrain_request.RetrainRequest(
                bits=request.code_bits,
                minutes=request.time_budget_s / 60.0,
                device=request.device,
                max_steps=request.max_steps,
                max_photos=request.max_photos,
            ),
            cancel=cancel,
            switch=False,
        )
        while True:
            try:
                progress = next(job)
            except StopIteration as stop:
                outcome: RetrainOutcome = stop.value
                break
            event = progress.event  # None: the library's own note
            yield RetrainNote(progress.message) if event is None else event
        check = outcome.check
        yield RetrainResult(
            _model_info(outcome.record),
            better=check.better,
            checked=check.n_photos > 0,
            summary=check.summary() if check.n_photos else "",
            reason=check.reason,
            previous_model=previous,
        )


def _model_info(record: ModelRecord) -> ModelInfo:
    nbits = round(record.M * math.log2(record.K)) if record.K > 1 else 0
    return ModelInfo(record.model_id, nbits, record.source == "default")


def _root_of(path: Path, roots: Sequence[Path]) -> Path:
    best: Path | None = None
    for root in roots:
        if path.is_relative_to(root) and (
            best is None or len(root.parts) > len(best.parts)
        ):
            best = root
    return best if best is not None else path.parent


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
