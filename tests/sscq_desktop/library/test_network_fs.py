from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NamedTuple

import psutil
import pytest

from sscq_desktop.library.folders.network_fs import on_network_fs


class _Partition(NamedTuple):  # the fields of psutil's sdiskpart that matter here
    device: str
    mountpoint: str
    fstype: str
    opts: str


def _mounts(monkeypatch: pytest.MonkeyPatch, *parts: tuple[str, str, str]) -> None:
    table = [_Partition("dev", mount, fstype, opts) for mount, fstype, opts in parts]
    monkeypatch.setattr(psutil, "disk_partitions", lambda all=False: table)


@pytest.mark.skipif(os.name != "posix", reason="POSIX mount points")
def test_the_deepest_mount_point_decides(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    share = tmp_path / "my share"  # as psutil reports it: \040 already decoded
    local = share / "local"
    local.mkdir(parents=True)
    _mounts(
        monkeypatch,
        ("/", "ext4", "rw"),
        (str(share.resolve()), "nfs4", "rw"),
        (str(local.resolve()), "ext4", "rw"),
    )
    assert on_network_fs(share)
    assert on_network_fs(share / "nested")
    assert not on_network_fs(local)
    assert not on_network_fs(tmp_path)
    # A sibling whose name merely starts like the mount point is not inside it.
    sibling = tmp_path / "my share2"
    sibling.mkdir()
    assert not on_network_fs(sibling)


def test_a_remote_drive_is_a_network_file_system(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    anchor = tmp_path.resolve().anchor
    _mounts(monkeypatch, (anchor, "NTFS", "rw,remote"))
    assert on_network_fs(tmp_path)
    _mounts(monkeypatch, (anchor, "NTFS", "rw,fixed"))
    assert not on_network_fs(tmp_path)


def test_an_unreadable_mount_table_means_local(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def fail(all: bool = False) -> list[_Partition]:
        raise OSError("no /proc")

    monkeypatch.setattr(psutil, "disk_partitions", fail)
    assert not on_network_fs(tmp_path)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux mount table")
def test_a_mount_point_with_a_space_is_read_from_the_mount_table(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The real parser (psutil's getmntent) on a mount table written as Linux writes
    # it: a space in a mount point is the escape \040.
    share = (tmp_path / "my share").resolve()
    share.mkdir()
    proc = tmp_path / "proc"
    (proc / "self").mkdir(parents=True)
    (proc / "self" / "mounts").write_text(
        "sysfs / ext4 rw 0 0\n"
        f"server:/export {str(share).replace(' ', chr(92) + '040')} nfs4 rw 0 0\n"
    )
    monkeypatch.setattr(psutil, "PROCFS_PATH", str(proc))
    assert on_network_fs(share)
    assert on_network_fs(share / "nested")
    assert not on_network_fs(tmp_path)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux mount table")
def test_proc_is_not_on_a_network_file_system() -> None:
    # This machine's own mount table: /proc is always the local procfs.
    assert not on_network_fs(Path("/proc"))
