from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sscq_desktop.library.library import Library
from sscq_desktop.library.progress import run_job
from sscq_desktop.model.artifact import ModelArtifact

CHILD = """
import sys
from sscq_desktop.library.ingest.ingest import IngestOptions
from sscq_desktop.library.library import Library
from sscq_desktop.library.library import Library
from sscq_desktop.library.progress import run_job
from sscq_desktop.paths import app_paths

lib = Library(app_paths(), ingest_options=IngestOptions(workers=2, batch_size=4))
record = lib.import_model(sys.argv[1])
lib.switch_model(record.model_id)
lib.add_folder(sys.argv[2])
run_job(lib.update())
"""


def _encoded(catalog: Path) -> int:
    if not catalog.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=5)
        try:
            return int(conn.execute("SELECT count(*) FROM encodings").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return 0


def test_sigkill_mid_ingest_loses_nothing_and_restart_finishes(
    tiny_artifact: ModelArtifact,
    open_library: Callable[..., Library],
    app_home: Path,
    tmp_path: Path,
    make_photo: Callable[..., Path],
) -> None:
    root = tmp_path / "photos"
    n = 400
    for i in range(n):
        make_photo(root / f"d{i % 7}" / f"p{i:04d}.jpg", seed=i, size=(480, 360))
    catalog = app_home / "data" / "catalog.sqlite3"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tiny_artifact.path), str(root)], env=env
    )
    try:
        deadline = time.monotonic() + 60
        while _encoded(catalog) < 40:
            assert proc.poll() is None, "the child finished before it could be killed"
            assert time.monotonic() < deadline, "the child made no progress"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    killed_at = _encoded(catalog)
    assert 40 <= killed_at < n

    conn = sqlite3.connect(catalog)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()

    lib = open_library()
    summary = run_job(lib.update())
    assert summary.done == n - killed_at  # resumed: the rest only
    stats = lib.stats()
    assert stats.images == n and stats.ok == n and stats.errors == 0
    assert stats.encoded[tiny_artifact.model_id] == n
    rows = lib.catalog._db.rows("SELECT count(*), count(DISTINCT path) FROM images")
    assert rows[0] == (n, n)  # no duplicate, no missing image
    assert lib.catalog.reader.integrity_check() == "ok"
