from __future__ import annotations

import os
from pathlib import Path

import pytest

from sscq_desktop.library.catalog.reconciliation import FileStat, KnownFile
from sscq_desktop.library.folders.scanner import reconcile, walk_images
from sscq_desktop.library.images.content_key import (
    CHUNK_BYTES,
    content_key,
    size_of_key,
)
from sscq_desktop.library.records import FolderId, PhotoId

ROOT = FolderId(1)


def _touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_walk_skips_hidden_system_and_excluded_folders_and_non_images(
    tmp_path: Path,
) -> None:
    _touch(tmp_path / "a.jpg")
    _touch(tmp_path / "B.JPEG")
    _touch(tmp_path / "sub" / "c.png")
    _touch(tmp_path / "notes.txt")
    _touch(tmp_path / ".hidden" / "d.jpg")
    _touch(tmp_path / ".e.jpg")
    _touch(tmp_path / "@eaDir" / "f.jpg")
    _touch(tmp_path / "$RECYCLE.BIN" / "g.jpg")
    _touch(tmp_path / "appdata" / "thumb.jpg")

    found = {
        p.path.relative_to(tmp_path).as_posix()
        for p in walk_images(tmp_path, ROOT, exclude=[tmp_path / "appdata"])
    }

    assert found == {"a.jpg", "B.JPEG", "sub/c.png"}


def test_walk_survives_symlink_loops_and_dangling_links(tmp_path: Path) -> None:
    _touch(tmp_path / "sub" / "a.jpg")
    os.symlink(tmp_path, tmp_path / "sub" / "loop")
    os.symlink(tmp_path / "missing.jpg", tmp_path / "dangling.jpg")

    found = [p.path.name for p in walk_images(tmp_path, ROOT)]

    assert found == ["a.jpg"]


def test_walk_steps_over_unreadable_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _touch(tmp_path / "ok" / "a.jpg")
    _touch(tmp_path / "locked" / "b.jpg")
    real = os.scandir

    def scandir(path: str | os.PathLike[str]) -> object:
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert [p.path.name for p in walk_images(tmp_path, ROOT)] == ["a.jpg"]


def test_content_key_reads_head_and_tail_only(tmp_path: Path) -> None:
    big = bytearray(os.urandom(4 * CHUNK_BYTES))
    a = _touch(tmp_path / "a.bin", bytes(big))
    big[2 * CHUNK_BYTES] ^= 0xFF  # a change in the middle is not seen (documented)
    b = _touch(tmp_path / "b.bin", bytes(big))
    big[-1] ^= 0xFF
    c = _touch(tmp_path / "c.bin", bytes(big))
    assert content_key(a) == content_key(b) != content_key(c)
    assert size_of_key(content_key(a)) == 4 * CHUNK_BYTES
    small1 = _touch(tmp_path / "s1.bin", b"abc")
    small2 = _touch(tmp_path / "s2.bin", b"abd")
    assert content_key(small1) != content_key(small2)


def _stat(path: str, size: int = 10, mtime: int = 1) -> FileStat:
    return FileStat(Path(path), size, mtime, ROOT)


def _known(
    pid: int, path: str, size: int = 10, mtime: int = 1, key: str | None = "k"
) -> KnownFile:
    return KnownFile(PhotoId(pid), Path(path), size, mtime, key)


def test_reconcile_classifies_new_changed_moved_deleted() -> None:
    disk = [
        _stat("/r/same.jpg"),
        _stat("/r/changed.jpg", mtime=2),
        _stat("/r/new.jpg", size=7),
        _stat("/r/moved_to.jpg", size=20),
    ]
    known = [
        _known(1, "/r/same.jpg"),
        _known(2, "/r/changed.jpg"),
        _known(3, "/r/moved_from.jpg", size=20, key="K20"),
        _known(4, "/r/deleted.jpg", size=30, key="K30"),
    ]
    asked: list[Path] = []

    def key_of(p: Path) -> str:
        asked.append(p)
        return "K20"

    rec = reconcile(disk, known, key_of=key_of)

    assert [f.path.name for f, _ in rec.new] == ["new.jpg"]
    assert [(pid, f.path.name) for pid, f in rec.changed] == [(2, "changed.jpg")]
    assert [(pid, f.path.name) for pid, f in rec.moved] == [(3, "moved_to.jpg")]
    assert [k.id for k in rec.deleted] == [4]
    assert asked == [
        Path("/r/moved_to.jpg")
    ]  # only size-matching candidates are hashed


def test_reconcile_same_size_different_content_is_not_a_move() -> None:
    rec = reconcile(
        [_stat("/r/b.jpg")], [_known(1, "/r/a.jpg", key="A")], key_of=lambda p: "B"
    )
    assert [f.path.name for f, _ in rec.new] == ["b.jpg"] and [
        k.id for k in rec.deleted
    ] == [1]
    assert rec.new[0][1] == "B"


def test_reconcile_defers_files_still_being_written() -> None:
    now = 10**12
    disk = [
        _stat("/r/fresh.jpg", mtime=now - 10),
        _stat("/r/old.jpg", mtime=now - 10**10),
    ]
    rec = reconcile(disk, [], key_of=lambda p: None, settle_ns=10**9, now_ns=now)
    assert rec.deferred == [Path("/r/fresh.jpg")]
    assert [f.path.name for f, _ in rec.new] == ["old.jpg"]
