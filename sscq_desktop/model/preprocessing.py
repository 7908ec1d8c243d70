"""Resize a decoded image to the model input, the one definition shared by app and trainer.

The artifact names its resize policy; training evaluates with this module and the app encodes
with it, so the pixels a model sees at search time are the pixels it was measured on.
Decoding files (EXIF, draft mode, broken files) belongs to `sscq_desktop.library`.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np
import numpy.typing as npt
from PIL import Image

ResizePolicy = Literal["center_crop", "squash"]
"""How an image becomes an S x S model input.

- ``center_crop``: scale the shorter side to S, then cut the centred S x S square.
- ``squash``: scale both sides to S, ignoring the aspect ratio.
"""

RESIZE_POLICIES: tuple[str, ...] = get_args(ResizePolicy)


def check_resize_policy(policy: str) -> ResizePolicy:
    """Return `policy` typed as a `ResizePolicy`.

    Raises:
        ValueError: if `policy` is not one of `RESIZE_POLICIES`.
    """
    if policy == "center_crop":
        return "center_crop"
    if policy == "squash":
        return "squash"
    raise ValueError(
        f"unknown resize policy {policy!r}; expected one of {RESIZE_POLICIES}"
    )


def draft_request(
    width: int, height: int, *, size: int, policy: ResizePolicy
) -> tuple[int, int]:
    """Smallest (width, height) a downscaled decode must keep for an S x S model input.

    Pillow's JPEG draft mode decodes at 1/2, 1/4 or 1/8 scale while the result stays at least
    the requested size; this function says what size that is for `policy`.

    Args:
        width: Full-resolution width of the image.
        height: Full-resolution height of the image.
        size: Model input side S.
        policy: Resize policy of the model.

    Returns:
        The (width, height) to pass to `PIL.Image.Image.draft`.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    if policy == "squash":
        return (min(width, size), min(height, size))
    # center_crop: the shorter side must stay >= size; keep the aspect ratio.
    scale = size / min(width, height)
    if scale >= 1.0:
        return (width, height)
    return (max(size, round(width * scale)), max(size, round(height * scale)))


def to_model_input(
    image: Image.Image, *, size: int, policy: ResizePolicy
) -> npt.NDArray[np.uint8]:
    """Convert an upright decoded image to the model's uint8 RGB input.

    Args:
        image: A decoded Pillow image in any mode (converted to RGB here).
        size: Model input side S.
        policy: Resize policy named in the model artifact.

    Returns:
        The model input pixels.

    Shape:
        Output: (S, S, 3), uint8, RGB.

    Raises:
        ValueError: if `size` is not positive or `policy` is unknown.
    """
    if size <= 0:
        raise ValueError(f"size must be positive, got {size}")
    check_resize_policy(policy)
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    width, height = rgb.size
    if policy == "squash":
        out = rgb.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=3.0)
    else:
        scale = size / min(width, height)
        new_w = max(size, round(width * scale))
        new_h = max(size, round(height * scale))
        resized = rgb.resize(
            (new_w, new_h), Image.Resampling.BILINEAR, reducing_gap=3.0
        )
        left = (new_w - size) // 2
        top = (new_h - size) // 2
        out = resized.crop((left, top, left + size, top + size))
    array = np.asarray(out, dtype=np.uint8)  # (S, S, 3)
    return np.ascontiguousarray(array)
