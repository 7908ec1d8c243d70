"""End to end: a file whose decoding kills the process cannot start a crash loop.

The child runs the real ``sscq-desktop index`` (real catalog, files, ingest pipeline)
with Pillow's ``Image.open`` wrapped to abort the process on ``poison.jpg``, as a
crashing native decoder would.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from sscq_desktop import cli
from sscq_desktop.library.crash_quarantine import CRASH_ERROR
from sscq_desktop.model.artifact import ModelArtifact

CHILD = """
import os, sys
from PIL import Image

_open = Image.open


def open_or_crash(fp, *args, **kwargs):
    if os.path.basename(os.fspath(fp)) == "poison.jpg" and os.environ["POISON"] == "1":
        try:
            import resource
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file
        except ImportError:
            pass
        os.abort()  # what a crashing native decoder does to the process
    return _open(fp, *args, **kwargs)


Image.open = open_or_crash
from sscq_desktop.cli import main

sys.exit(main(["--model", sys.argv[1], "index", sys.argv[2]]))
"""

N_GOOD = 12


@pytest.fixture
def photos(tmp_path: Path, make_photo: Callable[..., Path]) -> Path:
    root = tmp_path / "photos"
    for i in range(N_GOOD):
        make_photo(root / f"{'pq'[i % 2]}{i:02d}.jpg", seed=i)
    make_photo(root / "poison.jpg", seed=99)
    return root


def _index(artifact: ModelArtifact, root: Path, *, poison: bool) -> int:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "POISON": "1" if poison else "0",
    }
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(artifact.path), str(root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc.returncode


def _images(app_home: Path) -> dict[str, tuple[str, str | None, int, int]]:
    conn = sqlite3.connect(app_home / "data" / "catalog.sqlite3")
    try:
        rows = conn.execute(
            "SELECT path, status, error, decode_crashes, "
            "(SELECT count(*) FROM encodings e WHERE e.image_id = i.id) FROM images i"
        ).fetchall()
    finally:
        conn.close()
    return {Path(p).name: (s, e, c, n) for p, s, e, c, n in rows}


def _crashed(code: int) -> bool:
    return code == -signal.SIGABRT if os.name == "posix" else code != 0


def test_a_file_that_crashes_the_decoder_twice_is_quarantined(
    tiny_artifact: ModelArtifact,
    photos: Path,
    app_home: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _crashed(_index(tiny_artifact, photos, poison=True))
    assert _crashed(_index(tiny_artifact, photos, poison=True))  # one crash only counts

    assert _index(tiny_artifact, photos, poison=True) == 0
    images = _images(app_home)
    assert images.pop("poison.jpg") == ("error", CRASH_ERROR, 2, 0)
    assert len(images) == N_GOOD
    assert all(v == ("ok", None, 0, 1) for v in images.values()), images

    assert _index(tiny_artifact, photos, poison=True) == 0  # and it stays skipped
    assert _images(app_home)["poison.jpg"][:2] == ("error", CRASH_ERROR)
    assert not list((app_home / "data" / "catalog.sqlite3-decoding").glob("*.marker"))

    capsys.readouterr()
    assert cli.main(["status", "--json"]) == 0
    failed = json.loads(capsys.readouterr().out)["failed"]
    assert failed == [{"path": str(photos / "poison.jpg"), "error": CRASH_ERROR}]
    assert cli.main(["status"]) == 0
    assert f"failed: {photos / 'poison.jpg'}: {CRASH_ERROR}" in capsys.readouterr().out


def test_a_single_crash_does_not_quarantine(
    tiny_artifact: ModelArtifact, photos: Path, app_home: Path
) -> None:
    assert _crashed(_index(tiny_artifact, photos, poison=True))
    assert _index(tiny_artifact, photos, poison=False) == 0  # e.g. the user killed it
    images = _images(app_home)
    assert len(images) == N_GOOD + 1
    assert all(v == ("ok", None, 0, 1) for v in images.values()), images
