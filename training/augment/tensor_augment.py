"""Batched augmentation on tensors (kornia), on whatever device the batch lives on.

The chain of METHOD.md, parameters drawn per sample: RandomResizedCrop(S, scale 0.08-1),
horizontal flip 0.5, ColorJitter(0.4, 0.4, 0.4, 0.1) with p = 0.8, grayscale p = 0.2,
Gaussian blur (kernel 3, sigma 0.1-2) always. The crop's smallest scale and the jitter
strength are recipe settings (``data.crop_scale_min``, ``data.color_jitter``). Fast enough on a CPU for 32-128 px batches
(about 40 ms for 256 CIFAR images on 2 cores) and free on a GPU.
"""

from __future__ import annotations

import kornia.augmentation as K
import torch
from torch import nn


class TensorAugment(nn.Module):
    """Two-view augmentation of a uint8 NHWC batch.

    Args:
        size: Output side S.
        crop_scale_min: Smallest crop area fraction of RandomResizedCrop.
        color_jitter: Brightness/contrast/saturation strength (hue a quarter); 0 = none.

    Shape:
        images: (B, H, W, 3) uint8 -> (B, 3, S, S) float32 in [0, 1].
    """

    def __init__(
        self, size: int, *, crop_scale_min: float = 0.08, color_jitter: float = 0.4
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
            j = color_jitter
            steps.append(K.ColorJitter(j, j, j, j / 4, p=0.8))
        steps += [
            K.RandomGrayscale(p=0.2),
            K.RandomGaussianBlur((3, 3), (0.1, 2.0), p=1.0),
        ]
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
