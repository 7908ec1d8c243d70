"""A move whose halves land in different `watch` batches keeps its codes.

Unit tests of `HeldDeletions`, then a real watcher over a real catalog: photos leave
the watched root (a batch of deletions), then come back into another folder of it (a
later batch of new files); they are matched as moves and nothing is encoded again.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from library_testkit import Counter, make_photos, wait_until

from sscq_desktop.library.catalog.reconciliation import (
    FileStat,
    KnownFile,
    Reconciliation,
)
from sscq_desktop.library.ingest.held_deletions import HeldDeletions
from sscq_desktop.library.library import Library
from sscq_desktop.library.records import FolderId, PhotoId


def row(pid: int, key: str | None = "k") -> KnownFile:
    return KnownFile(PhotoId(pid), Path(f"/r/{pid}.jpg"), 10, 1, key)


def test_vanished_photos_wait_and_only_those_without_a_key_go_at_once() -> None:
    held = HeldDeletions(hold_s=5.0)
    rec = held.settle(Reconciliation(deleted=[row(1), row(2, None)]), [], now=0.0)
    assert [k.id for k in rec.deleted] == [2]  # nothing to pair it by
    assert len(held) == 1 and held.candidates([]) == [row(1)]
    assert held.candidates([row(1)]) == []  # already among the batch's rows
    assert held.expired(now=4.9) == []
    assert held.expired(now=5.0) == [row(1)] and len(held) == 0


def test_a_held_photo_is_released_by_a_move_or_by_coming_back() -> None:
    held = HeldDeletions(hold_s=5.0)
    held.settle(Reconciliation(deleted=[row(1), row(2), row(3)]), [], now=0.0)
    moved = FileStat(Path("/r/new/1.jpg"), 10, 1, FolderId(1))
    held.settle(Reconciliation(moved=[(PhotoId(1), moved)]), [], now=1.0)
    held.settle(Reconciliation(), [PhotoId(2)], now=1.0)  # its file is back
    again = held.settle(Reconciliation(deleted=[row(3)]), [PhotoId(3)], now=6.0)
    assert [k.id for k in again.deleted] == [3]  # still gone, and its time is up
    assert len(held) == 0


def test_a_move_split_over_two_batches_re_encodes_nothing(
    library: Library,
    watching: Callable[..., None],
    counter: Counter,
    tmp_path: Path,
) -> None:
    root = tmp_path / "root"
    photos = make_photos(root / "from", 20)
    library.add_folder(root)
    watching(debounce_s=0.5, settle_s=2.0)  # a vanished photo waits 5 s
    wait_until(lambda: library.stats().ok == 20, timeout=60)
    encoded = counter.images
    ids = {p.name: library.photo_by_path(p) for p in photos}

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    for p in photos:  # first half: they vanish from the root
        shutil.move(p, outside / p.name)
    time.sleep(2.5)  # that batch closes (0.5 s of quiet) and is reconciled alone
    (root / "to").mkdir()
    for p in photos:  # second half, in a later batch
        shutil.move(outside / p.name, root / "to" / p.name)
    moved = [root / "to" / p.name for p in photos]
    wait_until(
        lambda: all(library.photo_by_path(p) is not None for p in moved), timeout=30
    )
    wait_until(lambda: library.stats().ok == 20, timeout=30)  # encoded or kept
    assert counter.images == encoded  # kept their codes: nothing encoded again
    for p in moved:
        record, old = library.photo_by_path(p), ids[p.name]
        assert record is not None and old is not None and record.id == old.id
    assert all(library.photo_by_path(p) is None for p in photos)
