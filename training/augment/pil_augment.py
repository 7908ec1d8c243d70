"""Per-image augmentation with Pillow, for CPU data pipelines without kornia in the loop.

Same chain and parameters as `training.augment.tensor_augment`; RandomResizedCrop follows
torchvision's sampling (10 tries over scale and log-aspect, then a centre crop).
"""

from __future__ import annotations

import math
import random

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageEnhance, ImageFilter

_SCALE = (0.08, 1.0)
_RATIO = (3.0 / 4.0, 4.0 / 3.0)


class PilAugment:
    """One random draw of the chain per call.

    Args:
        size: Output side S.
        rng: Random source (seed it for reproducible draws).

    Shape:
        Input: a PIL image of any size. Output: (S, S, 3) uint8.
    """

    def __init__(
        self,
        size: int,
        *,
        rng: random.Random | None = None,
        crop_scale_min: float = _SCALE[0],
        color_jitter: float = 0.4,
    ) -> None:
        self.size = size
        self.rng = rng or random.Random()
        self.scale = (crop_scale_min, _SCALE[1])
        self.jitter = color_jitter

    def __call__(self, image: Image.Image) -> npt.NDArray[np.uint8]:
        """Augment one image."""
        r = self.rng
        img = image.convert("RGB")
        img = img.resize(
            (self.size, self.size), Image.Resampling.BILINEAR, box=self._crop_box(img)
        )
        if r.random() < 0.5:
            img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        if self.jitter > 0 and r.random() < 0.8:
            img = self._color_jitter(img)
        if r.random() < 0.2:
            img = img.convert("L").convert("RGB")
        img = self._blur(img, sigma=r.uniform(0.1, 2.0))
        return np.ascontiguousarray(np.asarray(img, dtype=np.uint8))

    def _crop_box(self, img: Image.Image) -> tuple[int, int, int, int]:
        width, height = img.size
        area = width * height
        for _ in range(10):
            target = area * self.rng.uniform(*self.scale)
            ratio = math.exp(self.rng.uniform(math.log(_RATIO[0]), math.log(_RATIO[1])))
            w = round(math.sqrt(target * ratio))
            h = round(math.sqrt(target / ratio))
            if 0 < w <= width and 0 < h <= height:
                left = self.rng.randint(0, width - w)
                top = self.rng.randint(0, height - h)
                return (left, top, left + w, top + h)
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        return (left, top, left + side, top + side)

    def _color_jitter(self, img: Image.Image) -> Image.Image:
        lo, hi = 1.0 - self.jitter, 1.0 + self.jitter
        ops = ["brightness", "contrast", "saturation", "hue"]
        self.rng.shuffle(ops)  # torchvision applies the four in a random order
        for op in ops:
            if op == "brightness":
                img = ImageEnhance.Brightness(img).enhance(self.rng.uniform(lo, hi))
            elif op == "contrast":
                img = ImageEnhance.Contrast(img).enhance(self.rng.uniform(lo, hi))
            elif op == "saturation":
                img = ImageEnhance.Color(img).enhance(self.rng.uniform(lo, hi))
            else:
                img = _shift_hue(
                    img, self.rng.uniform(-self.jitter / 4, self.jitter / 4)
                )
        return img

    @staticmethod
    def _blur(img: Image.Image, *, sigma: float) -> Image.Image:
        g = [math.exp(-(x * x) / (2.0 * sigma * sigma)) for x in (-1, 0, 1)]
        weights = [a * b for a in g for b in g]  # separable 3x3 Gaussian
        return img.filter(ImageFilter.Kernel((3, 3), weights, scale=sum(weights)))


def _shift_hue(img: Image.Image, shift: float) -> Image.Image:
    """Rotate the hue by `shift` turns (-0.5..0.5)."""
    hsv = np.asarray(img.convert("HSV"), dtype=np.uint8).copy()  # (H, W, 3)
    hsv[..., 0] = (hsv[..., 0].astype(np.int16) + int(round(shift * 255))) % 256
    return Image.fromarray(hsv, mode="HSV").convert("RGB")
