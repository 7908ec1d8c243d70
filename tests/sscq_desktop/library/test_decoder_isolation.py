"""End to end: a decoder that crashes or hangs costs its file, never the ``index`` run.

The child runs the real ``sscq-desktop index`` (real catalog, files, ingest pipeline,
decoder processes) with the decoder traps armed (``tests/decoder_traps``): Pillow aborts
the process that opens ``crash.jpg``, as a crashing native decoder would, and hangs on
``hang.jpg``. The command line itself has the traps too, so it would die or hang if it
decoded a photo outside its worker processes.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sscq_desktop.library.images.decode_pool import CRASH_ERROR
from sscq_desktop.model.artifact import ModelArtifact

N_GOOD = 10
TIMEOUT_S = 3


@pytest.fixture
def photos(tmp_path: Path, make_photo: Callable[..., Path]) -> Path:
    root = tmp_path / "photos"
    for i in range(N_GOOD):
        make_photo(root / f"p{i:02d}.jpg", seed=i)
    make_photo(root / "crash.jpg", seed=98)
    make_photo(root / "hang.jpg", seed=99)
    return root


def _cli(
    env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sscq_desktop.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _images(app_home: Path) -> dict[str, tuple[str, str | None, int]]:
    conn = sqlite3.connect(app_home / "data" / "catalog.sqlite3")
    try:
        rows = conn.execute(
            "SELECT path, status, error, "
            "(SELECT count(*) FROM encodings e WHERE e.image_id = i.id) FROM images i"
        ).fetchall()
    finally:
        conn.close()
    return {Path(p).name: (s, e, n) for p, s, e, n in rows}


def test_index_survives_a_crashing_and_a_hanging_decoder(
    tiny_artifact: ModelArtifact,
    photos: Path,
    app_home: Path,
    decoder_traps: dict[str, str],
) -> None:
    model = ["--model", str(tiny_artifact.path)]
    started = time.monotonic()
    proc = _cli(
        decoder_traps,
        *model,
        "index",
        str(photos),
        "--decode-timeout",
        str(TIMEOUT_S),
        "--json",
    )
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    assert elapsed < 60, elapsed  # the hang cost its timeout, not an hour
    result = json.loads(proc.stdout)
    assert (result["processed"], result["errors"]) == (N_GOOD + 2, 2)

    crashed = f"{CRASH_ERROR} (exit code {-signal.SIGABRT})"
    timed_out = f"decoding took longer than {TIMEOUT_S} s"
    images = _images(app_home)
    assert images.pop("crash.jpg") == ("error", crashed, 0)
    assert images.pop("hang.jpg") == ("error", timed_out, 0)
    assert len(images) == N_GOOD
    assert all(v == ("ok", None, 1) for v in images.values()), images

    status = _cli(decoder_traps, "status", "--json")
    assert status.returncode == 0, status.stderr
    failed = {f["path"]: f["error"] for f in json.loads(status.stdout)["failed"]}
    assert failed == {
        str(photos / "crash.jpg"): crashed,
        str(photos / "hang.jpg"): timed_out,
    }

    # A later run does not try them again (no crash loop, no second hang).
    again = _cli(decoder_traps, *model, "index", str(photos), "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["processed"] == 0
