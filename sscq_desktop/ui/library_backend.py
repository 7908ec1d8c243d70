"""What the GUI needs from the library: the `LibraryBackend` protocol and its value shapes.

The GUI is written against this seam, not against `sscq_desktop.library` directly, so it
can be tested with an in-memory fake and survives the library's API moving. Every method
may block (disk, SQL, inference): the GUI only ever calls them inside a `Task`.
Structural protocols only; nothing here runs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

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

    def register_model(self, path: Path) -> ModelInfo:
        """Validate and copy a model artifact into the registry (not yet active)."""
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
    ) -> Iterator[Mapping[str, Any]]:
        """Run the trainer as a child process and yield its JSON-lines events.

        Events: ``start``, ``step`` (``step``, ``total_steps``, ``losses``, ``eta_s``,
        ``images_per_s``, ``codeword_usage``), ``epoch_end``, ``done`` (``artifact``: the
        exported model path). A crash raises with the trainer's message; a cancel kills the
        child and returns without ``done``.
        """
        ...
