"""Decode memory is bounded: a small file that decodes to a huge bitmap (issue 13, item 9).

A 13000 x 13000 RGBA PNG of a few hundred KB is just under the pixel cap and decodes to
676 MB of pixels. The peak is measured in a child process (``ru_maxrss``) that decodes
it with the app's loader on two threads at once, as two ingest workers would.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sscq_desktop.library.images.decode_budget import (
    DecodeBudget,
    DecodeBudgetError,
    DecodeBudgetTimeoutError,
)
from sscq_desktop.library.images.image_loader import (
    DEFAULT_MAX_PIXELS,
    ImageLoadError,
    load_image,
)

resource = pytest.importorskip("resource")  # ru_maxrss: POSIX only

BIG_SIDE = 13_000
PEAK_BOUND_MIB = 1000  # the old loader peaked at ~1.3 GB per decode, times the threads

_CHILD = """
import json, resource, sys, threading
from sscq_desktop.library.images.image_loader import ImageLoadError, load_image

path = sys.argv[1]
results = []

def decode():
    try:
        loaded = load_image(path, targets=[(224, "center_crop")], thumbnail_size=256)
        results.append(list(loaded.image.size))
    except ImageLoadError as exc:
        results.append(str(exc))

threads = [threading.Thread(target=decode) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB elsewhere
print(json.dumps({"peak_mib": peak * scale / (1 << 20), "results": results}))
"""


def _write_flat_png(path: Path, width: int, height: int) -> None:
    """A one-colour 8-bit RGBA PNG, written row by row (the test never holds its pixels)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes((200, 50, 50, 255)) * width
    packer = zlib.compressobj(6)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def huge_rgba_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("decode_memory") / "huge.png"
    _write_flat_png(path, BIG_SIDE, BIG_SIDE)
    return path


def test_huge_rgba_png_decodes_on_two_threads_under_the_memory_bound(
    huge_rgba_png: Path,
) -> None:
    assert huge_rgba_png.stat().st_size < 2_000_000  # a small file...
    assert BIG_SIDE * BIG_SIDE < DEFAULT_MAX_PIXELS  # ...under the pixel cap
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(huge_rgba_png)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(child.stdout.splitlines()[-1])
    # Both decodes succeed (the image is served, not refused)...
    assert report["results"] == [[260, 260], [260, 260]]
    # ...and together they never held much more than one bitmap (676 MB).
    assert report["peak_mib"] < PEAK_BOUND_MIB, report


def test_a_decode_larger_than_the_budget_is_refused_with_the_reason(
    tmp_path: Path,
) -> None:
    path = tmp_path / "wide.png"
    _write_flat_png(path, 3000, 2000)  # 24 MB as RGBA
    with pytest.raises(ImageLoadError, match="too large to decode safely") as info:
        load_image(path, targets=[(32, "squash")], budget=DecodeBudget(8 << 20))
    assert "3000x2000 RGBA PNG" in str(info.value)
    assert "8 MiB" in str(info.value)
    # The default budget serves it.
    assert load_image(path, targets=[(32, "squash")]).width == 3000


def test_decodes_that_do_not_fit_together_wait_for_each_other() -> None:
    budget = DecodeBudget(100)
    order: list[str] = []
    with budget.reserve(60):
        waiter = threading.Thread(target=lambda: _hold(budget, 60, order))
        waiter.start()
        time.sleep(0.2)
        order.append("first done")
        assert budget.in_use == 60  # the second one has not started
    waiter.join(timeout=5)
    assert order == ["first done", "second ran"]
    assert budget.in_use == 0
    with pytest.raises(DecodeBudgetError), budget.reserve(101):
        pass


def _hold(budget: DecodeBudget, nbytes: int, order: list[str]) -> None:
    with budget.reserve(nbytes):
        order.append("second ran")


def test_a_large_decode_is_not_starved_by_small_ones_arriving_after_it() -> None:
    # First come, first served: once the large one waits, small ones that would fit
    # next to the decode in flight queue behind it (they used to overtake it for as
    # long as they kept coming, until the ingest's decode timeout failed it).
    budget = DecodeBudget(100, wait_timeout_s=30)
    ran: list[str] = []
    release = threading.Event()

    def decode(name: str, nbytes: int, hold: threading.Event | None = None) -> None:
        with budget.reserve(nbytes):
            ran.append(name)
            if hold is not None:
                hold.wait(timeout=30)

    threads = [threading.Thread(target=decode, args=("in flight", 60, release))]
    threads[0].start()
    _wait_for(lambda: ran == ["in flight"])
    threads.append(threading.Thread(target=decode, args=("large", 80)))
    threads[-1].start()
    _wait_for(lambda: budget.waiting == 1)
    for i in range(5):  # each fits next to the one in flight (60 + 10 <= 100)
        threads.append(threading.Thread(target=decode, args=(f"small {i}", 10)))
        threads[-1].start()
    _wait_for(lambda: budget.waiting == 6)
    time.sleep(0.2)
    assert ran == ["in flight"]  # none overtook the large one

    release.set()
    for thread in threads:
        thread.join(timeout=10)
        assert not thread.is_alive()
    assert ran[:2] == ["in flight", "large"]
    assert sorted(ran[2:]) == [f"small {i}" for i in range(5)]
    assert budget.in_use == 0 and budget.waiting == 0


def test_a_wait_for_a_hung_decode_times_out_and_its_thread_ends() -> None:
    # A decoder that hangs keeps its bytes: the decodes waiting for them fail after the
    # wait timeout, and their threads end (they used to block in wait_for for ever,
    # one more leaked thread each time the ingest replaced its pool).
    budget = DecodeBudget(100, wait_timeout_s=0.3)
    hung = threading.Event()
    errors: list[BaseException] = []

    def hang() -> None:
        with budget.reserve(90):
            hung.wait(timeout=30)

    def waiter(nbytes: int) -> None:
        try:
            with budget.reserve(nbytes):
                pass
        except DecodeBudgetError as exc:
            errors.append(exc)

    hanging = threading.Thread(target=hang, daemon=True)
    hanging.start()
    _wait_for(lambda: budget.in_use == 90)
    waiters = [
        threading.Thread(target=waiter, args=(50,), daemon=True) for _ in range(3)
    ]
    for thread in waiters:
        thread.start()
    for thread in waiters:
        thread.join(timeout=10)
        assert not thread.is_alive()
    assert len(errors) == 3
    assert all(isinstance(e, DecodeBudgetTimeoutError) for e in errors)
    assert "waited over 0 s" in str(errors[0])
    assert budget.waiting == 0 and budget.in_use == 90
    with budget.reserve(10):  # what fits next to the hung one still goes ahead
        pass
    hung.set()
    hanging.join(timeout=10)
    assert budget.in_use == 0


def test_a_decode_that_waited_too_long_is_a_per_file_error(tmp_path: Path) -> None:
    path = tmp_path / "wide.png"
    _write_flat_png(path, 300, 200)  # 240 KB as RGBA
    budget = DecodeBudget(300_000, wait_timeout_s=0.2)
    with (
        budget.reserve(200_000),
        pytest.raises(ImageLoadError, match="300x200 RGBA PNG: waited over"),
    ):
        load_image(path, targets=[(32, "squash")], budget=budget)


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_rgba_strip_reduction_matches_a_whole_image_reduction(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(1037, 2011, 4), dtype=np.uint8)
    path = tmp_path / "alpha.png"
    Image.fromarray(pixels, "RGBA").save(path)
    loaded = load_image(path, targets=[(64, "squash")])
    # The integer factor the loader chose (partial blocks at both edges of 2011 x 1037).
    factor = next(f for f in range(2, 64) if -(-2011 // f) == loaded.image.size[0])
    assert -(-1037 // factor) == loaded.image.size[1]
    with Image.open(path) as im:
        expected = im.reduce(factor)
    background = Image.new("RGB", expected.size, (255, 255, 255))
    background.paste(expected, mask=expected.getchannel("A"))
    assert loaded.image.size == expected.size
    assert np.array_equal(np.asarray(loaded.image), np.asarray(background))
