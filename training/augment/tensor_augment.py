"""Batched augmentation on tensors (kornia), on whatever device the batch lives on.

The chain of METHOD.md, parameters drawn per sample: RandomResizedCrop(S, scale 0.08-1),
horizontal flip 0.5, ColorJitter(0.4, 0.4, 0.4, 0.1) with p = 0.8, grayscale p = 0.2,
Gaussian blur (kernel 3, sigma 0.1-2) always. The crop's smallest scale, the jitter
strength and the blur's largest sigma are recipe settings (``data.crop_scale_min``,
``data.color_jitter``, ``data.blur_sigma_max``).

Colour jitter is `AffineColorJitter`, not kornia's ColorJitter: brightness, contrast,
saturation and a hue rotation are each an affine map of the RGB vector, so their
composition is one 3x3 matrix and offset per photo, applied in a single batched product.
Measured on this project's 2-core CPU, one thread, 256 photos at 64 px: 13 ms against
kornia's 92 ms (which converts to HSV and back for the hue step), about 14% of a training
step saved. Two differences: hue is a rotation of the YIQ chroma plane (grey and luma
kept), not an HSV hue shift, and values are clamped to [0, 1] once at the end, not after
each step (so a rotated colour may leave the gamut until then). The tensors it holds
follow the batch to its device.
"""

from __future__ import annotations

import math

import kornia.augmentation as K
import torch
from torch import nn

LUMA = (0.299, 0.587, 0.114)  # ITU-R 601 grey, as torchvision and kornia use
RGB_TO_YIQ = ((0.299, 0.587, 0.114), (0.596, -0.274, -0.322), (0.211, -0.523, 0.312))


class AffineColorJitter(nn.Module):
    """Random brightness, contrast, saturation and hue, as one affine colour map per photo.

    torchvision's factors: brightness multiplies by b, contrast blends with the photo's
    mean grey by c, saturation blends with each pixel's grey by s (factors uniform in
    [max(0, 1 - strength), 1 + strength]); hue rotates the chroma plane of YIQ by up to
    ``strength / 4`` of a turn (grey and luma unchanged). The four steps run in one random
    order per batch, as kornia's; a photo is jittered with probability `p`.

    Args:
        strength: Brightness/contrast/saturation strength; hue gets a quarter of it.
        p: Probability that a photo is jittered at all.

    Shape:
        x: (B, 3, H, W) float in [0, 1] -> (B, 3, H, W) float in [0, 1].
    """

    yiq: torch.Tensor
    yiq_inv: torch.Tensor
    luma: torch.Tensor

    def __init__(self, strength: float, *, p: float = 0.8) -> None:
        super().__init__()
        self.strength, self.p = strength, p
        yiq = torch.tensor(RGB_TO_YIQ)
        self.register_buffer("yiq", yiq, persistent=False)
        self.register_buffer("yiq_inv", torch.linalg.inv(yiq), persistent=False)
        self.register_buffer("luma", torch.tensor(LUMA), persistent=False)

    def draw(self, n: int, device: torch.device) -> tuple[torch.Tensor, ...]:
        """Per-photo factors: brightness, contrast, saturation (n, 1, 1), hue turns (n,)."""
        lo, hi = max(0.0, 1.0 - self.strength), 1.0 + self.strength
        b, c, s = (
            torch.empty(n, 1, 1, device=device).uniform_(lo, hi) for _ in range(3)
        )
        hue = torch.empty(n, device=device).uniform_(
            -self.strength / 4, self.strength / 4
        )
        return b, c, s, hue

    def colour_maps(
        self,
        mean_rgb: torch.Tensor,
        factors: tuple[torch.Tensor, ...],
        order: list[int],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Matrix A (n, 3, 3) and offset o (n, 3, 1) with ``jittered = A @ rgb + o``.

        Args:
            mean_rgb: (n, 3, 1) mean colour of each photo (contrast blends with its grey).
            factors: What `draw` returned.
            order: The steps' order, a permutation of 0-3 (brightness, contrast,
                saturation, hue).
        """
        b, c, s, hue = factors
        n, dev = mean_rgb.shape[0], mean_rgb.device
        eye = torch.eye(3, device=dev).expand(n, 3, 3)
        theta = hue * (2 * math.pi)
        rot = torch.zeros(n, 3, 3, device=dev)
        rot[:, 0, 0] = 1.0
        rot[:, 1, 1], rot[:, 1, 2] = theta.cos(), -theta.sin()
        rot[:, 2, 1], rot[:, 2, 2] = theta.sin(), theta.cos()
        yiq, yiq_inv, luma = (t.to(dev) for t in (self.yiq, self.yiq_inv, self.luma))
        hue_map = yiq_inv @ rot @ yiq  # (n, 3, 3)
        grey = torch.ones(3, 1, device=dev) @ luma[None, :]  # (3, 3)
        sat_map = s * eye + (1 - s) * grey
        a, o = eye.clone(), torch.zeros(n, 3, 1, device=dev)
        for step in order:
            if step == 0:
                a, o = b * a, b * o
            elif step == 1:
                grey_mean = luma[None, None, :] @ (a @ mean_rgb + o)  # (n, 1, 1)
                a, o = c * a, c * o + (1 - c) * grey_mean
            elif step == 2:
                a, o = sat_map @ a, sat_map @ o
            else:
                a, o = hue_map @ a, hue_map @ o
        return a, o

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One independent draw per photo."""
        n = x.shape[0]
        mean_rgb = x.mean(dim=(2, 3))[:, :, None]  # (n, 3, 1)
        order = torch.randperm(4).tolist()
        a, o = self.colour_maps(mean_rgb, self.draw(n, x.device), order)
        skip = (torch.rand(n, device=x.device) >= self.p)[:, None, None]
        a = torch.where(skip, torch.eye(3, device=x.device), a)
        o = torch.where(skip, torch.zeros_like(o), o)
        out = torch.einsum("bij,bjhw->bihw", a, x) + o[..., None]  # (n, 3, H, W)
        return out.clamp_(0.0, 1.0)


class TensorAugment(nn.Module):
    """Two-view augmentation of a uint8 NHWC batch.

    Args:
        size: Output side S.
        crop_scale_min: Smallest crop area fraction of RandomResizedCrop.
        color_jitter: Brightness/contrast/saturation strength (hue a quarter); 0 = none.
        blur_sigma_max: Largest sigma of the always-on 3x3 Gaussian blur; 0 = no blur.

    Shape:
        images: (B, H, W, 3) uint8 -> (B, 3, S, S) float32 in [0, 1].
    """

    def __init__(
        self,
        size: int,
        *,
        crop_scale_min: float = 0.08,
        color_jitter: float = 0.4,
        blur_sigma_max: float = 2.0,
    ) -> None:
        super().__init__()
        if not 0.0 < crop_scale_min <= 1.0:
            raise ValueError(f"crop_scale_min must be in (0, 1], got {crop_scale_min}")
        if not 0.0 <= color_jitter < 1.0:
            raise ValueError(f"color_jitter must be in [0, 1), got {color_jitter}")
        self.size = size
        steps: list[nn.Module] = [
            K.RandomResizedCrop((size, size), scale=(crop_scale_min, 1.0)),
            K.RandomHorizontalFlip(p=0.5),
        ]
        if color_jitter > 0:
            steps.append(AffineColorJitter(color_jitter, p=0.8))
        steps.append(K.RandomGrayscale(p=0.2))
        if blur_sigma_max > 0:
            steps.append(
                K.RandomGaussianBlur(
                    (3, 3), (min(0.1, blur_sigma_max), blur_sigma_max), p=1.0
                )
            )
        self.chain = nn.Sequential(*steps)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """One independent draw per sample."""
        if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(
                f"expected a (B, H, W, 3) uint8 batch, got {tuple(images.shape)} {images.dtype}"
            )
        x = images.permute(0, 3, 1, 2).float().div_(255.0)  # (B, 3, H, W)
        with torch.no_grad():
            out: torch.Tensor = self.chain(x)  # (B, 3, S, S)
        return out.clamp_(0.0, 1.0).contiguous()

    def two_views(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Two independent draws of the whole chain.

        Shape:
            images: (B, H, W, 3) uint8 -> two (B, 3, S, S) float tensors.
        """
        return self(images), self(images)
