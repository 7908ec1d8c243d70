"""A damaged catalog is recognised, kept aside and rebuilt from what it listed (issue 13)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from sscq_desktop.library.catalog.catalog import Catalog
from sscq_desktop.library.catalog.catalog_file import CatalogDamagedError
from sscq_desktop.library.catalog.reader import ACTIVE_MODEL_KEY
from sscq_desktop.library.catalog.rebuild import catalog_health, rebuild_catalog
from sscq_desktop.library.catalog.schema import connect, migrate


def _library(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A catalog with a folder, a gone model and an active model on disk."""
    path = tmp_path / "data" / "catalog.sqlite3"
    photos = tmp_path / "photos"
    photos.mkdir()
    model = tmp_path / "kept.onnx"
    model.write_bytes(b"model bytes")
    with Catalog(path) as catalog:
        catalog.add_folder(photos)
        for model_id, file in (("kept", model), ("gone", tmp_path / "gone.onnx")):
            catalog.register_model(
                model_id=model_id, path=file, source="imported", M=8, K=16, L=4
            )
        catalog.set_setting(ACTIVE_MODEL_KEY, "kept")
    return path, photos, model


def test_garbage_and_empty_files_are_damaged_never_a_new_library(
    tmp_path: Path,
) -> None:
    path = tmp_path / "catalog.sqlite3"
    path.write_bytes(b"this is not SQLite" * 500)
    with pytest.raises(CatalogDamagedError, match=str(path)) as info:
        Catalog(path)
    assert "rebuild-catalog" in str(info.value)
    assert catalog_health(path) is not None
    path.write_bytes(b"")
    with pytest.raises(CatalogDamagedError, match="0 bytes"):
        Catalog(path)
    assert path.stat().st_size == 0  # left as it was
    assert catalog_health(path) == "empty file, 0 bytes"


def test_rebuild_keeps_the_old_file_and_carries_folders_and_models(
    tmp_path: Path,
) -> None:
    path, photos, model = _library(tmp_path)
    assert catalog_health(path) is None
    before = path.read_bytes()

    report = rebuild_catalog(path, now=datetime(2026, 1, 2, 3, 4, 5))

    assert report.kept_as == path.with_name("catalog.sqlite3.damaged-20260102-030405")
    assert report.kept_as.read_bytes() == before
    assert report.folders == [str(photos)]
    assert report.models == ["kept"] and report.active_model == "kept"
    assert any("gone" in line for line in report.lost)
    with Catalog(path) as catalog:
        [folder] = catalog.reader.folders()
        assert folder.path == photos
        assert [m.model_id for m in catalog.reader.models()] == ["kept"]
        assert catalog.reader.model("kept") is not None
        assert catalog.reader.active_model_id() == "kept"
        assert catalog.reader.stats().images == 0
    # A second rebuild in the same second does not overwrite the first copy.
    again = rebuild_catalog(path, now=datetime(2026, 1, 2, 3, 4, 5))
    assert again.kept_as != report.kept_as and report.kept_as.exists()


def test_rebuild_carries_the_folders_of_a_version_1_catalog(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    conn = connect(path)
    migrate(conn, target=1)  # before folders had the (now unused) `polling` column
    conn.execute("INSERT INTO folders (path, added_at) VALUES ('/photos', 'then')")
    conn.close()

    report = rebuild_catalog(path)

    assert report.folders == ["/photos"] and report.lost == []
    with Catalog(path) as catalog:
        assert [f.path for f in catalog.reader.folders()] == [Path("/photos")]
