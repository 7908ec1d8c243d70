"""What the GUI shows comes from the library: thumbnails (remade when lost) and renditions."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sscq_desktop.library.images.image_loader import ImageLoadError
from sscq_desktop.library.images.thumbnails import thumbnail_path
from sscq_desktop.library.library import Library
from sscq_desktop.library.progress import run_job


def _index(lib: Library, folder: Path) -> None:
    lib.add_folder(folder)
    run_job(lib.update())


def test_thumbnail_status_says_ready_pending_failed_or_unknown(
    library: Library, tmp_path: Path, make_photo: Callable[..., Path]
) -> None:
    root = tmp_path / "photos"
    good = make_photo(root / "good.jpg", seed=1, size=(400, 300))
    (root / "broken.jpg").write_text("not an image")
    _index(library, root)

    ready = library.thumbnail_status(good)
    assert ready.state == "ready" and ready.path is not None
    assert ready.path.is_relative_to(library.paths.thumbnails_dir)
    broken = library.thumbnail_status(root / "broken.jpg")
    assert broken.state == "failed" and "not an image" in (broken.reason or "")
    assert library.thumbnail_status(tmp_path / "elsewhere.jpg").state == "unknown"


def test_a_thumbnail_lost_from_the_cache_is_made_again(
    library: Library, tmp_path: Path, make_photo: Callable[..., Path]
) -> None:
    root = tmp_path / "photos"
    photo = make_photo(root / "a.jpg", seed=2, size=(600, 400))
    _index(library, root)
    first = library.thumbnail_status(photo).path
    assert first is not None
    first.unlink()  # the cache was purged

    again = library.thumbnail_status(photo)

    assert again.state == "ready" and again.path == first and first.is_file()
    record = library.photo_by_path(photo)
    assert record is not None and record.content_key is not None
    assert thumbnail_path(library.paths.thumbnails_dir, record.content_key) == first


def test_a_lost_thumbnail_of_a_changed_file_waits_for_ingest(
    library: Library, tmp_path: Path, make_photo: Callable[..., Path]
) -> None:
    root = tmp_path / "photos"
    photo = make_photo(root / "a.jpg", seed=3, size=(300, 200))
    _index(library, root)
    cached = library.thumbnail_status(photo).path
    assert cached is not None
    cached.unlink()
    make_photo(photo, seed=4, size=(320, 200))  # new content, not rescanned yet

    assert library.thumbnail_status(photo).state == "pending"
    assert not cached.exists()  # never a thumbnail of other content under its key


def test_render_image_fits_the_size_and_refuses_broken_files(
    library: Library, tmp_path: Path, make_photo: Callable[..., Path]
) -> None:
    photo = make_photo(tmp_path / "big.png", seed=5, size=(900, 600))
    rendered = library.render_image(photo, max_side=300)
    assert rendered.pixels.shape == (200, 300, 3)
    assert rendered.pixels.dtype == np.uint8 and rendered.pixels.flags.c_contiguous
    assert (rendered.width, rendered.height) == (900, 600)
    small = library.render_image(photo, max_side=2000)
    assert small.pixels.shape == (600, 900, 3)  # never enlarged

    garbage = tmp_path / "garbage.jpg"
    garbage.write_bytes(os.urandom(4096))
    with pytest.raises(ImageLoadError):
        library.render_image(garbage, max_side=300)
    with pytest.raises(ValueError, match="max_side"):
        library.render_image(photo, max_side=0)


def test_render_image_keeps_the_pixel_cap(
    open_library: Callable[..., Library],
    tiny_artifact: Any,
    tmp_path: Path,
    make_photo: Callable[..., Path],
) -> None:
    library = open_library(tiny_artifact, max_pixels=10_000)
    photo = make_photo(tmp_path / "big.png", seed=6, size=(300, 300))
    with pytest.raises(ImageLoadError, match="too large"):
        library.render_image(photo, max_side=100)


def test_a_crashing_or_hanging_render_fails_that_render_only(
    open_library: Callable[..., Library],
    tiny_artifact: Any,
    tmp_path: Path,
    make_photo: Callable[..., Path],
    decoder_traps: dict[str, str],
) -> None:
    library = open_library(tiny_artifact)
    library._renderer._pool.timeout_s = 1.0
    crash = make_photo(tmp_path / "crash.jpg", seed=7, size=(300, 200))
    hang = make_photo(tmp_path / "hang.jpg", seed=8, size=(300, 200))
    good = make_photo(tmp_path / "good.jpg", seed=9, size=(300, 200))

    with pytest.raises(ImageLoadError, match="the decoder crashed on this file"):
        library.render_image(crash, max_side=100)
    started = time.monotonic()
    with pytest.raises(ImageLoadError, match="decoding took longer than 1 s"):
        library.render_image(hang, max_side=100)
    assert time.monotonic() - started < 20
    with pytest.raises(ImageLoadError, match="the decoder crashed"):
        library.similar_to_file(crash)  # a query from outside: decoded the same way
    assert library.render_image(good, max_side=100).pixels.shape == (67, 100, 3)
