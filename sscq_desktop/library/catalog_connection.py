"""`CatalogConnection`: the catalog connection that every reader and the writer build on.

It opens one connection (read-only here; `catalog.Catalog` opens the writer's) and runs
queries under a lock. It holds no queries of its own: those live in `encoding_reader` and
`catalog_reader`. No writes here.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sscq_desktop.library.schema import connect


class CatalogError(RuntimeError):
    """A catalog operation that cannot be done (unknown folder or model, bad state)."""


class CatalogConnection:
    """A connection of its own to the catalog, with locked query helpers.

    A read-only connection is bound to the thread that opened it (sqlite3's rule); open
    one per thread. Subclasses change how the connection is opened by overriding `_open`.

    Args:
        path: The catalog file (must exist: the writer creates it).

    Raises:
        CatalogError: if there is no catalog at `path`.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn = self._open(path)

    def _open(self, path: Path) -> sqlite3.Connection:
        if not path.exists():
            raise CatalogError(f"no catalog at {path}")
        return connect(path, readonly=True)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._lock:
            return self._conn.execute(sql, params).fetchone()
