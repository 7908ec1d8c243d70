"""What the scanner tells the catalog: files on disk, rows known, and the changes between.

`reader.CatalogReader.known_files` lists the rows as `KnownFile`s, the scanner
(`sscq_desktop.library.folders.scanner.reconcile`) compares them with the `FileStat`s it
found on disk, and `catalog.Catalog.apply_reconciliation` writes the `Reconciliation`.
Plain data: no SQL, no file access.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sscq_desktop.library.records import FolderId, PhotoId


@dataclass(frozen=True)
class FileStat:
    """An image file seen on disk.

    Attributes:
        path: Absolute path (under a library root; symlinks are not resolved).
        size: Size in bytes.
        mtime_ns: Modification time in nanoseconds.
        folder_id: The library root it was found under.
    """

    path: Path
    size: int
    mtime_ns: int
    folder_id: FolderId


@dataclass(frozen=True)
class KnownFile:
    """What the catalog holds about a file, as far as reconciliation needs."""

    id: PhotoId
    path: Path
    size: int
    mtime_ns: int
    content_key: str | None


@dataclass
class Reconciliation:
    """What to change in the catalog so that it matches the disk.

    Attributes:
        new: Files to add, each with its content key when it was computed.
        changed: Known photos whose size or mtime changed: to re-decode and re-encode.
        moved: Known photos found at a new path with the same content key: keep codes.
        deleted: Known photos no longer on disk.
        deferred: Files modified too recently to be complete; look again later.
    """

    new: list[tuple[FileStat, str | None]] = field(default_factory=list)
    changed: list[tuple[PhotoId, FileStat]] = field(default_factory=list)
    moved: list[tuple[PhotoId, FileStat]] = field(default_factory=list)
    deleted: list[KnownFile] = field(default_factory=list)
    deferred: list[Path] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """True when the catalog already matches the disk."""
        return not (self.new or self.changed or self.moved or self.deleted)
