"""File and folder names that are not valid UTF-8 (issue 13, item 1).

On Linux a name is bytes; ``b"caf\\xe9.jpg"`` (Latin-1) comes from old cameras, zip
archives and network shares. Such a photo is indexed like any other by ``index`` and
``watch``, stored losslessly, shown readably, and found by ``similar`` with a path that
opens the real file.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from library_testkit import wait_until

from sscq_desktop import cli
from sscq_desktop.library.catalog.catalog import Catalog
from sscq_desktop.library.library import Library
from sscq_desktop.library.path_text import display_path, from_catalog, to_catalog
from sscq_desktop.model.artifact import ModelArtifact

pytestmark = pytest.mark.skipif(
    sys.platform != "linux", reason="only Linux file names are arbitrary bytes"
)

BAD_FOLDER = os.fsdecode(b"vacances \xe9t\xe9")  # "vacances été" in Latin-1
BAD_FILE = os.fsdecode(b"caf\xe9.jpg")


def test_catalog_text_round_trips_every_name() -> None:
    names = [
        "/photos/plain.jpg",
        "/photos/été/ü.jpg",
        os.fsdecode(b"/photos/caf\xe9/\xff\xfe.jpg"),
        "/photos/100%.jpg",
    ]
    for name in names:
        stored = to_catalog(name)
        stored.encode("utf-8")  # valid text for SQLite
        assert from_catalog(stored) == Path(name)
        assert os.fsencode(from_catalog(stored)) == os.fsencode(name)
    assert to_catalog("/photos/été/ü.jpg") == "/photos/été/ü.jpg"  # no migration
    assert display_path(os.fsdecode(b"/p/caf\xe9.jpg")) == "/p/caf\ufffd.jpg"


def test_a_folder_named_in_latin1_keeps_its_photos_in_scope(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    root = tmp_path / "photos"
    (root / BAD_FOLDER).mkdir(parents=True)
    (root / "other").mkdir()
    folder = catalog.add_folder(root)
    with catalog.transaction() as conn:
        for i, path in enumerate(
            [root / BAD_FOLDER / BAD_FILE, root / "other" / "x.jpg"]
        ):
            conn.execute(
                "INSERT INTO images (folder_id, path, size, mtime_ns) VALUES (?, ?, ?, ?)",
                (folder.id, to_catalog(path), i, i),
            )
    known = {k.path for k in catalog.reader.known_files(under=[root / BAD_FOLDER])}
    assert known == {root / BAD_FOLDER / BAD_FILE}
    assert len(catalog.reader.ids_under([root / BAD_FOLDER])) == 1
    assert catalog.reader.photo_by_path(root / BAD_FOLDER / BAD_FILE) is not None
    catalog.close()


def test_index_status_and_similar_handle_names_that_are_not_utf8(
    tiny_artifact: ModelArtifact,
    tmp_path: Path,
    make_photo: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path / BAD_FOLDER
    for i in range(4):
        make_photo(root / f"p{i}.jpg", seed=i)
    bad = make_photo(root / BAD_FILE, seed=42)
    make_photo(root / "sub" / "fine.jpg", seed=7)

    assert (
        cli.main(["--model", str(tiny_artifact.path), "index", str(root), "--json"])
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["files"] == 6 and summary["errors"] == 0 and summary["images"] == 6

    assert cli.main(["status"]) == 0
    out = capsys.readouterr().out
    assert "vacances \ufffdt\ufffd" in out  # readable, one U+FFFD per bad byte
    assert "images:   6 (6 ok" in out

    query = tmp_path / "query.jpg"
    shutil.copyfile(bad, query)
    assert cli.main(["similar", str(query), "--top", "2", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert Path(hits[0]["path"]) == bad
    assert Path(hits[0]["path"]).read_bytes() == bad.read_bytes()  # the real file
    assert hits[0]["display_path"].endswith("caf\ufffd.jpg")

    assert cli.main(["similar", str(query), "--top", "1"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("caf\ufffd.jpg")


def test_watch_indexes_names_that_are_not_utf8(
    library: Library,
    watching: Callable[..., None],
    tmp_path: Path,
    make_photo: Callable[..., Path],
) -> None:
    root = tmp_path / "photos"
    make_photo(root / "first.jpg", seed=1)
    library.add_folder(root)
    watching(debounce_s=0.2, settle_s=0.3)
    wait_until(lambda: library.stats().ok == 1)

    bad = make_photo(root / BAD_FOLDER / BAD_FILE, seed=2)
    make_photo(root / "after.jpg", seed=3)  # the watcher keeps going afterwards
    wait_until(lambda: library.stats().ok == 3)
    photo = library.photo_by_path(bad)
    assert photo is not None and photo.status == "ok" and photo.path == bad

    renamed = root / BAD_FOLDER / os.fsdecode(b"\xe0 voir.jpg")
    bad.rename(renamed)
    wait_until(lambda: library.photo_by_path(renamed) is not None)
    assert library.photo_by_path(renamed).id == photo.id  # type: ignore[union-attr]
    first = library.photo_by_path(root / "first.jpg")
    assert first is not None
    (hit,) = [
        h for h in library.similar_to_photo(first.id, k=5) if h.photo_id == photo.id
    ]
    assert hit.path == renamed and hit.path.read_bytes() == renamed.read_bytes()
