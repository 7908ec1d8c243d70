"""`on_network_fs`: whether a folder lives on a network file system.

Native change events (inotify, FSEvents, ReadDirectoryChangesW) miss what other machines
change on a network share, so the watcher polls such folders. The mount table comes from
`psutil.disk_partitions` (``/proc/self/mounts`` on Linux, ``getfsstat`` on macOS, the
drive list on Windows).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import psutil

NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "fuse.sshfs",
        "sshfs",
        "9p",
        "davfs",
        "fuse.rclone",
        "afpfs",
        "ncpfs",
        "webdav",
    }
)
"""File-system types (as Linux and macOS name them) where native change events are
unreliable."""


def on_network_fs(path: Path) -> bool:
    r"""Whether `path` lives on a network file system.

    The deepest mount point holding `path` decides: its type is one of
    `NETWORK_FILESYSTEMS`, or psutil marks it ``remote`` (a mapped drive on Windows).
    A Windows UNC path (``\\server\share``) is one too.

    Args:
        path: A folder (links are resolved first).

    Returns:
        True on a network file system; False elsewhere or when the mount table cannot
        be read.
    """
    try:
        target = path.resolve()
        partitions = psutil.disk_partitions(all=True)
    except (OSError, RuntimeError):
        return False
    if sys.platform == "win32" and target.drive.startswith("\\\\"):
        return True
    text = os.path.normcase(str(target))
    deepest, network = -1, False
    for part in partitions:
        mount = os.path.normcase(part.mountpoint)
        inside = text == mount or text.startswith(mount.rstrip(os.sep) + os.sep)
        if inside and len(mount) > deepest:
            deepest = len(mount)
            network = part.fstype.lower() in NETWORK_FILESYSTEMS or "remote" in (
                part.opts.split(",")
            )
    return network
