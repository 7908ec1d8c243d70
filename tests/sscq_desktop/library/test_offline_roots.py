"""Roots that go offline keep their photos (issue 13, item 3).

An unplugged drive, an unmounted share (an empty mount point), a root replaced by a file
or a folder that cannot be read must never read as "every photo deleted": the photos
stay, the root is marked offline (`status`, the GUI, search hits), and when it is back
nothing is re-encoded. Only removing the folder forgets its photos.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from library_testkit import Counter, wait_until

from sscq_desktop import cli
from sscq_desktop.library.catalog.catalog import Catalog
from sscq_desktop.library.catalog.reconciliation import FileStat
from sscq_desktop.library.catalog.schema import SCHEMA_VERSION, connect, migrate
from sscq_desktop.library.folders.root_status import folder_problems
from sscq_desktop.library.folders.scanner import walk_images
from sscq_desktop.library.library import Library
from sscq_desktop.library.progress import run_job
from sscq_desktop.model.artifact import ModelArtifact
from sscq_desktop.paths import app_paths

NOBODY = 65534


def _photos(make_photo: Callable[..., Path], root: Path, n: int = 3) -> list[Path]:
    return [make_photo(root / f"p{i}.jpg", seed=i) for i in range(n)]


def test_a_catalog_of_version_3_opens_with_its_folders_online(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    conn = connect(path)
    assert migrate(conn, target=3) == 3
    conn.execute("INSERT INTO folders (path, added_at) VALUES ('/photos', 'then')")
    conn.execute(
        "INSERT INTO images (folder_id, path, size, mtime_ns, status) "
        "VALUES (1, '/photos/a.jpg', 1, 1, 'ok')"
    )
    conn.close()

    cat = Catalog(path)
    assert cat._db.one("PRAGMA user_version")[0] == SCHEMA_VERSION == 5
    (folder,) = cat.reader.folders()
    assert folder.path == Path("/photos") and not folder.offline
    assert [k.path for k in cat.reader.known_files()] == [Path("/photos/a.jpg")]
    assert cat.set_folder_offline(folder.id, True)
    assert cat.reader.folders()[0].offline and cat.reader.folders()[0].offline_since
    assert not cat.set_folder_offline(folder.id, True)  # already offline
    cat.close()


@pytest.mark.parametrize("how", ["unplugged", "empty mount point", "now a file"])
def test_a_root_that_goes_offline_keeps_its_photos_and_costs_no_re_encode(
    library: Library,
    counter: Counter,
    tmp_path: Path,
    make_photo: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
    how: str,
) -> None:
    root = tmp_path / "drive"
    _photos(make_photo, root)
    library.add_folder(root)
    run_job(library.update())
    ids = {k.path: k.id for k in library.catalog.reader.known_files()}
    assert len(ids) == 3

    away = tmp_path / "drive-away"
    root.rename(away)
    if how == "empty mount point":
        root.mkdir()
    elif how == "now a file":
        root.write_bytes(b"not a folder")
    summary = run_job(library.scan())

    assert summary.deleted == 0 and summary.offline == (root,)
    assert {k.path: k.id for k in library.catalog.reader.known_files()} == ids
    assert library.folders()[0].offline
    run_job(library.ingest())  # nothing to do, nothing failed
    assert library.stats().errors == 0

    hits = library.similar_to_file(make_photo(tmp_path / "q.jpg", seed=0), k=3)
    assert len(hits) == 3 and all(h.offline for h in hits)

    assert cli.main(["status"]) == 0
    assert "(offline: " in capsys.readouterr().out
    assert cli.main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert [f["path"] for f in status["offline_folders"]] == [str(root)]
    assert status["images"] == 3

    if root.is_dir():
        root.rmdir()
    elif root.exists():
        root.unlink()
    encoded = counter.images  # (a search by file encodes its query)
    away.rename(root)  # plugged back in
    summary = run_job(library.scan())
    run_job(library.ingest())

    assert summary.offline == () and summary.new == summary.deleted == 0
    assert {k.path: k.id for k in library.catalog.reader.known_files()} == ids
    assert counter.images == encoded  # back without re-encoding
    assert not library.folders()[0].offline
    assert not any(h.offline for h in library.similar_to_file(tmp_path / "q.jpg", k=3))

    library.remove_folder(library.folders()[0].id)  # only this forgets them
    assert library.stats().images == 0


def test_watch_keeps_a_root_that_disappears_and_resumes_when_it_is_back(
    library: Library,
    counter: Counter,
    watching: Callable[..., None],
    tmp_path: Path,
    make_photo: Callable[..., Path],
) -> None:
    root = tmp_path / "drive"
    _photos(make_photo, root / "sub")
    library.add_folder(root)
    watching(debounce_s=0.2, settle_s=0.3, polling_interval_s=0.5)
    wait_until(lambda: library.stats().ok == 3)
    ids = {k.path: k.id for k in library.catalog.reader.known_files()}
    encoded = counter.images

    away = tmp_path / "drive-away"
    root.rename(away)  # unplugged while watched
    wait_until(lambda: library.folders()[0].offline)
    (away / "sub" / "p0.jpg").unlink()  # events from the vanished drive: ignored
    wait_until(lambda: folder_problems(library.catalog.reader) != {})
    assert {k.path: k.id for k in library.catalog.reader.known_files()} == ids

    away.rename(root)  # plugged back in
    wait_until(lambda: not library.folders()[0].offline)
    wait_until(lambda: library.stats().images == 2)  # the deletion made while away
    make_photo(root / "new.jpg", seed=9)  # and it is watched again
    wait_until(lambda: library.stats().ok == 3)
    assert counter.images == encoded + 1  # only the new photo was encoded
    kept = {k.path: k.id for k in library.catalog.reader.known_files() if k.path in ids}
    assert kept == {p: i for p, i in ids.items() if p.name != "p0.jpg"}


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder that an unprivileged user can use too (tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="sscq-offline-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _scan_in_child(*, as_user: int | None) -> dict[str, object]:
    """Run `Library.scan` in a forked child, as `as_user` if given; its summary."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.close(read_end)
            if as_user is not None:
                os.setgroups([])
                os.setgid(as_user)
                os.setuid(as_user)
            with Library(app_paths()) as lib:
                summary = run_job(lib.scan())
            os.write(
                write_end, json.dumps(dataclasses.asdict(summary), default=str).encode()
            )
            code = 0
        except BaseException:
            traceback.print_exc()  # shown by pytest with the failure
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0 and data
    result: dict[str, object] = json.loads(data)
    return result


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork and POSIX permissions")
def test_an_unreadable_subfolder_keeps_its_photos(
    open_library: Callable[..., Library],
    tiny_artifact: ModelArtifact,
    shared_dir: Path,
    make_photo: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = shared_dir / "photos"
    make_photo(root / "ok" / "a.jpg", seed=1)
    make_photo(root / "locked" / "b.jpg", seed=2)
    make_photo(root / "locked" / "deeper" / "c.jpg", seed=3)
    monkeypatch.setenv("SSCQ_DESKTOP_HOME", str(shared_dir / "home"))
    monkeypatch.setenv("SSCQ_DESKTOP_DEFAULT_MODEL", str(shared_dir / "none.onnx"))
    lib = open_library(tiny_artifact)
    lib.add_folder(root)
    run_job(lib.update())
    assert lib.stats().ok == 3
    lib.close()
    as_root = os.geteuid() == 0
    if as_root:
        # chmod 000 does not stop root: the scan runs as an unprivileged user, for
        # whom the folder really is unreadable.
        for path in [shared_dir, *shared_dir.rglob("*")]:
            os.chown(path, NOBODY, NOBODY)

    (root / "locked").chmod(0)
    try:
        summary = _scan_in_child(as_user=NOBODY if as_root else None)
    finally:
        (root / "locked").chmod(0o755)

    assert summary["deleted"] == 0 and summary["files"] == 1
    assert summary["unreadable"] == [str(root / "locked")]
    with Catalog(app_paths().catalog_path) as catalog:
        names = sorted(k.path.name for k in catalog.reader.known_files())
    assert names == ["a.jpg", "b.jpg", "c.jpg"]


@pytest.mark.parametrize("how", ["unplugged", "empty mount point"])
def test_a_root_that_goes_offline_during_the_scan_keeps_its_unwalked_photos(
    library: Library,
    tmp_path: Path,
    make_photo: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    # A drive ejected while a long scan walks it: the folders not walked yet vanish
    # (FileNotFoundError), which must not read as "their photos were deleted".
    root = tmp_path / "drive"
    for i, sub in enumerate(["a", "b", "c"]):
        make_photo(root / sub / f"p{i}.jpg", seed=i)
    library.add_folder(root)
    run_job(library.update())
    ids = {k.path: k.id for k in library.catalog.reader.known_files()}
    assert len(ids) == 3

    def walk_then_eject(*args: Any, **kwargs: Any) -> Iterator[FileStat]:
        for n, entry in enumerate(walk_images(*args, **kwargs)):
            yield entry
            if n == 0:
                root.rename(tmp_path / "drive-away")
                if how == "empty mount point":
                    root.mkdir()

    monkeypatch.setattr(
        "sscq_desktop.library.ingest.indexer.walk_images", walk_then_eject
    )
    summary = run_job(library.scan())

    assert summary.deleted == 0 and summary.offline == (root,)
    assert {k.path: k.id for k in library.catalog.reader.known_files()} == ids
    assert library.folders()[0].offline


def test_an_idle_watch_writes_the_catalog_only_when_a_root_changes_state(
    library: Library,
    watching: Callable[..., None],
    tmp_path: Path,
    make_photo: Callable[..., Path],
) -> None:
    # The watcher looks at every root each second here: an unchanged root must cost no
    # BEGIN IMMEDIATE (it would block other writers of the catalog for nothing).
    root = tmp_path / "drive"
    _photos(make_photo, root, n=1)
    library.add_folder(root)
    watching(debounce_s=0.2, settle_s=0.3, polling_interval_s=0.5)
    wait_until(lambda: library.stats().ok == 1)
    time.sleep(1.5)  # the last writes of the first ingest
    writes: list[str] = []
    library.catalog._db.sqlite.set_trace_callback(
        lambda sql: writes.append(sql) if sql.startswith("BEGIN IMMEDIATE") else None
    )

    time.sleep(3.5)  # three checks or more, root online
    assert writes == []
    root.rename(tmp_path / "drive-away")
    wait_until(lambda: library.folders()[0].offline)
    time.sleep(0.5)
    went = len(writes)
    assert went >= 1
    time.sleep(3.0)  # three checks or more, root offline
    assert len(writes) == went


def test_similar_marks_hits_of_a_root_gone_since_the_last_index(
    tiny_artifact: ModelArtifact,
    tmp_path: Path,
    make_photo: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # No scan or watcher between the unplugging and the search: the search itself
    # looks at the roots of its hits.
    drive, other = tmp_path / "drive", tmp_path / "other"
    _photos(make_photo, drive)
    make_photo(other / "o.jpg", seed=1)
    query = make_photo(tmp_path / "q.jpg", seed=0)
    model = ["--model", str(tiny_artifact.path)]
    assert cli.main([*model, "index", str(drive), str(other)]) == 0

    def offline_by_root() -> dict[str, set[bool]]:
        capsys.readouterr()
        assert cli.main(["similar", str(query), "--top", "10", "--json"]) == 0
        marks: dict[str, set[bool]] = {}
        for hit in json.loads(capsys.readouterr().out):
            root = Path(hit["path"]).parent.name
            marks.setdefault(root, set()).add(hit["offline"])
        return marks

    assert offline_by_root() == {"drive": {False}, "other": {False}}
    drive.rename(tmp_path / "drive-away")
    assert offline_by_root() == {"drive": {True}, "other": {False}}
    drive.mkdir()  # an empty mount point: still offline
    assert offline_by_root() == {"drive": {True}, "other": {False}}
    drive.rmdir()
    (tmp_path / "drive-away").rename(drive)
    assert offline_by_root() == {"drive": {False}, "other": {False}}
