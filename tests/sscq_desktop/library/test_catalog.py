from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sscq_desktop.library.catalog.catalog import Catalog, IngestRecord
from sscq_desktop.library.catalog.connection import CatalogError
from sscq_desktop.library.catalog.reader import (
    ACTIVE_MODEL_KEY,
    PENDING_MODEL_KEY,
    CatalogReader,
)
from sscq_desktop.library.catalog.reconciliation import FileStat, Reconciliation
from sscq_desktop.library.catalog.schema import (
    SCHEMA_VERSION,
    CatalogVersionError,
    connect,
    migrate,
)
from sscq_desktop.library.records import PhotoId


def _catalog(tmp_path: Path) -> Catalog:
    return Catalog(tmp_path / "catalog.sqlite3")


def test_new_catalog_is_wal_and_at_the_latest_version(tmp_path: Path) -> None:
    cat = _catalog(tmp_path)
    mode = cat._db.sqlite.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert cat._db.sqlite.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert cat.reader.integrity_check() == "ok"
    cat.close()


def test_migrates_an_old_catalog_keeping_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    conn = connect(path)
    assert migrate(conn, target=1) == 1
    conn.execute("INSERT INTO folders (path, added_at) VALUES ('/photos', 'then')")
    conn.close()

    cat = Catalog(path)

    assert [f.path for f in cat.reader.folders()] == [Path("/photos")]
    assert cat._db.one("PRAGMA user_version")[0] == SCHEMA_VERSION
    cat.close()


def test_migrates_a_version_2_catalog(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    conn = connect(path)
    assert migrate(conn, target=2) == 2
    conn.execute("INSERT INTO folders (path, added_at) VALUES ('/photos', 'then')")
    conn.execute(
        "INSERT INTO images (folder_id, path, size, mtime_ns, status, error) "
        "VALUES (1, '/photos/a.jpg', 1, 1, 'error', 'broken')"
    )
    conn.close()

    cat = Catalog(path)

    assert cat._db.one("PRAGMA user_version")[0] == SCHEMA_VERSION
    # The column is no longer used (decoding runs in worker processes), but a
    # catalog of any version still migrates through it.
    assert cat._db.rows("SELECT path, status, error, decode_crashes FROM images") == [
        ("/photos/a.jpg", "error", "broken", 0)
    ]
    cat.close()


def test_the_writer_reads_through_its_own_connection(tmp_path: Path) -> None:
    cat = _catalog(tmp_path)
    with CatalogReader.open(cat.path) as other, cat.transaction() as conn:
        conn.execute("INSERT INTO folders (path, added_at) VALUES ('/photos', 'now')")
        # Inside the writer's transaction its reader sees the row, another does not.
        assert [f.path for f in cat.reader.folders()] == [Path("/photos")]
        assert other.folders() == []
    with CatalogReader.open(cat.path) as after:
        assert [f.path for f in after.folders()] == [Path("/photos")]
    cat.close()


def test_a_reader_needs_an_existing_catalog(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="no catalog"):
        CatalogReader.open(tmp_path / "missing.sqlite3")


def test_refuses_a_catalog_from_a_newer_app(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(CatalogVersionError, match="newer"):
        Catalog(path)


def test_nested_folders_are_merged(tmp_path: Path) -> None:
    cat = _catalog(tmp_path)
    (tmp_path / "a" / "b").mkdir(parents=True)
    inner = cat.add_folder(tmp_path / "a" / "b")
    assert cat.add_folder(tmp_path / "a" / "b") == inner
    outer = cat.add_folder(tmp_path / "a")
    assert [f.id for f in cat.reader.folders()] == [outer.id]
    assert cat.add_folder(tmp_path / "a" / "b").id == outer.id
    cat.close()


def _register(cat: Catalog, model_id: str = "m1") -> None:
    cat.register_model(
        model_id=model_id, path=Path("/m.onnx"), source="imported", M=2, K=16, L=2
    )


def test_records_outcomes_and_derives_pending_work(tmp_path: Path) -> None:
    cat = _catalog(tmp_path)
    folder = cat.add_folder(tmp_path)
    _register(cat)
    files = [FileStat(tmp_path / f"{i}.jpg", 10, 1, folder.id) for i in range(5)]
    cat.apply_reconciliation(Reconciliation(new=[(f, None) for f in files]))
    work = cat.reader.missing_work(["m1"], limit=3)
    assert [w.path.name for w in work] == ["0.jpg", "1.jpg", "2.jpg"]
    assert cat.reader.count_missing(["m1"]) == 5

    cat.record_ingest(
        [
            IngestRecord(
                work[0].photo_id,
                10,
                1,
                "k0",
                4,
                3,
                encodings={"m1": (b"\x01\x02", b"\x00" * 8)},
                hashes=(b"\x00" * 8, b"\x00" * 8),
            ),
            IngestRecord(work[1].photo_id, 10, 1, None, error="broken"),
            IngestRecord(
                PhotoId(999),
                10,
                1,
                "k",
                4,
                3,
                encodings={"m1": (b"\x01\x02", b"\x00" * 8)},
            ),
        ]
    )

    assert cat.reader.count_missing(["m1"]) == 3  # failed files are not pending
    ids, codes = cat.reader.codes("m1")
    assert ids.tolist() == [work[0].photo_id] and codes.tolist() == [
        [1, 2]
    ]  # no orphan for 999
    assert cat.reader.errors()[0][1] == "broken"
    reader = CatalogReader.open(cat.path)
    assert reader.stats().encoded == {"m1": 1}
    assert reader.count_errors() == reader.stats().errors == 1
    reader.close()
    cat.close()


def test_the_hash_backfill_reads_its_index(tmp_path: Path) -> None:
    cat = _catalog(tmp_path)
    _register(cat)
    statements: list[str] = []
    cat._db.sqlite.set_trace_callback(statements.append)
    assert cat.reader.missing_work(["m1"]) == []
    cat._db.sqlite.set_trace_callback(None)
    unhashed = [s for s in statements if "phash IS NULL" in s]
    assert len(unhashed) == 1
    plan = cat._db.rows(f"EXPLAIN QUERY PLAN {unhashed[0]}")
    assert "images_unhashed" in str(plan)  # every ingest asks, on every library
    cat.close()


def test_counting_errors_reads_the_status_index(tmp_path: Path) -> None:
    cat = _catalog(tmp_path)
    statements: list[str] = []
    cat._db.sqlite.set_trace_callback(statements.append)
    assert cat.reader.count_errors() == 0
    cat._db.sqlite.set_trace_callback(None)
    (sql,) = statements
    plan = cat._db.rows(f"EXPLAIN QUERY PLAN {sql}")
    assert "images_status" in str(plan)  # the GUI counts on every refresh
    cat.close()


def test_switch_completes_only_when_every_image_is_encoded(tmp_path: Path) -> None:
    cat = _catalog(tmp_path)
    folder = cat.add_folder(tmp_path)
    _register(cat, "m1")
    _register(cat, "m2")
    cat.apply_reconciliation(
        Reconciliation(new=[(FileStat(tmp_path / "a.jpg", 1, 1, folder.id), None)])
    )
    assert not cat.complete_switch("m2")
    pid = cat.reader.missing_work(["m2"])[0].photo_id
    cat.record_ingest(
        [
            IngestRecord(
                pid, 1, 1, "k", 1, 1, encodings={"m2": (b"\x00\x00", b"\x00" * 8)}
            )
        ]
    )
    assert cat.complete_switch("m2")
    assert (
        cat.reader.active_model_id() == "m2" and cat.reader.pending_model_id() is None
    )
    cat.close()


def test_a_switch_drops_older_codes_in_its_own_transaction(tmp_path: Path) -> None:
    cat = _catalog(tmp_path)
    folder = cat.add_folder(tmp_path)
    for model_id in ("m1", "m2", "m3"):
        _register(cat, model_id)
    cat.apply_reconciliation(
        Reconciliation(new=[(FileStat(tmp_path / "a.jpg", 1, 1, folder.id), None)])
    )
    pid = cat.reader.missing_work(["m1"])[0].photo_id
    codes = {m: (b"\x00\x00", b"\x00" * 8) for m in ("m1", "m2", "m3")}
    cat.record_ingest([IngestRecord(pid, 1, 1, "k", 1, 1, encodings=codes)])
    cat.set_setting(ACTIVE_MODEL_KEY, "m1")
    assert cat.complete_switch("m2")
    assert cat.reader.stats().encoded == {"m1": 1, "m2": 1, "m3": 0}  # m3: never active
    cat.record_ingest([IngestRecord(pid, 1, 1, "k", 1, 1, encodings=codes)])
    cat._db.sqlite.execute(
        "CREATE TEMP TRIGGER fail BEFORE DELETE ON encodings "
        "BEGIN SELECT RAISE(ABORT, 'killed'); END"
    )

    with pytest.raises(sqlite3.IntegrityError, match="killed"):
        cat.complete_switch("m3")  # fails while dropping the codes of m1

    assert cat.reader.active_model_id() == "m2"  # nothing of that switch happened
    assert cat.reader.stats().encoded == {"m1": 1, "m2": 1, "m3": 1}
    cat._db.sqlite.execute("DROP TRIGGER fail")
    assert cat.complete_switch("m3")
    assert cat.reader.active_model_id() == "m3"
    assert cat.reader.stats().encoded == {"m1": 0, "m2": 1, "m3": 1}
    assert cat.complete_switch("m3")  # already active: nothing more is dropped
    assert cat.reader.stats().encoded == {"m1": 0, "m2": 1, "m3": 1}
    cat.close()


def test_a_switch_to_one_model_keeps_another_pending_with_its_codes(
    tmp_path: Path,
) -> None:
    """A switch the user chose (X) completing while a retrain's model (R) is pending:
    R stays pending and keeps the codes it has; only the older model's are dropped."""
    cat = _catalog(tmp_path)
    folder = cat.add_folder(tmp_path)
    for model_id in ("old", "active", "X", "R"):
        _register(cat, model_id)
    cat.apply_reconciliation(
        Reconciliation(new=[(FileStat(tmp_path / "a.jpg", 1, 1, folder.id), None)])
    )
    pid = cat.reader.missing_work(["X"])[0].photo_id
    codes = {m: (b"\x00\x00", b"\x00" * 8) for m in ("old", "active", "X", "R")}
    cat.record_ingest([IngestRecord(pid, 1, 1, "k", 1, 1, encodings=codes)])
    cat.set_setting(ACTIVE_MODEL_KEY, "active")
    cat.set_setting(PENDING_MODEL_KEY, "R")

    assert cat.complete_switch("X")

    assert cat.reader.active_model_id() == "X"
    assert cat.reader.pending_model_id() == "R"
    assert cat.reader.stats().encoded == {"old": 0, "active": 1, "X": 1, "R": 1}
    assert cat.complete_switch("R")  # its own switch completes and clears it
    assert cat.reader.active_model_id() == "R" and cat.reader.pending_model_id() is None
    assert cat.reader.stats().encoded == {"old": 0, "active": 0, "X": 1, "R": 1}
    cat.close()
