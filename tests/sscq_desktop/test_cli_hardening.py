"""The command line against hostile starts, damaged catalogs and bad input (issue 13, 10).

Each test builds its own home, photos and catalog, and runs the real command (in this
process, or in child processes where processes are the point).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sscq_desktop import cli
from sscq_desktop.model.artifact import ModelArtifact
from sscq_desktop.paths import app_paths

_RACE_CHILD = """
import contextlib, io, json, sys, time
from sscq_desktop import cli

out = []
for home, start_at in json.loads(sys.argv[1]):
    time.sleep(max(0.0, start_at - time.time()))
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = cli.main(["--home", home, "status"])
    out.append({"rc": rc, "err": err.getvalue()})
print(json.dumps(out))
"""

CONTROL_NAME = "evil\x1b[31mred\nforged line"


def _photo(path: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    grid = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid, "RGB").resize((96, 64), Image.Resampling.NEAREST).save(
        path, format="JPEG", quality=95
    )
    return path


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    for i in range(4):
        _photo(root / f"p{i}.jpg", seed=i)
    return root


@pytest.fixture
def indexed(photos: Path, tiny_artifact: ModelArtifact) -> Path:
    """A library of `photos`, indexed with the tiny model; returns the photos folder."""
    assert cli.main(["--model", str(tiny_artifact.path), "index", str(photos)]) == 0
    return photos


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")])
    return env


# --- (a) parallel first starts --------------------------------------------------------


def test_parallel_first_starts_on_a_fresh_home_all_succeed(tmp_path: Path) -> None:
    rounds, processes = 8, 4
    start = time.time() + 8.0  # every child has imported the app by then
    plan = [
        [str(tmp_path / f"home{r}"), start + 1.0 * r] for r in range(rounds)
    ]  # each round: all children open the same fresh home at the same instant
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _RACE_CHILD, json.dumps(plan)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_child_env(),
        )
        for _ in range(processes)
    ]
    results = []
    for child in children:
        stdout, stderr = child.communicate(timeout=240)
        assert child.returncode == 0, stderr
        results.append(json.loads(stdout.splitlines()[-1]))
    failures = [r for runs in results for r in runs if r["rc"] != 0]
    assert failures == [], failures[:3]
    for r in range(rounds):
        catalog = app_paths(tmp_path / f"home{r}").catalog_path
        with sqlite3.connect(catalog) as conn:
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        assert {"folders", "images", "models", "encodings"} <= names
        assert not list(catalog.parent.glob(".catalog.sqlite3.*"))  # no drafts left


# --- (b) damaged and empty catalogs ---------------------------------------------------


def test_damaged_catalog_says_where_it_is_and_rebuilds_from_its_folders(
    indexed: Path, tiny_artifact: ModelArtifact, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = app_paths().catalog_path
    capsys.readouterr()
    # Every row into the file itself (whatever the app did at exit), then damage it.
    with contextlib.closing(sqlite3.connect(catalog)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(catalog.read_bytes())
    assert len(data) > 3 * 4096
    for i in range(2 * 4096, len(data)):  # the header survives, every table page not
        data[i] = (data[i] * 7 + 13) & 0xFF
    catalog.write_bytes(bytes(data))
    damaged = bytes(data)

    assert cli.main(["status"]) == cli.EXIT_FAILURE
    err = capsys.readouterr().err
    assert str(catalog) in err and "damaged" in err
    assert "sscq-desktop doctor --rebuild-catalog" in err
    assert "Traceback" not in err

    assert cli.main(["doctor", "--rebuild-catalog", "--json"]) == cli.EXIT_OK
    report = json.loads(capsys.readouterr().out)
    assert report["rebuilt"] is True
    kept = Path(report["kept_as"])
    assert kept.parent == catalog.parent and kept.name.startswith(
        "catalog.sqlite3.damaged-"
    )
    assert kept.read_bytes() == damaged  # the user's file is kept, untouched
    assert report["folders"] == [str(indexed)]

    # The new catalog knows the folder: indexing it again brings the photos back.
    assert cli.main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["folders"] == [str(indexed)] and status["images"] == 0
    # (The models table may be among the damaged pages: the model is given again.)
    index = ["--model", str(tiny_artifact.path), "index", str(indexed), "--json"]
    assert cli.main(index) == 0
    assert json.loads(capsys.readouterr().out)["images"] == 4

    # A sound catalog is left alone.
    assert cli.main(["doctor", "--rebuild-catalog"]) == cli.EXIT_OK
    assert "nothing to rebuild" in capsys.readouterr().out


def test_empty_catalog_file_is_damaged_not_a_new_library(
    app_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = app_paths().ensure().catalog_path
    catalog.write_bytes(b"")

    assert cli.main(["status"]) == cli.EXIT_FAILURE
    err = capsys.readouterr().err
    assert str(catalog) in err and "0 bytes" in err
    assert catalog.stat().st_size == 0  # not silently turned into an empty library

    assert cli.main(["doctor", "--rebuild-catalog"]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert "kept as" in out
    assert list(catalog.parent.glob("catalog.sqlite3.damaged-*"))
    assert cli.main(["status"]) == cli.EXIT_OK


# --- (c) the write-ahead log on exit --------------------------------------------------


def test_catalog_file_alone_holds_the_data_after_the_command_exits(
    photos: Path, tiny_artifact: ModelArtifact, app_home: Path, tmp_path: Path
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sscq_desktop.cli",
            "--model",
            str(tiny_artifact.path),
            "index",
            str(photos),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env=_child_env(),
    )
    assert result.returncode == 0, result.stderr
    backup = tmp_path / "backup.sqlite3"
    shutil.copyfile(app_paths().catalog_path, backup)  # the -wal is left behind
    with sqlite3.connect(backup) as conn:
        images = conn.execute("SELECT count(*) FROM images").fetchone()[0]
        encoded = conn.execute("SELECT count(*) FROM encodings").fetchone()[0]
    assert images == 4 and encoded == 4


# --- (d) usage errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["similar", "Q", "--top", "1e23"],
        ["similar", "Q", "--top", "100000000000000000000000"],
        ["similar", "Q", "--top", "0"],
        ["similar", "Q", "--max-distance", "nan"],
        ["similar", "Q", "--max-distance", "-1"],
        ["similar", "Q", "--min-score", "nan"],
        ["duplicates", "--level", "0.95"],
    ],
)
def test_bad_numbers_are_usage_errors(
    indexed: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [str(indexed / "p0.jpg") if a == "Q" else a for a in argv]
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == cli.EXIT_USAGE
    assert argv[-2] in capsys.readouterr().err  # names the option


@pytest.mark.parametrize(
    ("option", "good", "bad", "rule"),
    [
        ("--top", "3", ["0", "1e23", "x", "nan"], "an integer from 1 to"),
        ("--max-distance", "0", ["-1", "inf", "nan", "1e400"], "a finite number >= 0"),
        ("--min-score", "1", ["-0.1", "1.5", "nan", "inf"], "between 0 and 1"),
    ],
)
def test_range_options_share_one_check_and_one_message(
    option: str,
    good: str,
    bad: list[str],
    rule: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from sscq_desktop.cli.parser import _in_range, build_parser

    parser = build_parser()
    dest = option.lstrip("-").replace("-", "_")
    assert getattr(
        parser.parse_args(["similar", "q.jpg", option, good]), dest
    ) == float(good)
    for text in bad:
        with pytest.raises(SystemExit):
            parser.parse_args(["similar", "q.jpg", option, text])
        assert f"argument {option}: must be {rule}" in capsys.readouterr().err
    # The one helper behind all three: a number of that kind, within the bounds.
    assert _in_range("7", int, 1, 9, "small") == 7
    for text in ["0", "10", "7.0", "nan", ""]:
        with pytest.raises(argparse.ArgumentTypeError, match="must be small, got"):
            _in_range(text, int, 1, 9, "small")


def test_folder_that_does_not_exist_or_is_not_in_the_library_is_refused(
    indexed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    query = str(_photo(tmp_path / "query.jpg", seed=0))
    missing = tmp_path / "nonexistent"
    assert cli.main(["similar", query, "--folder", str(missing)]) == cli.EXIT_USAGE
    assert f"--folder {missing}: no such folder" in capsys.readouterr().err
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert cli.main(["duplicates", "--folder", str(elsewhere)]) == cli.EXIT_USAGE
    assert "is not in the library" in capsys.readouterr().err
    # A library folder, or one inside it, still works.
    assert cli.main(["similar", query, "--folder", str(indexed), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 4


# --- (e) control characters in file names ---------------------------------------------


def test_status_and_similar_escape_control_characters_in_names(
    photos: Path,
    tiny_artifact: ModelArtifact,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _photo(photos / f"{CONTROL_NAME}.jpg", seed=7)
    (photos / f"broken {CONTROL_NAME}.jpg").write_bytes(b"not an image")
    assert cli.main(["--model", str(tiny_artifact.path), "index", str(photos)]) == 0
    capsys.readouterr()

    assert cli.main(["status"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    failed = [line for line in out.splitlines() if "failed:" in line]
    assert len(failed) == 1  # the newline in the name did not split it
    assert "broken evil\\x1b[31mred\\nforged line.jpg" in failed[0]
    assert not any(line.startswith("forged line") for line in out.splitlines())

    query = _photo(photos.parent / "query.jpg", seed=7)
    assert cli.main(["similar", str(query), "--top", "10"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    lines = out.splitlines()
    assert len(lines) == 5  # one line per photo (4 + the control-named one)
    assert lines[0].endswith("evil\\x1b[31mred\\nforged line.jpg")

    # JSON keeps the real name (escaped by JSON itself, never raw on the terminal).
    assert cli.main(["similar", str(query), "--top", "1", "--json"]) == 0
    raw = capsys.readouterr().out
    assert "\x1b" not in raw
    assert json.loads(raw)[0]["path"] == str(photos / f"{CONTROL_NAME}.jpg")


def test_index_escapes_control_characters_in_an_offline_root(
    tmp_path: Path,
    tiny_artifact: ModelArtifact,
    capsys: pytest.CaptureFixture[str],
) -> None:
    drive = tmp_path / CONTROL_NAME
    _photo(drive / "a.jpg", seed=1)
    other = tmp_path / "other"
    _photo(other / "b.jpg", seed=2)
    assert cli.main(["--model", str(tiny_artifact.path), "index", str(drive)]) == 0
    drive.rename(tmp_path / "unplugged")
    capsys.readouterr()

    assert cli.main(["--no-progress", "index", str(other)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "offline, photos kept: " in out
    assert not any(line.startswith("forged line") for line in out.splitlines())


def test_log_lines_on_stderr_escape_control_characters_in_names(
    tmp_path: Path, tiny_artifact: ModelArtifact
) -> None:
    # The warning "<root> is offline" quotes the root's name: in a child process (this
    # one's logging is pytest's), so the command sets up its own stderr logging.
    drive = tmp_path / CONTROL_NAME
    _photo(drive / "a.jpg", seed=1)
    other = tmp_path / "other"
    _photo(other / "b.jpg", seed=2)
    assert cli.main(["--model", str(tiny_artifact.path), "index", str(drive)]) == 0
    drive.rename(tmp_path / "unplugged")

    child = subprocess.run(
        [
            sys.executable,
            "-m",
            "sscq_desktop.cli",
            "--no-progress",
            "index",
            str(other),
        ],
        env=_child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr
    assert "evil\\x1b[31mred\\nforged line is offline" in child.stderr
    assert "\x1b" not in child.stderr
    assert not any(line.startswith("forged") for line in child.stderr.splitlines())
