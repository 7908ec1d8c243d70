"""64-bit perceptual hashes of decoded photos: dHash and pHash, for near-duplicate finding.

Both are computed at ingest from the same upright (EXIF-oriented) pixels the model input
and the thumbnail come from, after trimming uniform borders (letterboxing, screenshot
padding), so a padded copy hashes like its original. dHash compares neighbouring pixels
of a 9x8 grey thumbnail; pHash compares the 8x8 lowest frequencies of a 32x32 grey
thumbnail's DCT with their median (Zauner 2010; the same bits as `imagehash`'s ``phash``).
Hand-written rather than `imagehash`: that needs scipy and PyWavelets (~40 MB) for what
is here one resize and one 32x32 matrix product. A hash is a Python int (0 to 2**64 - 1),
stored as 8 big-endian bytes (the catalog reads them back as uint64 arrays);
`hamming` compares arrays of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageChops

HASH_BYTES = 8
"""Bytes of one stored hash (64 bits)."""

_DCT_SIZE = 32
_LOW = 8
_BORDER_TOLERANCE = 6  # grey levels a padding pixel may differ from the corner colour
_MIN_CONTENT = (
    0.2  # a trim keeping less than this fraction of each side is not a border
)
_TRIM_PASSES = 3  # padding around a photo with its own plain border: both go
_GRID = 4  # cells per side of `colour_layout`


def _dct_matrix(n: int) -> npt.NDArray[np.float64]:
    """The orthonormal DCT-II matrix: ``D @ x`` is the DCT of the column vector ``x``."""
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    d: npt.NDArray[np.float64] = np.cos(np.pi * (2 * i + 1) * k / (2 * n))
    d *= np.sqrt(2.0 / n)
    d[0] /= np.sqrt(2.0)
    return d


_DCT = _dct_matrix(_DCT_SIZE)


@dataclass(frozen=True)
class PerceptualHashes:
    """The two hashes of one photo.

    Attributes:
        dhash: Difference hash (gradient signs of a 9x8 grey thumbnail).
        phash: DCT hash (low frequencies above their median).
    """

    dhash: int
    phash: int

    def to_bytes(self) -> tuple[bytes, bytes]:
        """``(dhash, phash)`` as 8 big-endian bytes each, the catalog's form."""
        return (
            self.dhash.to_bytes(HASH_BYTES, "big"),
            self.phash.to_bytes(HASH_BYTES, "big"),
        )


def trim_uniform_border(image: Image.Image) -> Image.Image:
    """`image` without surrounding rows and columns of its top-left corner's colour.

    Padding added around a photo (a screenshot, letterboxing) goes, and a plain border
    the photo had under it too (up to `_TRIM_PASSES` layers), so the padded copy and the
    original are trimmed alike. A trim that would leave less than a fifth of a side is
    not made.
    """
    out = image.convert("RGB")
    for _ in range(_TRIM_PASSES):
        corner = out.getpixel((0, 0))
        diff = ImageChops.difference(out, Image.new("RGB", out.size, corner))
        box = diff.convert("L").point(lambda v: 255 if v > _BORDER_TOLERANCE else 0)
        bbox = box.getbbox()
        w, h = out.size
        if bbox is None or bbox == (0, 0, w, h):
            break
        left, top, right, bottom = bbox
        if (right - left) < _MIN_CONTENT * w or (bottom - top) < _MIN_CONTENT * h:
            break
        out = out.crop(bbox)
    return out


def dhash(image: Image.Image) -> int:
    """Difference hash: bit ``r*8+c`` set when pixel ``(r, c)`` is brighter than its right neighbour."""
    grey = np.asarray(
        image.convert("L").resize((_LOW + 1, _LOW), Image.Resampling.BOX),
        dtype=np.int16,
    )  # (8, 9)
    return _pack(grey[:, 1:] < grey[:, :-1])


def phash(image: Image.Image) -> int:
    """DCT hash: the 8x8 lowest frequencies of a 32x32 grey thumbnail above their median."""
    grey = np.asarray(
        image.convert("L").resize((_DCT_SIZE, _DCT_SIZE), Image.Resampling.BOX),
        dtype=np.float64,
    )  # (32, 32)
    low = (_DCT @ grey @ _DCT.T)[:_LOW, :_LOW]
    return _pack(low > np.median(low))


def colour_layout(image: Image.Image) -> npt.NDArray[np.float32]:
    """Where the colours are: the chromaticity of a 4x4 grid of the photo, border trimmed.

    Each cell's mean red and green over red + green + blue: a brightness edit, a
    re-encode or a resize keep it; a photo of another colour does not. The hashes and
    the embedding (trained to ignore colour) cannot tell two flat, graphic images of the
    same layout and different colours apart; this can.

    Shape:
        Returns ``(4, 4, 2)`` float32 in [0, 1].
    """
    cells = trim_uniform_border(image).resize((_GRID, _GRID), Image.Resampling.BOX)
    rgb = np.asarray(cells, dtype=np.float32) + 1.0  # (4, 4, 3); +1: black is grey
    chroma: npt.NDArray[np.float32] = rgb[..., :2] / rgb.sum(axis=2, keepdims=True)
    return chroma


def colour_distance(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> float:
    """Mean absolute difference of two `colour_layout`s (0: the same colours)."""
    return float(np.abs(a - b).mean())


def perceptual_hashes(image: Image.Image) -> PerceptualHashes:
    """Both hashes of a decoded photo, after `trim_uniform_border`."""
    content = trim_uniform_border(image)
    return PerceptualHashes(dhash(content), phash(content))


def hamming(
    a: npt.NDArray[np.uint64], b: npt.NDArray[np.uint64]
) -> npt.NDArray[np.uint8]:
    """Bits that differ between hashes, element by element (broadcasting).

    Shape:
        a, b: broadcastable uint64 arrays; returns their broadcast shape, uint8.
    """
    return np.bitwise_count(np.bitwise_xor(a, b))


def _pack(bits: npt.NDArray[np.bool_]) -> int:
    """64 booleans, row-major, as an int whose most significant bit is the first."""
    return int.from_bytes(np.packbits(bits.ravel()).tobytes(), "big")
