"""What the GUI needs from the library: the `LibraryBackend` protocol and its value shapes.

The GUI is written against this seam, not against `sscq_desktop.library` directly, so it
can be tested with an in-memory fake and survives the library's API moving. Every method
may block (disk, SQL, inference): the GUI only ever calls them inside a `Task`.
Structural protocols only; nothing here runs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from sscq_desktop.model.trainer_events import TrainerEvent

CodeBits = Literal[16, 32, 64]
TrainDevice = Literal["auto", "cpu", "cuda"]


class ProgressLike(Protocol):
    """One progress report of a long job (scan, ingest, re-encode, watch)."""

    @property
    def phase(self) -> str:
        """``"scan"``, ``"ingest"``, ...; ``"watch"``: the folders are watched, idle."""
        ...

    @property
    def done(self) -> int: ...
    @property
    def total(self) -> int: ...
    @property
    def rate(self) -> float:
        """Items per second."""
        ...

    @property
    def eta_s(self) -> float | None: ...


@dataclass(frozen=True)
class Photo:
    """A photo in the catalog, as the gallery shows it.

    Attributes:
        photo_id: Catalog id.
        path: Absolute path.
        folder: The watched folder it belongs to.
        mtime: Modification (or capture) time, seconds since the epoch.
    """

    photo_id: int
    path: Path
    folder: Path
    mtime: float


@dataclass(frozen=True)
class Hit:
    """One search result.

    Attributes:
        photo_id: The matching photo.
        path: Its path.
        folder: Its watched folder.
        distance: ADC distance to the query (smaller is closer).
        score: Similarity in [0, 1], higher is closer; what the threshold slider filters.
    """

    photo_id: int
    path: Path
    folder: Path
    distance: float
    score: float


@dataclass(frozen=True)
class ThumbnailInfo:
    """Where a photo's thumbnail stands; the GUI shows only thumbnails the library made.

    Attributes:
        state: ``"ready"`` (`path` is the cached thumbnail, a small image file written
            by the library: the only image files the GUI reads), ``"pending"`` (not
            made yet: ingest makes it), ``"failed"`` (the photo cannot be read;
            `reason` says why) or ``"unknown"`` (not a photo of the library).
        path: The thumbnail file when ready.
        reason: Why there is none, for display.
    """

    state: Literal["ready", "pending", "failed", "unknown"]
    path: Path | None = None
    reason: str | None = None


@dataclass(frozen=True)
class FolderState:
    """A watched folder and its state.

    Attributes:
        path: The folder.
        photo_count: Photos indexed in it.
        status: ``"ok"``, ``"indexing"``, ``"missing"`` (offline: gone from disk,
            unmounted or unreadable; its photos are kept) or ``"error"``.
        error: Why it is not ok, for display.
    """

    path: Path
    photo_count: int
    status: str = "ok"
    error: str | None = None


@dataclass(frozen=True)
class FailedPhoto:
    """A photo that could not be indexed (broken, unreadable, too slow or crashing).

    Attributes:
        path: Absolute path.
        reason: Why, as the library recorded it, for display.
    """

    path: Path
    reason: str


@dataclass(frozen=True)
class ModelInfo:
    """A registered model.

    Attributes:
        model_id: The artifact's model id.
        nbits: Code length in bits.
        is_default: Whether this is the shipped default model.
    """

    model_id: str
    nbits: int
    is_default: bool = False


@dataclass(frozen=True)
class RetrainRequest:
    """What the retrain dialog asks the trainer for."""

    code_bits: CodeBits = 32
    time_budget_s: float = 600.0
    device: TrainDevice = "auto"
    max_photos: int | None = None
    max_steps: int | None = None  # tests and smoke runs; None lets the budget decide


@dataclass(frozen=True)
class RetrainNote:
    """The library's own remark during a retrain (how it trains and why; the check)."""

    message: str


@dataclass(frozen=True)
class RetrainResult:
    """The end of a retrain: the model the library registered and what it decided.

    The library decides whether to use the new model but switches nothing: when it is
    ``better``, the window switches to it on its writer lane, as to a model chosen in
    Settings.

    Attributes:
        model: The new model, registered (Settings can switch to it by hand).
        better: The library's check says to use it: it proved better than the model
            in use, or there was no model in use (or none that works).
        checked: The check ran; False when it could not (the library is too small to
            hold photos out of training, say): `reason` says why.
        summary: Both models' figures on photos held out of training, in words; ""
            when it was not checked.
        reason: Why it is, or is not, better; or why it could not be checked.
        previous_model: The model in use when the retrain started; None if none.
    """

    model: ModelInfo
    better: bool
    checked: bool
    summary: str
    reason: str
    previous_model: str | None


RetrainUpdate = TrainerEvent | RetrainNote | RetrainResult
"""What `LibraryBackend.retrain` yields."""


class LibraryBackend(Protocol):
    """The library facade as the GUI uses it (blocking calls, run inside Tasks).

    Long jobs are generators that yield progress and honour `cancel` and `pause`
    (`threading.Event`s) between batches.
    """

    def folders(self) -> Sequence[FolderState]: ...
    def add_folder(self, path: Path) -> None: ...
    def remove_folder(self, path: Path) -> None: ...
    def photos(self) -> Sequence[Photo]:
        """Every indexed photo (any order)."""
        ...

    def thumbnail(self, path: Path) -> ThumbnailInfo:
        """The cached thumbnail of a photo (made again by the library if it was lost)."""
        ...

    def render_image(self, path: Path, *, max_side: int) -> npt.NDArray[np.uint8]:
        """Any image file decoded by the library for display, fitted in `max_side`.

        For the preview and for query images from outside the library: the library
        decodes with its pixel cap, decode budget and timeout, never the GUI.

        Shape:
            ``(H, W, 3)`` uint8 RGB, C-contiguous.

        Raises:
            Exception: (the library's ``ImageLoadError``) with a readable reason.
        """
        ...

    def failed_count(self) -> int:
        """How many photos could not be indexed (every refresh asks: keep it cheap)."""
        ...

    def failed_photos(self, *, limit: int) -> Sequence[FailedPhoto]:
        """At most `limit` photos that could not be indexed, with the reason, by path."""
        ...

    def retry_failed(self) -> int:
        """Queue every failed photo for another try (writer lane); returns how many.

        The next `ingest` or `watch` tries them again.
        """
        ...

    def ingest(
        self, *, cancel: threading.Event, pause: threading.Event
    ) -> Iterator[ProgressLike]:
        """Scan the folders and encode new or changed photos."""
        ...

    def watch(
        self, *, cancel: threading.Event, pause: threading.Event
    ) -> Iterator[ProgressLike]:
        """Bring the library up to date, then apply folder changes until `cancel` is set.

        Yields the progress of each scan and ingest, and a ``"watch"`` report when the
        folders are watched (``done == 0``) and after each batch of changes applied
        (``done`` counts the batches). Falls back to polling where watching fails.
        """
        ...

    def similar_to_photo(
        self,
        photo_id: int,
        *,
        k: int,
        threshold: float,
        folders: Sequence[Path] | None,
    ) -> Sequence[Hit]:
        """Nearest photos to a catalog photo (itself excluded), best first."""
        ...

    def similar_to_file(
        self,
        path: Path,
        *,
        k: int,
        threshold: float,
        folders: Sequence[Path] | None,
    ) -> Sequence[Hit]:
        """Nearest photos to any image file (encoded on the fly), best first."""
        ...

    def near_duplicates(self, *, threshold: float) -> Sequence[Sequence[Photo]]:
        """Groups of near-duplicate photos (strict: `threshold` is a score in [0, 1])."""
        ...

    def active_model(self) -> ModelInfo: ...
    def models(self) -> Sequence[ModelInfo]: ...
    def provider_name(self) -> str:
        """Execution provider of the active encoder: ``"CPU"`` or ``"CUDA"``."""
        ...

    def switch_model(
        self, model_id: str, *, cancel: threading.Event, pause: threading.Event
    ) -> Iterator[ProgressLike]:
        """Re-encode the library with `model_id` in the background, then make it active.

        The old model answers queries until the last photo is encoded; a cancel leaves it
        active.
        """
        ...

    def retrain(
        self, request: RetrainRequest, *, cancel: threading.Event
    ) -> Iterator[RetrainUpdate]:
        """Train a model on the library's photos in a child process; register, check it.

        Yields `RetrainNote`s and the trainer's events as they come, then one
        `RetrainResult`: the registered model, and whether the library's check found
        it better (the caller then switches to it with `switch_model`, on the writer
        lane). A failed training raises with the trainer's message; a cancel stops the
        child, or the check, and raises or returns without a result. The active model
        is untouched either way.
        """
        ...
