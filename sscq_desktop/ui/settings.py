"""`AppSettings`: the user's preferences, a frozen dataclass saved as TOML in the config dir.

Loading never fails: a missing or damaged file gives the defaults (logged). Writing goes
through `tomli_w` (a flat table of scalars), a temporary file and a rename. Window geometry
lives in QSettings, not here. Qt-free.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import tomli_w

from sscq_desktop.library.records import SimilarityBand
from sscq_desktop.library.retrain.retrain_request import TrainDevice
from sscq_desktop.library.search.duplicates import DEFAULT_LEVEL, duplicate_level

logger = logging.getLogger(__name__)

GallerySort = Literal["date", "name", "folder"]
GALLERY_SORTS: tuple[GallerySort, ...] = ("date", "name", "folder")
DEVICES: tuple[TrainDevice, ...] = get_args(TrainDevice)
RESULTS_BANDS: tuple[str, ...] = ("all", *(b.slug for b in SimilarityBand))
RETIRED_SETTINGS = frozenset({"similarity_threshold"})
"""Keys older versions wrote and this one ignores quietly.

``similarity_threshold`` cut results at a score that meant something different for every
query; the band cut (`results_band`) replaced it, and a file holding it still loads.
"""

MIN_RETRAIN_MINUTES = 10
"""The shortest retrain offered: shorter runs cannot learn enough to beat the model in use
(the README's retrain table measured 30 CPU-minutes)."""

_HEADER = "# SSCQ Desktop settings (written by the app; edit while it is closed)\n"


@dataclass(frozen=True)
class AppSettings:
    """User preferences; the settings dialog produces a new instance."""

    first_run_done: bool = (
        False  # False until the user picked (or declined) a first folder
    )
    gallery_sort: GallerySort = (
        "date"  # gallery order: "date" (newest first), "name", "folder"
    )
    thumbnail_size: int = 160  # gallery thumbnail side in pixels (96-256 reads well)
    results_k: int = 60  # how many similar photos a search returns
    results_band: str = "all"  # results shown: "all", or this band and closer ones
    duplicate_level: str = DEFAULT_LEVEL  # near duplicates: "exact", "edited" or "similar" (chosen on the tab)
    watch_folders: bool = True  # pick up changes as they happen (polls network drives)
    device: TrainDevice = "auto"  # retrain device: "auto", "cpu" or "cuda"
    retrain_bits: int = 32  # code length proposed by the retrain dialog: 16, 32 or 64
    retrain_minutes: int = 30  # time budget proposed by the retrain dialog (>= 10)

    def __post_init__(self) -> None:
        if self.gallery_sort not in GALLERY_SORTS:
            raise ValueError(
                f"gallery_sort must be one of {GALLERY_SORTS}, got {self.gallery_sort!r}"
            )
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, got {self.device!r}")
        if not 32 <= self.thumbnail_size <= 512:
            raise ValueError(
                f"thumbnail_size must be in [32, 512], got {self.thumbnail_size}"
            )
        if not 1 <= self.results_k <= 10_000:
            raise ValueError(f"results_k must be in [1, 10000], got {self.results_k}")
        if self.results_band not in RESULTS_BANDS:
            raise ValueError(
                f"results_band must be one of {RESULTS_BANDS}, got {self.results_band!r}"
            )
        duplicate_level(self.duplicate_level)  # raises ValueError naming the levels
        if self.retrain_bits not in (16, 32, 64):
            raise ValueError(
                f"retrain_bits must be 16, 32 or 64, got {self.retrain_bits}"
            )
        if not MIN_RETRAIN_MINUTES <= self.retrain_minutes <= 24 * 60:
            raise ValueError(
                f"retrain_minutes must be in [{MIN_RETRAIN_MINUTES}, 1440], "
                f"got {self.retrain_minutes}"
            )

    def replace(self, **changes: Any) -> AppSettings:
        """A copy with `changes` applied (validated)."""
        return dataclasses.replace(self, **changes)

    @property
    def min_band(self) -> SimilarityBand | None:
        """`results_band` as the band the results panel cuts at (None: all)."""
        return next((b for b in SimilarityBand if b.slug == self.results_band), None)


def load_settings(path: Path) -> AppSettings:
    """Read settings from `path`; defaults for anything missing, unknown or invalid."""
    if not path.is_file():
        return AppSettings()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        logger.warning("settings file %s is unreadable (%s); using defaults", path, exc)
        return AppSettings()
    settings = AppSettings()
    if "duplicate_threshold" in raw and "duplicate_level" not in raw:
        raw["duplicate_level"] = _level_of_threshold(raw.pop("duplicate_threshold"))
    raw.pop("duplicate_threshold", None)
    types = {
        f.name: type(getattr(settings, f.name)) for f in dataclasses.fields(settings)
    }
    for key, value in raw.items():
        want = types.get(key)
        if key in RETIRED_SETTINGS:
            continue
        if want is None:
            logger.warning("ignoring unknown setting %r", key)
            continue
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            logger.warning(
                "ignoring setting %r: expected %s, got %r", key, want.__name__, value
            )
            continue
        try:
            settings = settings.replace(**{key: value})
        except ValueError as exc:
            logger.warning("ignoring setting %r: %s", key, exc)
    return settings


def _level_of_threshold(threshold: object) -> str:
    """The level closest to a strictness score of settings files before named levels.

    0.97 and above asked for exact copies, 0.90 and above for the default; anything
    looser (or not a number) for similar shots, or the default.
    """
    if not isinstance(threshold, int | float) or isinstance(threshold, bool):
        return DEFAULT_LEVEL
    if threshold >= 0.97:
        return "exact"
    return DEFAULT_LEVEL if threshold >= 0.90 else "similar"


def save_settings(settings: AppSettings, path: Path) -> None:
    """Write `settings` to `path` as TOML, atomically."""
    text = _HEADER + tomli_w.dumps(dataclasses.asdict(settings))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".settings.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
