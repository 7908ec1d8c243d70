"""Break a photo file in place and repair it unnoticed: the set-up of the retry tests."""

from __future__ import annotations

import os
from pathlib import Path


def break_in_place(path: Path) -> bytes:
    """Overwrite the image at `path` with garbage of the same size; returns its bytes.

    Writing them back with `repair_in_place` leaves size and mtime as the catalog saw
    them, so a scan sees no change: only a retry tries the file again (as after a
    network drive came back, or a decoder timeout).
    """
    good = path.read_bytes()
    path.write_bytes((b"this is not a JPEG " * len(good))[: len(good)])
    return good


def repair_in_place(path: Path, good: bytes) -> None:
    """Write `good` back with the size and mtime the catalog saw: a scan sees no change."""
    st = path.stat()
    path.write_bytes(good)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
