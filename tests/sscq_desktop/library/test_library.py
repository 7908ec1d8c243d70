from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from library_testkit import STORE_AS, Counter, grid_image
from PIL import Image

from sscq_desktop.library.images.thumbnails import thumbnail_path
from sscq_desktop.library.library import Library, NoModelError
from sscq_desktop.library.progress import run_job
from sscq_desktop.library.records import PhotoId, SimilarityBand


def _index(lib: Library, folder: Path) -> None:
    lib.add_folder(folder)
    run_job(lib.update())


def _codes(lib: Library, photo_id: PhotoId) -> bytes:
    ids, codes = lib.catalog.reader.codes(lib.active_model_id or "")
    return bytes(codes[int(np.flatnonzero(ids == photo_id)[0])].tobytes())


def test_indexes_a_tree_of_formats_and_records_broken_files(
    library: Library, tmp_path: Path, make_photo: Callable[..., Path]
) -> None:
    root = tmp_path / "photos"
    for i, name in enumerate(
        ["a.jpg", "b.png", "sub/c.webp", "sub/d.tiff", "sub/deeper/e.gif", "f.bmp"]
    ):
        make_photo(root / name, seed=i)
    (root / "empty.jpg").write_bytes(b"")
    (root / "notes.jpg").write_text("not an image")
    (root / "readme.txt").write_text("ignored: not an image name")
    data = (root / "a.jpg").read_bytes()
    (root / "cut.jpg").write_bytes(data[: len(data) // 3])
    make_photo(root / "png_named.jpg", seed=40, format="PNG")
    Image.new("RGB", (300, 300)).save(root / "huge.png")
    library.ingest_options = type(library.ingest_options)(
        workers=2, batch_size=8, max_pixels=80_000
    )
    (root / ".hidden").mkdir()
    make_photo(root / ".hidden" / "secret.jpg", seed=99)

    _index(library, root)

    stats = library.stats()
    assert stats.images == 11
    assert stats.ok == 7
    assert stats.errors == 4
    assert stats.encoded[library.active_model_id or ""] == 7
    errors = {p.name: reason for p, reason in library.errors()}
    assert set(errors) == {"empty.jpg", "notes.jpg", "cut.jpg", "huge.png"}
    assert "empty" in errors["empty.jpg"]
    assert "not an image" in errors["notes.jpg"]
    assert "too large" in errors["huge.png"]
    photo = library.photo_by_path(root / "sub" / "c.webp")
    assert photo is not None and (photo.width, photo.height) == (96, 64)
    status = library.thumbnail_status(photo.path)
    assert status.state == "ready" and status.path is not None and status.path.is_file()


def test_exif_rotated_photos_rank_their_upright_copy_first(
    library: Library, tmp_path: Path, make_photo: Callable[..., Path]
) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    for orientation, op in STORE_AS.items():
        upright = grid_image(seed=100 + orientation, size=(120, 80))
        upright.save(root / f"upright{orientation}.jpg", quality=95)
        exif = Image.Exif()
        exif[0x0112] = orientation
        upright.transpose(op).save(
            root / f"stored{orientation}.jpg", exif=exif.tobytes(), quality=95
        )
    for seed in range(20):
        make_photo(root / f"other{seed}.jpg", seed=seed, size=(120, 80))
    _index(library, root)

    for orientation in STORE_AS:
        up = library.photo_by_path(root / f"upright{orientation}.jpg")
        rot = library.photo_by_path(root / f"stored{orientation}.jpg")
        assert up is not None and rot is not None
        assert library.similar_to_photo(rot.id, k=3)[0].photo_id == up.id
        assert library.similar_to_photo(up.id, k=3)[0].photo_id == rot.id


def test_rename_and_move_keep_codes_without_encoding(
    library: Library, counter: Counter, tmp_path: Path, make_photo: Callable[..., Path]
) -> None:
    root = tmp_path / "photos"
    for i in range(6):
        make_photo(root / f"p{i}.jpg", seed=i)
    _index(library, root)
    before = library.photo_by_path(root / "p0.jpg")
    moved = library.photo_by_path(root / "p1.jpg")
    assert before is not None and moved is not None
    codes0, codes1 = _codes(library, before.id), _codes(library, moved.id)
    calls = counter.calls

    os.rename(root / "p0.jpg", root / "renamed.jpg")
    (root / "elsewhere").mkdir()
    shutil.move(root / "p1.jpg", root / "elsewhere" / "p1.jpg")
    run_job(library.update())

    assert counter.calls == calls  # zero encoder calls
    after = library.photo_by_path(root / "renamed.jpg")
    after1 = library.photo_by_path(root / "elsewhere" / "p1.jpg")
    assert after is not None and after.id == before.id
    assert after1 is not None and after1.id == moved.id
    assert _codes(library, after.id) == codes0 and _codes(library, after1.id) == codes1
    assert library.photo_by_path(root / "p0.jpg") is None
    assert library.stats().images == 6


def test_delete_and_modify(
    library: Library, counter: Counter, tmp_path: Path, make_photo: Callable[..., Path]
) -> None:
    root = tmp_path / "photos"
    for i in range(5):
        make_photo(root / f"p{i}.jpg", seed=i)
    _index(library, root)
    gone = library.photo_by_path(root / "p0.jpg")
    changed = library.photo_by_path(root / "p1.jpg")
    assert gone is not None and changed is not None and gone.content_key
    thumb = thumbnail_path(library.paths.thumbnails_dir, gone.content_key)
    assert thumb.is_file()
    old_codes = _codes(library, changed.id)

    (root / "p0.jpg").unlink()
    make_photo(root / "p1.jpg", seed=1234)
    st = (root / "p1.jpg").stat()
    os.utime(root / "p1.jpg", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    images = counter.images
    run_job(library.update())

    assert library.photo_by_path(root / "p0.jpg") is None
    assert not thumb.exists()
    assert counter.images == images + 1  # only the modified file was encoded
    again = library.photo_by_path(root / "p1.jpg")
    assert again is not None and again.id == changed.id and again.status == "ok"
    assert _codes(library, again.id) != old_codes
    assert library.stats().images == 4


def test_similar_to_file_threshold_and_folder_scope(
    library: Library, tmp_path: Path, make_photo: Callable[..., Path]
) -> None:
    root = tmp_path / "photos"
    make_photo(root / "a" / "target.jpg", seed=7, size=(200, 150))
    (root / "b").mkdir(parents=True)
    grid_image(7, (100, 75)).save(root / "b" / "small_copy.png")
    for i in range(10):
        make_photo(root / "a" / f"x{i}.jpg", seed=1000 + i)
        make_photo(root / "b" / f"y{i}.jpg", seed=2000 + i)
    _index(library, root)
    query = tmp_path / "outside.jpg"
    grid_image(7, (400, 300)).save(query, quality=90)

    hits = library.similar_to_file(query, k=5)
    assert {hits[0].path.name, hits[1].path.name} == {"target.jpg", "small_copy.png"}
    assert hits[0].distance <= hits[1].distance <= hits[2].distance
    assert all(h.model_id == library.active_model_id for h in hits)
    assert 0.0 <= hits[-1].score <= hits[0].score <= 1.0
    # Copies read as copies (whatever their size), the other photos as something else.
    assert [h.band for h in hits[:2]] == [SimilarityBand.COPY] * 2
    assert all(h.band is not SimilarityBand.COPY for h in hits[2:])
    assert hits[2].score < hits[1].score
    by_score = library.similar_to_file(query, k=20, min_score=hits[1].score - 1e-6)
    assert {h.path.name for h in by_score} == {"target.jpg", "small_copy.png"}
    copies = library.similar_to_file(query, k=20, min_band=SimilarityBand.COPY)
    assert copies == hits[:2]

    scoped = library.similar_to_file(query, k=5, folders=[root / "b"])
    assert scoped[0].path.name == "small_copy.png"
    assert all(h.path.parent == root / "b" for h in scoped)

    tight = library.similar_to_file(query, k=20, max_distance=hits[1].distance)
    assert {h.path.name for h in tight} == {"target.jpg", "small_copy.png"}

    inside = library.similar_to_file(root / "a" / "target.jpg", k=3)
    assert all(h.path.name != "target.jpg" for h in inside)  # the query itself excluded
    assert inside[0].path.name == "small_copy.png"


def test_near_duplicates_group_copies_and_not_merely_similar(
    library: Library, tmp_path: Path, make_photo: Callable[..., Path]
) -> None:
    root = tmp_path / "photos"
    for i in range(12):
        make_photo(root / f"p{i}.jpg", seed=500 + i, size=(160, 120))
    grid_image(503, (80, 60)).save(root / "p3_small.png")
    grid_image(507, (160, 120)).save(root / "p7_again.webp", quality=90)
    _index(library, root)

    groups = run_job(library.near_duplicates())

    names = sorted(sorted(p.name for p in g.paths) for g in groups)
    assert names == [["p3.jpg", "p3_small.png"], ["p7.jpg", "p7_again.webp"]]


def test_no_model_is_a_clear_error(
    open_library: Callable[..., Library],
    tmp_path: Path,
) -> None:
    # The autouse app_home fixture points the default model at a missing file.
    lib = open_library()
    assert lib.active_model_id is None
    with pytest.raises(NoModelError):
        run_job(lib.ingest())
    with pytest.raises(NoModelError):
        lib.similar_to_photo(PhotoId(1))


def test_pause_resume_and_cancel_of_ingest(
    library: Library, tmp_path: Path, make_photo: Callable[..., Path]
) -> None:
    import threading

    root = tmp_path / "photos"
    for i in range(40):
        make_photo(root / f"p{i}.jpg", seed=i)
    library.add_folder(root)
    run_job(library.scan())
    cancel, pause = threading.Event(), threading.Event()
    job = library.ingest(cancel=cancel, pause=pause)
    first = next(job)
    assert first.done == 0 and first.total == 40
    second = next(job)
    assert 0 < second.done < 40
    pause.set()
    paused = next(job)
    assert paused.paused
    pause.clear()
    cancel.set()
    summary = run_job(job)
    assert summary.cancelled
    done = library.stats().encoded[library.active_model_id or ""]
    assert 0 < done < 40
    summary2 = run_job(library.ingest())  # resumes: only the rest
    assert summary2.done == 40 - done
    assert library.stats().encoded[library.active_model_id or ""] == 40


def test_a_new_library_uses_the_shipped_default_model(
    open_library: Callable[..., Library],
    tmp_path: Path,
    make_photo: Callable[..., Path],
    shipped_default_model: Path,
) -> None:
    from sscq_desktop.model.artifact import read_artifact

    shipped = read_artifact(shipped_default_model)
    lib = open_library()
    assert lib.active_model_id == shipped.model_id == lib.default_model_id
    root = tmp_path / "photos"
    for i in range(4):
        make_photo(root / f"p{i}.jpg", seed=i)
    _index(lib, root)
    query = tmp_path / "outside.jpg"
    Image.open(root / "p2.jpg").resize((150, 110)).save(query, quality=80)
    hits = lib.similar_to_file(query, k=4)
    assert hits[0].path.name == "p2.jpg" and hits[0].model_id == shipped.model_id
    assert hits[0].score > hits[1].score
