"""`CatalogConnection`: one SQLite connection to the catalog and the lock around its use.

The reader (`reader.CatalogReader`) and the writer (`catalog.Catalog`) each hold one,
by composition: a reader opens a read-only connection of its own (`open_readonly`);
the writer opens the writable one (`catalog_file.open_catalog_file`) and its reader
reads through that same connection. No queries and no writes of its own.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sscq_desktop.library.catalog.schema import connect


class CatalogError(RuntimeError):
    """A catalog operation that cannot be done (unknown folder or model, bad state)."""


class CatalogConnection:
    """An open connection to the catalog, used under a lock.

    Every use takes `lock` (reentrant), so one connection may be shared between the
    writer and its reader, and between threads when sqlite3 allows it (the writer's).

    Args:
        path: The catalog file.
        sqlite: The connection (`schema.connect`); `close` closes it.

    Attributes:
        path: The catalog file.
        sqlite: The connection; use it only while holding `lock`.
        lock: Held by every statement and transaction on `sqlite`.
    """

    def __init__(self, path: Path, sqlite: sqlite3.Connection) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.sqlite = sqlite

    @classmethod
    def open_readonly(cls, path: Path) -> CatalogConnection:
        """Open a read-only connection, bound to the calling thread (sqlite3's rule).

        Args:
            path: The catalog file (must exist: the writer creates it).

        Returns:
            The connection.

        Raises:
            CatalogError: if there is no catalog at `path`.
        """
        if not path.exists():
            raise CatalogError(f"no catalog at {path}")
        return cls(path, connect(path, readonly=True))

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run a query under the lock and return all its rows."""
        with self.lock:
            return self.sqlite.execute(sql, params).fetchall()

    def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run a query under the lock and return its first row, or None."""
        with self.lock:
            return self.sqlite.execute(sql, params).fetchone()

    def close(self) -> None:
        """Close the connection."""
        with self.lock:
            self.sqlite.close()
