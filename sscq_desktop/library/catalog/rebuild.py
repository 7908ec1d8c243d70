"""Recover from a damaged catalog: keep it aside, start a new one from what it listed.

`catalog_health` says whether the file is sound (without changing it). `rebuild_catalog`
moves the damaged file (and its ``-wal``/``-shm``) aside under a timestamped name, never
deleting it, then creates a new catalog holding the folders and models that can still be
read from the old one; the photos are found again by the next scan. Codes are not
copied: a damaged file's rows cannot be trusted. Run it with the app closed. No Qt.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sscq_desktop.library.catalog.catalog import Catalog
from sscq_desktop.library.catalog.catalog_file import is_catalog_damage
from sscq_desktop.library.catalog.reader import ACTIVE_MODEL_KEY

logger = logging.getLogger(__name__)

_SIDE_FILES = ("-wal", "-shm")


@dataclass(frozen=True)
class RebuildReport:
    """What `rebuild_catalog` did.

    Attributes:
        kept_as: Where the damaged catalog now is.
        folders: Folder paths carried over, as the old catalog stored them.
        models: Model ids carried over (their files still exist).
        active_model: The model made active again, if it could be carried over.
        lost: What could not be read from the damaged file, one line each.
    """

    kept_as: Path
    folders: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    active_model: str | None = None
    lost: list[str] = field(default_factory=list)


def catalog_health(path: Path) -> str | None:
    """Why the catalog at `path` is damaged, or None if it is sound or absent.

    Reads only (SQLite's ``quick_check``, a read-only connection).

    Args:
        path: The catalog file.

    Returns:
        A short reason, or None.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    if size == 0:
        return "empty file, 0 bytes"
    try:
        with contextlib.closing(_open_readonly(path)) as conn:
            rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        if is_catalog_damage(exc):
            return str(exc)
        raise
    problems = [str(r[0]) for r in rows if r[0] != "ok"]
    return "; ".join(problems[:3]) or None


def rebuild_catalog(path: Path, *, now: datetime | None = None) -> RebuildReport:
    """Move the catalog at `path` aside and make a new one from what it listed.

    Args:
        path: The catalog file (damaged, or empty).
        now: The time that names the kept copy (tests pass a fixed one).

    Returns:
        Where the old file went and what the new catalog holds.

    Raises:
        FileNotFoundError: if there is no catalog at `path`.
        OSError: if the file cannot be moved aside (nothing is changed then).
    """
    if not path.exists():
        raise FileNotFoundError(f"no catalog at {path}")
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    kept = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while kept.exists():
        n += 1
        kept = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    os.replace(path, kept)
    for suffix in _SIDE_FILES:  # SQLite finds the log next to the file, by name
        side = Path(f"{path}{suffix}")
        if side.exists():
            os.replace(side, Path(f"{kept}{suffix}"))
    logger.info("damaged catalog %s moved to %s", path, kept)
    lost: list[str] = []
    folders = _salvage(kept, "SELECT path, added_at FROM folders", lost)
    models = _salvage(kept, "SELECT model_id, path, source, M, K, L FROM models", lost)
    settings = dict(
        _salvage(
            kept, "SELECT key, value FROM settings WHERE key = ?", [], ACTIVE_MODEL_KEY
        )
    )
    carried_folders: list[str] = []
    carried_models: list[str] = []
    active: str | None = None
    with Catalog(path) as catalog:
        with catalog.transaction() as conn:
            # Copied as stored: the stored text is the lossless form of the path.
            for folder, added_at in folders:
                if isinstance(folder, str) and folder:
                    conn.execute(
                        "INSERT INTO folders (path, added_at) "
                        "VALUES (?, ?) ON CONFLICT(path) DO NOTHING",
                        (folder, str(added_at)),
                    )
                    carried_folders.append(folder)
        for model_id, model_path, source, M, K, L in models:
            if not Path(str(model_path)).is_file():
                lost.append(f"model {model_id}: its file {model_path} is gone")
                continue
            try:
                catalog.register_model(
                    model_id=str(model_id),
                    path=Path(str(model_path)),
                    source=source,
                    M=int(M),
                    K=int(K),
                    L=int(L),
                )
            except (sqlite3.Error, TypeError, ValueError) as exc:
                lost.append(f"model {model_id}: {exc}")
                continue
            carried_models.append(str(model_id))
        wanted = settings.get(ACTIVE_MODEL_KEY)
        if wanted in carried_models:
            catalog.set_setting(ACTIVE_MODEL_KEY, str(wanted))
            active = str(wanted)
    return RebuildReport(
        kept_as=kept,
        folders=carried_folders,
        models=carried_models,
        active_model=active,
        lost=lost,
    )


def _salvage(
    path: Path, sql: str, lost: list[str], *params: object
) -> list[tuple[Any, ...]]:
    """Rows of `sql` that the damaged file still gives; what fails goes to `lost`."""
    try:
        with contextlib.closing(_open_readonly(path)) as conn:
            return [tuple(r) for r in conn.execute(sql, params).fetchall()]
    except sqlite3.Error as exc:
        table = sql.split(" FROM ", 1)[1].split()[0]
        lost.append(f"{table}: {exc}")
        return []


def _open_readonly(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(
        f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None
    )
