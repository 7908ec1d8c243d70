"""Move photo files to the desktop's trash (`send2trash`), never delete them outright.

`move_to_trash` is the one place the app sends a file to the trash (the Freedesktop trash
on Linux, the Recycle Bin on Windows, the Finder's Trash on macOS), so tests replace this
seam alone. A file that cannot be trashed (permission denied, a volume without a trash
folder, gone already) raises `TrashError` with a reason a person can read.
"""

from __future__ import annotations

from pathlib import Path

from send2trash import send2trash
from send2trash.exceptions import TrashPermissionError


class TrashError(OSError):
    """A file could not be moved to the trash; ``str(error)`` says why."""


def move_to_trash(path: Path) -> None:
    """Move one file to the trash.

    Raises:
        TrashError: if it could not be moved; the file stays where it is.
    """
    if not path.is_file():
        raise TrashError(f"{path.name}: the file is no longer there")
    try:
        send2trash(path)
    except TrashPermissionError as exc:
        raise TrashError(
            f"{path.name}: this drive has no trash folder the app may use ({exc})"
        ) from exc
    except OSError as exc:
        raise TrashError(
            f"{path.name}: cannot move it to the trash ({exc.strerror or exc})"
        ) from exc
