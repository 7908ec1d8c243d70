"""Photos whose files vanished under `watch`, held back a few seconds in case they moved.

A move reaches the watcher as two halves: the file disappears from one folder and
appears in another. When both halves land in one debounced batch the scanner pairs them
by content key and the photo keeps its codes. Under load they can land in different
batches (the storm benchmark re-encoded 241 of 5,000 moved photos): the first batch
deleted the photo with its codes, the second found a new file and encoded it again.

`HeldDeletions` keeps such vanished photos (those with a content key) for `hold_s`
instead of deleting them at once: a later batch offers them to the scanner again as
vanished candidates, so the other half pairs with them as a move; whatever is still
unpaired when its time is up is deleted for good. Plain data, one thread (the watch
loop's).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sscq_desktop.library.catalog.reconciliation import KnownFile, Reconciliation
from sscq_desktop.library.records import PhotoId


class HeldDeletions:
    """Vanished photos waiting `hold_s` for the other half of a move.

    Args:
        hold_s: How long a vanished photo waits before it is deleted.
    """

    def __init__(self, hold_s: float) -> None:
        self.hold_s = hold_s
        self._held: dict[PhotoId, tuple[KnownFile, float]] = {}  # id -> (row, deadline)

    def __len__(self) -> int:
        return len(self._held)

    def candidates(self, known: Iterable[KnownFile]) -> list[KnownFile]:
        """Held photos outside `known` (a batch's rows): offered to its reconcile."""
        ids = {k.id for k in known}
        return [row for pid, (row, _) in self._held.items() if pid not in ids]

    def settle(
        self, rec: Reconciliation, scoped: Collection[PhotoId], *, now: float
    ) -> Reconciliation:
        """Hold this batch's vanished photos; keep only the deletions that are due.

        Args:
            rec: The batch's reconciliation (edited in place and returned).
            scoped: Ids of the rows the batch looked at: a held photo among them that
                is not vanished any more (back at its path) is released.
            now: The monotonic clock.

        Returns:
            `rec`, whose ``deleted`` now holds only photos without a content key
            (nothing to pair them by) and held ones whose time is up.
        """
        for pid, _ in rec.moved:  # the other half came: a move, codes kept
            self._held.pop(pid, None)
        vanished = {k.id for k in rec.deleted}
        for pid in [p for p in self._held if p in scoped and p not in vanished]:
            del self._held[pid]  # back where it was
        due: list[KnownFile] = []
        for row in rec.deleted:
            if row.content_key is None:
                due.append(row)
                continue
            _, deadline = self._held.get(row.id, (row, now + self.hold_s))
            if deadline <= now:
                self._held.pop(row.id, None)
                due.append(row)
            else:
                self._held[row.id] = (row, deadline)
        rec.deleted = due
        return rec

    def expired(self, *, now: float) -> list[KnownFile]:
        """Take the held photos whose time is up (to delete)."""
        due = [pid for pid, (_, deadline) in self._held.items() if deadline <= now]
        return [self._held.pop(pid)[0] for pid in due]

    def take_all(self) -> list[KnownFile]:
        """Take every held photo (the watch stops: the catalog must match the disk)."""
        rows = [row for row, _ in self._held.values()]
        self._held.clear()
        return rows
