"""Near duplicates: perceptual hashes, groups that never chain, catalogs from before V5.

Real photos on disk, the real catalog and the tiny generated model; the hashes are
checked for their known properties on photo-like images (smooth shapes and texture).
"""

from __future__ import annotations

import dataclasses
import io
import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from broken_files import break_in_place
from library_testkit import Counter
from PIL import Image, ImageDraw

from sscq_desktop.library import library as library_module
from sscq_desktop.library.catalog.schema import SCHEMA_VERSION
from sscq_desktop.library.images.perceptual_hash import (
    colour_distance,
    colour_layout,
    dhash,
    hamming,
    perceptual_hashes,
    phash,
)
from sscq_desktop.library.library import Library
from sscq_desktop.library.progress import run_job
from sscq_desktop.library.search import duplicates
from sscq_desktop.library.search.duplicates import (
    DUPLICATE_LEVELS,
    DuplicateLevel,
    DuplicatePairs,
    duplicate_level,
    group_pairs,
)
from sscq_desktop.model.artifact import ModelArtifact


def scene(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A photo-like image: a gradient sky, random ellipses and rectangles, grain."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = rng.uniform(40, 200, 3)[None, None, :] + (yy / h)[..., None] * rng.uniform(
        -60, 60, 3
    )
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(8):
        x0, y0 = rng.integers(0, w - 20), rng.integers(0, h - 20)
        x1, y1 = x0 + rng.integers(20, w // 2), y0 + rng.integers(20, h // 2)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
    grain = rng.integers(-8, 9, (h, w, 3))
    return Image.fromarray(
        np.clip(np.asarray(image, dtype=np.int16) + grain, 0, 255).astype(np.uint8)
    )


def _bits(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def test_hashes_of_copies_are_close_and_of_other_photos_about_half_apart() -> None:
    photo = scene(1)
    same = perceptual_hashes(photo)
    assert same == perceptual_hashes(photo.copy())  # identical: distance 0
    for copy in (
        photo.resize((160, 120), Image.Resampling.LANCZOS),
        photo.resize((640, 480), Image.Resampling.BICUBIC),
        _jpeg(photo, 30),
    ):
        h = perceptual_hashes(copy)
        assert _bits(h.dhash, same.dhash) <= 6 and _bits(h.phash, same.phash) <= 6
    others = [perceptual_hashes(scene(100 + i)) for i in range(12)]
    d = [_bits(o.dhash, same.dhash) for o in others]
    p = [_bits(o.phash, same.phash) for o in others]
    assert 24 <= np.mean(d) <= 40 and 24 <= np.mean(p) <= 40  # ~32 of 64: unrelated
    assert min(d) > 12 and min(p) > 12


def test_a_padded_copy_hashes_like_its_original() -> None:
    photo = scene(2)
    padded = Image.new("RGB", (400, 360), (255, 255, 255))
    padded.paste(photo, (40, 60))
    assert perceptual_hashes(padded) == perceptual_hashes(photo)
    # Untrimmed, the padding changes the hashes a lot.
    assert _bits(phash(padded), phash(photo)) > 10
    assert _bits(dhash(padded), dhash(photo)) > 10


def _pairs(*pairs: tuple[int, int, int]) -> DuplicatePairs:
    return DuplicatePairs(
        np.array([p[0] for p in pairs], dtype=np.int64),
        np.array([p[1] for p in pairs], dtype=np.int64),
        np.array([p[2] for p in pairs], dtype=np.int64),
        np.ones(len(pairs), dtype=np.float32),
    )


def test_groups_never_chain() -> None:
    # A ~ B, B ~ C, A !~ C: never {A, B, C}.
    groups = group_pairs(3, _pairs((0, 1, 5), (1, 2, 8)))
    assert groups == [[0, 1]]  # B's closest match joins it; C matches B only
    # A chain of 200 photos, each like its neighbour only, gives pairs, not one group.
    chain = group_pairs(200, _pairs(*[(i, i + 1, 4) for i in range(199)]))
    assert max(len(g) for g in chain) == 2
    # Four mutual copies and a fifth matching only one of them.
    clique = [(a, b, 2) for a in range(4) for b in range(a + 1, 4)] + [(3, 4, 1)]
    assert group_pairs(5, _pairs(*clique)) == [[0, 1, 2, 3]]


def _library_photos(root: Path) -> None:
    root.mkdir(parents=True)
    photo = scene(7)
    photo.save(root / "holiday.jpg", quality=92)
    photo.resize((200, 150), Image.Resampling.LANCZOS).save(root / "holiday_small.jpg")
    photo.crop((0, 0, 320, 226)).save(root / "holiday_crop.jpg", quality=85)  # 6%
    for i in range(6):
        scene(50 + i).save(root / f"other_{i}.jpg", quality=92)


def test_copies_are_grouped_the_best_first_and_other_photos_stay_apart(
    library: Library, tmp_path: Path
) -> None:
    _library_photos(tmp_path / "photos")
    library.add_folder(tmp_path / "photos")
    run_job(library.update())
    groups = run_job(library.near_duplicates())
    assert [[p.name for p in g.paths] for g in groups] == [
        ["holiday.jpg", "holiday_crop.jpg", "holiday_small.jpg"]
    ]
    assert groups[0].keep.width == 320 and groups[0].keep.height == 240


def _make_pre_v5(catalog: Path) -> None:
    """Turn a catalog into what an app before schema version 5 left behind."""
    conn = sqlite3.connect(catalog)
    conn.execute("DROP INDEX images_unhashed")
    conn.execute("ALTER TABLE images DROP COLUMN dhash")
    conn.execute("ALTER TABLE images DROP COLUMN phash")
    conn.execute("PRAGMA user_version=4")
    conn.commit()
    conn.close()


def test_a_catalog_from_before_gets_its_hashes_on_the_next_ingest_without_encoding(
    open_library: Callable[..., Library],
    counter: Counter,
    tiny_artifact: ModelArtifact,
    tmp_path: Path,
) -> None:
    _library_photos(tmp_path / "photos")
    lib = open_library(tiny_artifact)
    lib.add_folder(tmp_path / "photos")
    run_job(lib.update())
    catalog = lib.paths.catalog_path
    lib.close()
    _make_pre_v5(catalog)

    lib = open_library()  # the same model, still active; migrates to V5: the photos are there, not hashed yet
    assert sqlite3.connect(catalog).execute("PRAGMA user_version").fetchone()[0] == (
        SCHEMA_VERSION
    )
    assert len(lib.similar_to_file(tmp_path / "photos" / "holiday.jpg", k=3)) == 3
    assert run_job(lib.near_duplicates()) == []  # nothing hashed yet: nothing paired
    lib.encoder(tiny_artifact.model_id)  # loaded and probed (two blank images) first
    encoded = counter.images
    summary = run_job(lib.ingest())
    assert summary.done == 9 and summary.errors == 0
    assert summary.encoded == {tiny_artifact.model_id: 0}
    assert counter.images == encoded  # decoded again for the hashes, not re-encoded
    groups = run_job(lib.near_duplicates())
    assert [len(g.photos) for g in groups] == [3]
    assert run_job(lib.ingest()).done == 0  # nothing left to backfill
    lib.close()


@pytest.mark.parametrize("dense", [64, 0])  # candidates per row that switch to a matmul
@pytest.mark.parametrize("level", DUPLICATE_LEVELS, ids=lambda lv: lv.key)
def test_the_block_search_finds_exactly_the_pairs_the_rule_accepts(
    level: DuplicateLevel, dense: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(duplicates, "_DENSE", dense)
    monkeypatch.setattr(duplicates, "_BLOCK_PAIRS", 3000)  # many blocks
    rng = np.random.default_rng(3)
    n = 300
    dh = rng.integers(0, 2**63, n, dtype=np.uint64)
    ph = rng.integers(0, 2**63, n, dtype=np.uint64)
    emb = rng.normal(size=(n, 16)).astype(np.float32)
    for k in range(0, 120, 2):  # plant copies: a few flipped bits, a nudged embedding
        flips = rng.integers(0, 64, size=(2, int(rng.integers(0, 25))))
        dh[k + 1] = dh[k] ^ np.uint64(sum(1 << int(b) for b in set(flips[0])))
        ph[k + 1] = ph[k] ^ np.uint64(sum(1 << int(b) for b in set(flips[1])))
        emb[k + 1] = emb[k] + rng.normal(scale=0.3, size=16)
    pairs = run_job(duplicates.find_pairs(dh, ph, emb, level))

    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    dist = (hamming(dh[:, None], dh[None]) + hamming(ph[:, None], ph[None])).astype(int)
    want = level.matches(dist, unit @ unit.T) & np.triu(np.ones((n, n), bool), 1)
    got = sorted(zip(pairs.first.tolist(), pairs.second.tolist(), strict=True))
    assert got == sorted(zip(*np.nonzero(want), strict=True))
    assert len(got) > 10  # the planted copies are there
    assert pairs.hash_distance.tolist() == [
        dist[a, b] for a, b in zip(pairs.first, pairs.second, strict=True)
    ]


def test_a_photo_of_the_same_layout_in_other_colours_is_no_copy(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _library_photos(tmp_path / "photos")
    photo = Image.open(tmp_path / "photos" / "holiday.jpg").convert("RGB")
    red, green, blue = photo.split()
    Image.merge("RGB", (blue, green, red)).save(tmp_path / "photos" / "recoloured.jpg")
    library.add_folder(tmp_path / "photos")
    run_job(library.update())
    colour_blind = dataclasses.replace(
        duplicate_level("edited"), max_colour_distance=float("inf")
    )
    monkeypatch.setattr(library_module, "duplicate_level", lambda key: colour_blind)
    blind = run_job(library.near_duplicates())
    assert "recoloured.jpg" in [p.name for g in blind for p in g.paths]  # hashes agree
    monkeypatch.undo()
    groups = run_job(library.near_duplicates())
    assert [[p.name for p in g.paths] for g in groups] == [
        ["holiday.jpg", "holiday_crop.jpg", "holiday_small.jpg"]
    ]


def test_colour_layouts_keep_brightness_edits_and_tell_colours_apart() -> None:
    photo = scene(7)
    brighter = photo.point(lambda v: min(255, int(v * 1.3)))
    red, green, blue = photo.split()
    swapped = Image.merge("RGB", (blue, green, red))
    assert colour_distance(colour_layout(photo), colour_layout(brighter)) < 0.03
    assert colour_distance(colour_layout(photo), colour_layout(swapped)) > 0.03


def test_a_backfill_that_cannot_read_a_photo_never_fails_it(
    open_library: Callable[..., Library], tiny_artifact: ModelArtifact, tmp_path: Path
) -> None:
    _library_photos(tmp_path / "photos")
    lib = open_library(tiny_artifact)
    lib.add_folder(tmp_path / "photos")
    run_job(lib.update())
    catalog = lib.paths.catalog_path
    lib.close()
    _make_pre_v5(catalog)
    broken = tmp_path / "photos" / "other_0.jpg"
    break_in_place(broken)  # same size and mtime: no scan sees a change

    lib = open_library()
    summary = run_job(lib.ingest())  # the hash backfill: this one cannot be decoded
    assert summary.done == 9
    photo = lib.photo_by_path(broken)
    assert photo is not None and photo.status == "ok"  # still indexed and searchable
    assert lib.count_errors() == 0
    assert run_job(lib.ingest()).done == 0  # not tried again on every run
    groups = run_job(lib.near_duplicates())  # left out of near duplicates, no error
    assert [len(g.photos) for g in groups] == [3]
    lib.close()
