from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sscq_desktop.library.decode_markers import (
    STALE_NEW_S,
    DecodeMarkers,
    LeftoverDecode,
    collect_leftovers,
    markers_dir,
)
from sscq_desktop.library.records import PhotoId

# A child process that marks a decode, then dies the way argv[2] says.
CHILD = """
import os, sys
from pathlib import Path
from sscq_desktop.library.decode_markers import DecodeMarkers

markers = DecodeMarkers(Path(sys.argv[1]))
markers.begin(7, Path("/photos/p\\u00e9 7.jpg"))
if sys.argv[2] == "crash":
    os._exit(3)  # no atexit, as after a native crash
if sys.argv[2] == "hang":
    sys.exit(0)  # a normal exit while a decoder thread is still busy
if sys.argv[2] == "wait":
    print("ready", flush=True)
    sys.stdin.read()  # alive until the parent kills it
"""


def _child(folder: Path, how: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run(
        [sys.executable, "-c", CHILD, str(folder), how], env=env, check=False
    )


def _files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.marker"))


def test_markers_dir_sits_beside_the_catalog(tmp_path: Path) -> None:
    catalog = tmp_path / "data" / "catalog.sqlite3"
    assert markers_dir(catalog) == tmp_path / "data" / "catalog.sqlite3-decoding"


def test_a_marker_is_written_then_emptied_and_a_live_one_is_never_taken(
    tmp_path: Path,
) -> None:
    markers = DecodeMarkers(tmp_path / "m")
    markers.begin(12, tmp_path / "a.jpg")
    (file,) = _files(tmp_path / "m")
    assert file.read_bytes() == b"12 %d\n%s" % (
        len(os.fsencode(tmp_path / "a.jpg")),
        os.fsencode(tmp_path / "a.jpg"),
    )
    if os.name == "posix":
        assert file.stat().st_mode & 0o777 == 0o600
    assert collect_leftovers(tmp_path / "m") == []  # ours, and we are alive
    assert _files(tmp_path / "m") == [file]
    markers.end()
    assert file.read_bytes() == b""
    markers.begin(3, tmp_path / "b.jpg")  # the same thread reuses its file
    markers.end()
    assert _files(tmp_path / "m") == [file]
    markers.close()
    assert _files(tmp_path / "m") == []


def test_each_thread_has_its_own_file(tmp_path: Path) -> None:
    markers = DecodeMarkers(tmp_path)
    started = threading.Barrier(3)
    release = threading.Event()

    def decode(photo_id: int) -> None:
        markers.begin(photo_id, tmp_path / f"{photo_id}.jpg")
        started.wait()
        release.wait(10)
        markers.end()

    threads = [threading.Thread(target=decode, args=(i,)) for i in (1, 2)]
    for t in threads:
        t.start()
    started.wait()
    contents = sorted(f.read_bytes().split(b" ")[0] for f in _files(tmp_path))
    assert contents == [b"1", b"2"]
    markers.close()  # both busy: their files stay until their decodes end
    assert len(_files(tmp_path)) == 2
    release.set()
    for t in threads:
        t.join()
    assert _files(tmp_path) == []


def test_begin_after_close_marks_nothing_and_a_late_decode_is_cleaned_up(
    tmp_path: Path,
) -> None:
    markers = DecodeMarkers(tmp_path)
    began, closed = threading.Event(), threading.Event()

    def straggler() -> None:  # a pool thread still busy when the run ends
        markers.begin(1, tmp_path / "1.jpg")
        began.set()
        closed.wait(10)
        markers.end()
        markers.begin(2, tmp_path / "2.jpg")  # took more work after `close`
        markers.end()

    thread = threading.Thread(target=straggler)
    thread.start()
    assert began.wait(10)
    markers.close()
    markers.begin(3, tmp_path / "3.jpg")  # a thread that never marked before
    markers.end()
    assert len(_files(tmp_path)) == 1  # only the busy one, still marked
    closed.set()
    thread.join()
    assert _files(tmp_path) == []  # released when its decode ended
    assert not list(tmp_path.iterdir())


def test_begin_after_the_exit_cleanup_leaves_no_marker(tmp_path: Path) -> None:
    markers = DecodeMarkers(tmp_path)
    markers.begin(1, tmp_path / "1.jpg")
    markers._clear_at_exit()  # as atexit runs it while a daemon thread decodes
    (file,) = _files(tmp_path)
    assert file.read_bytes() == b""
    markers.begin(2, tmp_path / "2.jpg")  # the daemon thread goes on meanwhile
    assert file.read_bytes() == b""
    assert collect_leftovers(tmp_path) == []
    markers.end()
    assert _files(tmp_path) == []


def test_marker_files_are_written_outside_the_shared_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    markers = DecodeMarkers(tmp_path)
    markers.begin(1, tmp_path / "1.jpg")  # opens the file (under the lock: bookkeeping)
    markers.end()
    held: list[bool] = []

    def spy(real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            held.append(markers._lock.locked())
            return real(*args)

        return call

    monkeypatch.setattr(os, "write", spy(os.write))
    monkeypatch.setattr(os, "ftruncate", spy(os.ftruncate))
    markers.begin(2, tmp_path / "2.jpg")
    markers.end()
    monkeypatch.undo()
    assert held == [False, False]  # other decode threads never wait on this I/O
    markers.close()


def test_a_crashed_process_leaves_its_marker_and_it_is_taken_once(
    tmp_path: Path,
) -> None:
    _child(tmp_path, "crash")
    assert len(_files(tmp_path)) == 1
    assert collect_leftovers(tmp_path) == [
        LeftoverDecode(PhotoId(7), Path("/photos/p\u00e9 7.jpg"))
    ]
    assert _files(tmp_path) == []
    assert collect_leftovers(tmp_path) == []


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_another_live_process_keeps_its_marker_until_it_is_killed(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path), "wait"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        assert collect_leftovers(tmp_path) == []  # alive: not a crash
        assert len(_files(tmp_path)) == 1
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert [d.photo_id for d in collect_leftovers(tmp_path)] == [7]


def test_a_normal_exit_mid_decode_leaves_no_marker(tmp_path: Path) -> None:
    _child(tmp_path, "hang")
    assert collect_leftovers(tmp_path) == []


def test_odd_file_names_survive_the_round_trip(tmp_path: Path) -> None:
    name = Path("/photos/line\nbreak \udcff.jpg" if os.name == "posix" else "/p/é.jpg")
    folder = tmp_path / "m"
    folder.mkdir()
    raw = os.fsencode(name)
    (folder / "dead-0.marker").write_bytes(b"5 %d\n%s" % (len(raw), raw))
    assert collect_leftovers(folder) == [LeftoverDecode(PhotoId(5), name)]


def test_malformed_empty_and_half_created_files(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = tmp_path / "dead-1.marker"
    bad.write_bytes(b"12 99\n/short.jpg")  # length does not match: torn or foreign
    empty = tmp_path / "dead-2.marker"  # a dead process's idle thread
    empty.write_bytes(b"")
    young = tmp_path / "dead-3.new"  # maybe an owner about to lock and rename it
    young.write_bytes(b"")
    old = tmp_path / "dead-4.new"  # its owner died in between
    old.write_bytes(b"")
    past = time.time() - STALE_NEW_S - 5
    os.utime(old, (past, past))
    other = tmp_path / "notes.txt"
    other.write_text("not ours")
    with caplog.at_level(logging.WARNING):
        assert collect_leftovers(tmp_path) == []
    assert "malformed" in caplog.text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dead-3.new", "notes.txt"]
    assert collect_leftovers(tmp_path / "missing") == []


def test_a_marker_that_cannot_be_written_never_stops_the_decode(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should be")
    markers = DecodeMarkers(blocker / "m")
    with caplog.at_level(logging.WARNING):
        markers.begin(1, tmp_path / "a.jpg")
        markers.end()
        markers.begin(2, tmp_path / "b.jpg")
        markers.end()
        markers.close()
    assert caplog.text.count("cannot write decode markers") == 1
