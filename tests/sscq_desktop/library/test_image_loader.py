from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from library_testkit import STORE_AS
from PIL import Image

from sscq_desktop.library.images.image_loader import ImageLoadError, load_image


def _asymmetric() -> Image.Image:
    arr = np.zeros((40, 60, 3), dtype=np.uint8)
    arr[:20, :30] = (255, 0, 0)  # red top-left
    arr[:20, 30:] = (0, 255, 0)  # green top-right
    arr[20:, :30] = (0, 0, 255)  # blue bottom-left
    arr[20:, 30:] = (255, 255, 0)  # yellow bottom-right
    return Image.fromarray(arr, "RGB")


def _write_bomb_png(path: Path, width: int, height: int) -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def _close(a: object, b: tuple[int, ...], tol: int = 40) -> bool:
    assert isinstance(a, tuple)
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=False))


@pytest.mark.parametrize("orientation", sorted(STORE_AS))
def test_exif_orientation_is_applied(tmp_path: Path, orientation: int) -> None:
    upright = _asymmetric()
    stored = upright.transpose(STORE_AS[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{orientation}.jpg"
    stored.save(path, exif=exif.tobytes(), quality=95)

    loaded = load_image(path)

    assert loaded.image.size == (60, 40)
    assert (loaded.width, loaded.height) == (60, 40)
    assert _close(loaded.image.getpixel((5, 5)), (255, 0, 0))
    assert _close(loaded.image.getpixel((55, 35)), (255, 255, 0))


def test_draft_decodes_a_big_jpeg_downscaled(tmp_path: Path) -> None:
    path = tmp_path / "big.jpg"
    Image.new("RGB", (4000, 3000), (10, 200, 30)).save(path, quality=90)

    loaded = load_image(path, targets=[(32, "center_crop")], thumbnail_size=256)

    assert (loaded.width, loaded.height) == (4000, 3000)
    assert max(loaded.image.size) <= 1000  # 1/8 DCT scaling, not a full decode
    assert min(loaded.image.size) >= 32
    assert max(loaded.image.size) >= 256


def test_pixel_cap_refuses_without_decoding(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    _write_bomb_png(bomb, 30_000, 30_000)
    with pytest.raises(ImageLoadError, match="too large"):
        load_image(bomb)
    small = tmp_path / "small.png"
    Image.new("RGB", (200, 200)).save(small)
    with pytest.raises(ImageLoadError, match="exceeds the cap"):
        load_image(small, max_pixels=10_000)


def test_cmyk_jpeg_is_converted_to_rgb(tmp_path: Path) -> None:
    path = tmp_path / "cmyk.jpg"
    Image.new("RGB", (32, 32), (200, 40, 40)).convert("CMYK").save(path, quality=95)
    loaded = load_image(path)
    assert loaded.image.mode == "RGB"
    assert _close(loaded.image.getpixel((16, 16)), (200, 40, 40))


def test_16_bit_grey_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    path = tmp_path / "grey16.png"
    Image.fromarray(np.full((16, 16), 32768, dtype=np.uint16)).save(path)
    loaded = load_image(path)
    assert loaded.image.mode == "RGB"
    assert _close(loaded.image.getpixel((3, 3)), (128, 128, 128), tol=2)


def test_float_tiff_is_scaled(tmp_path: Path) -> None:
    path = tmp_path / "float.tiff"
    Image.fromarray(np.full((8, 8), 0.5, dtype=np.float32), mode="F").save(path)
    assert _close(load_image(path).image.getpixel((1, 1)), (128, 128, 128), tol=2)


def test_palette_with_transparency_is_composited_on_white(tmp_path: Path) -> None:
    path = tmp_path / "pal.png"
    img = Image.new("P", (8, 8), 0)
    img.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    img.paste(1, (4, 0, 8, 8))
    img.save(path, transparency=0)
    loaded = load_image(path)
    assert loaded.image.mode == "RGB"
    assert loaded.image.getpixel((1, 1)) == (255, 255, 255)
    assert loaded.image.getpixel((6, 1)) == (0, 0, 255)


def test_rgba_and_la_are_composited(tmp_path: Path) -> None:
    rgba = tmp_path / "rgba.png"
    Image.new("RGBA", (8, 8), (0, 0, 0, 0)).save(rgba)
    assert load_image(rgba).image.getpixel((0, 0)) == (255, 255, 255)
    la = tmp_path / "la.png"
    Image.new("LA", (8, 8), (0, 255)).save(la)
    assert load_image(la).image.getpixel((0, 0)) == (0, 0, 0)


def test_animated_gif_gives_its_first_frame(tmp_path: Path) -> None:
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (16, 16), c) for c in [(255, 0, 0), (0, 0, 255)]]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)
    loaded = load_image(path)
    assert _close(loaded.image.getpixel((8, 8)), (255, 0, 0), tol=10)


@pytest.mark.parametrize("suffix", [".webp", ".tiff", ".bmp", ".png", ".gif"])
def test_common_formats_load(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"x{suffix}"
    Image.new("RGB", (20, 10), (0, 128, 255)).save(path)
    loaded = load_image(path)
    assert loaded.image.mode == "RGB" and loaded.image.size == (20, 10)


def test_exif_date_is_read(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0132] = "2021:07:04 10:20:30"
    path = tmp_path / "dated.jpg"
    Image.new("RGB", (8, 8)).save(path, exif=exif.tobytes())
    assert load_image(path).taken_at == "2021-07-04T10:20:30"


def test_wrong_extension_with_real_image_content_loads(tmp_path: Path) -> None:
    path = tmp_path / "really_a_png.jpg"
    Image.new("RGB", (8, 8), (1, 2, 3)).save(path, format="PNG")
    assert load_image(path).format == "PNG"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.jpg", b"", "empty file"),
        ("notes.jpg", b"these are not pixels\n" * 20, "not an image"),
    ],
)
def test_broken_files_raise_with_reason(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImageLoadError, match=reason):
        load_image(path)


def test_truncated_jpeg_raises(tmp_path: Path) -> None:
    path = tmp_path / "cut.jpg"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (300, 300, 3), dtype=np.uint8)).save(
        path, quality=95
    )
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageLoadError, match="truncated"):
        load_image(path)


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(ImageLoadError, match="not found"):
        load_image(tmp_path / "nope.jpg")
