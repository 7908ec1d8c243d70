"""Typed ids and frozen records that the library hands to its callers (GUI, CLI).

Plain data only: no SQL, no file access. The catalog builds these from rows; the search
service builds `SearchHit`s from its scan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Literal, NewType

PhotoId = NewType("PhotoId", int)
"""Row id of an image in the catalog; stable across moves and renames."""

FolderId = NewType("FolderId", int)
"""Row id of a library root folder in the catalog."""

ImageStatus = Literal["pending", "ok", "error"]
"""``pending``: not decoded yet (new or changed); ``ok``: decoded; ``error``: see ``error``."""

ModelSource = Literal["default", "imported", "trained"]
"""Where a registered model came from."""


@dataclass(frozen=True)
class FolderRecord:
    """A library root folder.

    Attributes:
        id: Catalog id.
        path: Absolute path of the folder.
        offline_since: When the folder was last found unreadable (gone, unmounted,
            permission denied), as ISO text; None while it is online. An offline
            folder's photos stay in the catalog until the user removes the folder.
    """

    id: FolderId
    path: Path
    offline_since: str | None = None

    @property
    def offline(self) -> bool:
        """Whether the folder could not be read at the last look."""
        return self.offline_since is not None


@dataclass(frozen=True)
class FolderOverview:
    """A library root folder as a display lists it: its photos and whether it is online.

    Attributes:
        id: Catalog id.
        path: Absolute path of the folder.
        photo_count: Photos indexed at or below it (read fine; failed ones excluded).
        offline_reason: Why it cannot be read now, a phrase to follow its name ("not
            found (unplugged, ...)", "cannot be read (...)"); None while it is online.
            Its photos are kept.
    """

    id: FolderId
    path: Path
    photo_count: int
    offline_reason: str | None = None

    @property
    def offline(self) -> bool:
        """Whether the folder cannot be read now (its photos stay in the library)."""
        return self.offline_reason is not None


@dataclass(frozen=True)
class SubfolderOverview:
    """A folder below a library root that holds indexed photos, directly or below.

    Attributes:
        root_id: The root folder it lies in.
        path: Absolute path of the folder.
        photo_count: Photos indexed at or below it (read fine; failed ones excluded).
    """

    root_id: FolderId
    path: Path
    photo_count: int


@dataclass(frozen=True)
class PhotoRecord:
    """One image file known to the catalog.

    Attributes:
        id: Catalog id.
        folder_id: The library root folder that contains it.
        path: Absolute path.
        size: File size in bytes.
        mtime_ns: Modification time in nanoseconds.
        content_key: Cheap content identity (see `content_key`), None until first read.
        width: Upright width in pixels, None until decoded.
        height: Upright height in pixels, None until decoded.
        taken_at: EXIF ``DateTimeOriginal`` as ISO text, if any.
        status: Decoding status.
        error: Why decoding failed, when ``status == "error"``.
    """

    id: PhotoId
    folder_id: FolderId
    path: Path
    size: int
    mtime_ns: int
    content_key: str | None
    width: int | None
    height: int | None
    taken_at: str | None
    status: ImageStatus
    error: str | None


@dataclass(frozen=True)
class ModelRecord:
    """A model registered in the catalog.

    Attributes:
        model_id: The artifact's ``model_id``.
        path: Where its ONNX file lives.
        source: ``default``, ``imported`` or ``trained``.
        registered_at: ISO timestamp of registration.
        M: Number of codebooks.
        K: Codewords per codebook.
        L: Sub-vector dimension.
    """

    model_id: str
    path: Path
    source: ModelSource
    registered_at: str
    M: int
    K: int
    L: int

    @property
    def nbits(self) -> int:
        """Code length per photo in bits: ``M * log2(K)`` (0 for a degenerate K)."""
        return round(self.M * math.log2(self.K)) if self.K > 1 else 0

    @property
    def is_default(self) -> bool:
        """Whether this is the model shipped with the app."""
        return self.source == "default"

    @property
    def display_name(self) -> str:
        """The name a person reads, e.g. "Trained on your photos - 30 Nov 2026, 32 bits".

        The id stays internal (logs, the CLI's ``--model``); two models trained the same
        day differ by `registered_on`'s time, which the settings list adds when needed.
        """
        if self.is_default:
            return f"Built-in model, {self.nbits} bits"
        what = (
            "Trained on your photos" if self.source == "trained" else "Imported model"
        )
        day = self.registered_on
        when = f" - {day.day} {day:%b %Y}" if day is not None else ""
        return f"{what}{when}, {self.nbits} bits"

    @property
    def registered_on(self) -> datetime | None:
        """`registered_at` as a local date and time; None if it is not an ISO time."""
        try:
            moment = datetime.fromisoformat(self.registered_at)
        except ValueError:
            return None
        return moment.astimezone() if moment.tzinfo is not None else moment


class SimilarityBand(Enum):
    """How close a search result is, in words; members run from closest to farthest.

    The value is the label the GUI and the CLI show. What each band holds is defined and
    measured in `sscq_desktop.library.search.similarity_scale`.
    """

    COPY = "Copy"
    NEAR_COPY = "Near copy"
    VERY_SIMILAR = "Very similar"
    RELATED = "Related"

    @property
    def slug(self) -> str:
        """The command-line spelling: ``"near-copy"``."""
        return self.name.lower().replace("_", "-")


@dataclass(frozen=True)
class SearchHit:
    """One search result.

    Attributes:
        photo_id: The matching photo.
        path: Its path at the time the in-memory index was built.
        distance: The model's distance between the query's embedding and the photo's
            stored embedding (smaller is more similar); results are ranked by it.
        model_id: The model whose codes produced the distance.
        score: The calibrated probability in (0, 1] that the photo is the same kind
            of photo as the query (`similarity_scale.same_kind_probability`).
        band: Its `SimilarityBand`; None when it is farther than "Related".
        offline: The photo lies in an offline folder (unplugged drive): it is kept
            and found, but its file cannot be opened now.
    """

    photo_id: PhotoId
    path: Path
    distance: float
    model_id: str
    score: float = 0.0
    band: SimilarityBand | None = None
    offline: bool = False


@dataclass(frozen=True)
class DuplicateGroup:
    """Photos that are near-duplicates of each other (every member matches every other).

    Attributes:
        photos: The members, the copy to keep first (largest resolution, then largest
            file, then oldest), then the others in that same order.
    """

    photos: tuple[PhotoRecord, ...]

    @property
    def keep(self) -> PhotoRecord:
        """The copy "keep the best" proposes to keep."""
        return self.photos[0]

    @property
    def photo_ids(self) -> tuple[PhotoId, ...]:
        """The members' ids, in `photos` order."""
        return tuple(p.id for p in self.photos)

    @property
    def paths(self) -> tuple[Path, ...]:
        """The members' paths, in `photos` order."""
        return tuple(p.path for p in self.photos)


@dataclass(frozen=True)
class TrashOutcome:
    """What moving photos to the trash did.

    Attributes:
        trashed: Photos now in the trash (and forgotten by the catalog).
        freed_bytes: Their total file size.
        failed: ``(path, reason)`` of each photo that stayed where it was.
    """

    trashed: tuple[PhotoId, ...]
    freed_bytes: int
    failed: tuple[tuple[Path, str], ...]
