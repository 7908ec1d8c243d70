"""Open untrusted image files robustly: upright, downscaled on decode, RGB, or a reason why not.

Order of operations: check the pixel count against a cap (decompression bombs are refused
before any pixel is decoded), ask Pillow's draft mode for a downscaled JPEG decode just
large enough for the model input and the thumbnail, reserve the decode's memory in a
`DecodeBudget` shared by all decoding threads (too big for it: refused), decode, shrink
(strip by strip, so no second full-size copy is made), apply the EXIF orientation,
then convert to 8-bit RGB (CMYK, 16-bit, float, palette and alpha images included;
animated files give their first frame). Every failure becomes an `ImageLoadError` whose
message is what the catalog records. This module does no threading and no catalog work.
HEIC/HEIF is read through pillow-heif when that optional extra is installed.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, UnidentifiedImageError

from sscq_desktop.library.images.decode_budget import (
    DecodeBudget,
    DecodeBudgetError,
    DecodeBudgetTimeoutError,
)
from sscq_desktop.model.preprocessing import ResizePolicy, draft_request

logger = logging.getLogger(__name__)

DEFAULT_MAX_PIXELS = 2 * 89_478_485
"""Default pixel-count cap: where Pillow itself starts refusing images as bombs (~179 MP)."""

SUPPORTED_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".tif", ".tiff", ".gif", ".bmp"}
    | {".heic", ".heif", ".avif"}
)
"""File-name suffixes the scanner treats as images (case-insensitive)."""

_FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "TIFF", "GIF", "BMP", "AVIF", "HEIF")
_ORIENTATION_TAG = 0x0112
_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 0x9003
_DATETIME = 0x0132
_TRANSPOSE = {  # EXIF orientation -> operation that makes the pixels upright
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_BACKGROUND = (255, 255, 255)  # transparent pixels are shown on white, as viewers do
_heif_lock = threading.Lock()
_heif_checked = threading.Event()
_STRIP_PIXELS = 1 << 22  # source pixels reduced at a time for LA/RGBA (a 16 MB strip)
# One budget per process: every decoding thread draws from it (see `decode_budget`).
_shared_budget = DecodeBudget()


class ImageLoadError(Exception):
    """A file that could not be turned into an image; ``str(error)`` is the reason recorded."""


@dataclass(frozen=True)
class LoadedImage:
    """A decoded, upright, 8-bit RGB image and facts about the original file.

    Attributes:
        image: The pixels, mode ``RGB``; possibly smaller than the original (draft decode).
        width: Upright width of the original, in pixels.
        height: Upright height of the original, in pixels.
        taken_at: EXIF capture date as ISO 8601 text, or None.
        format: Pillow's name of the file format, e.g. ``JPEG``.
    """

    image: Image.Image
    width: int
    height: int
    taken_at: str | None
    format: str


def load_image(
    path: str | os.PathLike[str],
    *,
    targets: Sequence[tuple[int, ResizePolicy]] = (),
    thumbnail_size: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    budget: DecodeBudget | None = None,
) -> LoadedImage:
    """Decode an image file, upright and in RGB, no larger than its consumers need.

    Args:
        path: The file.
        targets: ``(S, policy)`` of every model input that will be made from the image;
            the decode keeps enough pixels for each.
        thumbnail_size: Longest side of the thumbnail that will be made, if any.
        max_pixels: Files with more pixels than this are refused without decoding.
            With no targets and no thumbnail the image is decoded at full size.
        budget: Memory that concurrent decodes may hold at once; default: one budget
            shared by the whole process. A file needing more than all of it is refused;
            one that does not fit now waits for decodes in flight to finish.

    Returns:
        The decoded image and the original's upright size, capture date and format.

    Raises:
        ImageLoadError: with a short reason, for any file that cannot be decoded.
    """
    if max_pixels <= 0:
        raise ValueError(f"max_pixels must be positive, got {max_pixels}")
    _register_optional_formats()
    file = Path(path)
    try:
        size = file.stat().st_size
    except FileNotFoundError as exc:
        raise ImageLoadError("file not found") from exc
    except OSError as exc:
        raise ImageLoadError(f"cannot read file: {exc.strerror or exc}") from exc
    if size == 0:
        raise ImageLoadError("empty file (0 bytes)")
    try:
        with Image.open(file, formats=_open_formats()) as im:
            return _decode(
                im,
                targets=targets,
                thumbnail_size=thumbnail_size,
                max_pixels=max_pixels,
                budget=_shared_budget if budget is None else budget,
            )
    except ImageLoadError:
        raise
    except DecodeBudgetError as exc:
        raise ImageLoadError(f"too large to decode safely: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise ImageLoadError("not an image, or an unsupported format") from exc
    except Image.DecompressionBombError as exc:
        raise ImageLoadError(f"too large (decompression bomb): {exc}") from exc
    except PermissionError as exc:
        raise ImageLoadError("permission denied") from exc
    except FileNotFoundError as exc:
        raise ImageLoadError("file not found") from exc
    except MemoryError as exc:
        raise ImageLoadError("out of memory while decoding") from exc
    except OSError as exc:
        raise ImageLoadError(f"corrupt or truncated: {exc}") from exc
    except Exception as exc:  # untrusted input: any decoder failure is a per-file error
        raise ImageLoadError(f"cannot decode: {type(exc).__name__}: {exc}") from exc


def is_supported_name(name: str) -> bool:
    """Whether a file name has one of the `SUPPORTED_SUFFIXES`."""
    return os.path.splitext(name)[1].lower() in SUPPORTED_SUFFIXES


def _decode(
    im: Image.Image,
    *,
    targets: Sequence[tuple[int, ResizePolicy]],
    thumbnail_size: int | None,
    max_pixels: int,
    budget: DecodeBudget,
) -> LoadedImage:
    raw_w, raw_h = im.size
    if raw_w <= 0 or raw_h <= 0:
        raise ImageLoadError(f"invalid image size {raw_w}x{raw_h}")
    if raw_w * raw_h > max_pixels:
        raise ImageLoadError(
            f"too large: {raw_w}x{raw_h} = {raw_w * raw_h} pixels exceeds the cap of {max_pixels}"
        )
    fmt = im.format or "unknown"
    need = _needed_size(raw_w, raw_h, targets=targets, thumbnail_size=thumbnail_size)
    if getattr(im, "n_frames", 1) > 1:
        im.seek(0)  # animated GIF/WebP/PNG: the first frame stands for the file
    if need is not None and fmt in ("JPEG", "MPO"):
        # Downscaled DCT decode (1/2, 1/4, 1/8): the big saving on camera JPEGs.
        im.draft("RGB" if im.mode == "RGB" else None, need)
    try:
        # Reserved before the EXIF is read: a PNG's getexif decodes the whole image.
        with budget.reserve(_decode_cost(im.mode, im.size, need)):
            exif = im.getexif()
            orientation = exif.get(_ORIENTATION_TAG, 1)
            if not isinstance(orientation, int):
                orientation = 1
            taken_at = _taken_at(exif)
            im.load()
            out: Image.Image = im
            if need is not None:
                out = _reduce(out, need)
            if orientation in _TRANSPOSE:
                out = out.transpose(_TRANSPOSE[orientation])
            out = _to_rgb(out)
            if out is not im:
                im.close()  # free the full-size bitmap before its bytes are given back
    except (
        DecodeBudgetTimeoutError
    ) as exc:  # no room came: not the file's size at fault
        raise ImageLoadError(f"{raw_w}x{raw_h} {im.mode} {fmt}: {exc}") from None
    except DecodeBudgetError as exc:
        raise DecodeBudgetError(f"{raw_w}x{raw_h} {im.mode} {fmt} {exc}") from None
    upright = (raw_h, raw_w) if orientation in (5, 6, 7, 8) else (raw_w, raw_h)
    return LoadedImage(
        image=out, width=upright[0], height=upright[1], taken_at=taken_at, format=fmt
    )


def _needed_size(
    width: int,
    height: int,
    *,
    targets: Sequence[tuple[int, ResizePolicy]],
    thumbnail_size: int | None,
) -> tuple[int, int] | None:
    """Smallest decoded (width, height) that still serves every consumer; None: full size."""
    requests = [
        draft_request(width, height, size=s, policy=policy) for s, policy in targets
    ]
    if thumbnail_size is not None:
        scale = min(1.0, thumbnail_size / max(width, height))
        requests.append((max(1, round(width * scale)), max(1, round(height * scale))))
    if not requests:
        return None
    return (max(r[0] for r in requests), max(r[1] for r in requests))


def _decode_cost(mode: str, size: tuple[int, int], need: tuple[int, int] | None) -> int:
    """Estimated peak bytes of decoding an image of `mode` and (drafted) `size`.

    The decoded bitmap, plus the RGB conversion of what `_reduce` leaves (up to two
    4-byte copies: the converted image and the background it is composited on). Pillow
    stores 1, L and P in one byte per pixel, 16-bit integers in two, the rest in four.
    """
    w, h = size
    if mode in ("1", "L", "P"):
        per_pixel = 1
    elif mode.startswith("I;16"):
        per_pixel = 2
    else:
        per_pixel = 4
    out_w, out_h = size
    if need is not None:
        factor = max(1, min(w // max(1, need[0]), h // max(1, need[1])))
        out_w, out_h = -(-w // factor), -(-h // factor)
    converted = 0 if mode == "RGB" else 2 * 4 * out_w * out_h
    return w * h * per_pixel + converted


def _reduce(im: Image.Image, need: tuple[int, int]) -> Image.Image:
    """Shrink by an integer factor while staying at least `need` (cheap box filter)."""
    factor = min(im.size[0] // need[0], im.size[1] // need[1])
    if factor < 2 or im.mode not in ("RGB", "RGBA", "L", "LA", "CMYK", "I", "F"):
        return im
    if im.mode not in ("LA", "RGBA"):
        return im.reduce(factor)
    # Pillow reduces LA/RGBA through a premultiplied copy of the whole image, which
    # doubles the peak of a big decode: reduce strips of whole blocks instead (the
    # result is the same, the copy is one strip).
    w, h = im.size
    out = Image.new(im.mode, (-(-w // factor), -(-h // factor)))
    step = factor * max(1, _STRIP_PIXELS // (w * factor))
    for top in range(0, h, step):
        strip = im.crop((0, top, w, min(h, top + step)))
        out.paste(strip.reduce(factor), (0, top // factor))
    return out


def _to_rgb(im: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB; alpha is composited on white."""
    mode = im.mode
    if mode == "RGB":
        return im
    if mode.startswith("I;16") or mode in ("I", "F"):
        return Image.fromarray(_to_uint8(np.asarray(im)), mode="L").convert("RGB")
    if mode == "P":
        im = im.convert("RGBA") if "transparency" in im.info else im.convert("RGB")
        mode = im.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        background = Image.new("RGB", rgba.size, _BACKGROUND)
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return im.convert(
        "RGB"
    )  # L, 1, CMYK (Pillow undoes Adobe's inversion), YCbCr, LAB, HSV


def _to_uint8(values: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    """Scale 16-bit, 32-bit integer or float pixels to uint8 (0..255)."""
    a = values.astype(np.float64, copy=False)
    if values.dtype.kind == "f":
        a = np.nan_to_num(a, nan=0.0, posinf=1.0, neginf=0.0)
        top = 1.0 if a.size == 0 or float(a.max()) <= 1.0 else 255.0
    elif values.dtype.itemsize >= 2 and a.size and float(a.max()) > 255.0:
        top = 65535.0
    else:
        top = 255.0
    return np.clip(a * (255.0 / top) + 0.5, 0, 255).astype(np.uint8)


def _taken_at(exif: Image.Exif) -> str | None:
    """EXIF DateTimeOriginal (else DateTime) as ISO 8601, or None if absent or malformed."""
    try:
        value: object = exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL) or exif.get(
            _DATETIME
        )
    except Exception:  # a malformed EXIF block must not fail the image
        return None
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(
            value.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S"
        ).isoformat()
    except ValueError:
        return None


def _register_optional_formats() -> None:
    """Register pillow-heif's HEIC/HEIF opener once, if the optional extra is installed."""
    if _heif_checked.is_set():
        return
    with _heif_lock:
        if _heif_checked.is_set():
            return
        Image.init()  # load every plugin, so that the format list below is complete
        try:
            import pillow_heif

            pillow_heif.register_heif_opener()
        except ImportError:
            logger.debug(
                "pillow-heif not installed: HEIC/HEIF files will be reported as unsupported"
            )
        _heif_checked.set()


def _open_formats() -> list[str]:
    """The allowed formats that this Pillow build (and pillow-heif) can open."""
    return [f for f in _FORMATS if f in Image.OPEN]


def heif_available() -> bool:
    """Whether HEIC/HEIF files can be read (pillow-heif installed)."""
    try:
        import pillow_heif  # noqa: F401
    except ImportError:
        return False
    return True
