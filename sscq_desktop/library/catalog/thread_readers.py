"""`ThreadReaders`: one read-only catalog connection per thread.

SQLite connections must not cross threads; searches and the read methods of `Library`
run on any thread, so each thread opens its own `CatalogReader` on first use (WAL lets
them read while the one writer writes). A connection closes when its thread ends.
"""

from __future__ import annotations

import threading
from pathlib import Path

from sscq_desktop.library.catalog.reader import CatalogReader


class ThreadReaders:
    """Hands each thread its own `CatalogReader` of one catalog file.

    Args:
        path: The catalog (``catalog.sqlite3``).
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._local = threading.local()

    def get(self) -> CatalogReader:
        """This thread's reader (opened on first use)."""
        reader: CatalogReader | None = getattr(self._local, "reader", None)
        if reader is None:
            reader = CatalogReader.open(self._path)
            self._local.reader = reader
        return reader
