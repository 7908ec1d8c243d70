"""Plain convolution + max-pool backbones: the fastest per CPU-minute at photo sizes.

`ConvPoolNet`: four conv3x3-BN-ReLU layers (32/64/128/256 channels times `width`) with 2x2
max-pooling after the first three, global average pooling (a VGG-style stack; an
independent SSCQ run on a 2-core CPU reached CIFAR-10 32-bit mAP@1000 0.371 in 25 minutes
with it). At 64 px and more a stride-2 stem keeps the cost of the first layer down.

`DepthwiseNet`: the MobileNet-v1 pattern (3x3 depthwise + 1x1 pointwise per block) at the
same widths and resolutions, for the fixed-budget comparison of backbone families.
"""

from __future__ import annotations

import torch
from torch import nn

BASE_CHANNELS = (32, 64, 128, 256)


def scaled_channels(width: float) -> list[int]:
    """`BASE_CHANNELS` times `width`, rounded to multiples of 8 (at least 8).

    Raises:
        ValueError: if `width` is not positive.
    """
    if width <= 0:
        raise ValueError(f"width must be positive, got {width}")
    return [max(8, int(round(c * width / 8)) * 8) for c in BASE_CHANNELS]


def conv_bn_relu(
    in_ch: int, out_ch: int, *, stride: int = 1, groups: int = 1, kernel: int = 3
) -> nn.Sequential:
    """Conv (no bias) -> BatchNorm -> ReLU."""
    return nn.Sequential(
        nn.Conv2d(
            in_ch, out_ch, kernel, stride, kernel // 2, groups=groups, bias=False
        ),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


class ConvPoolNet(nn.Module):
    """Four conv3x3-BN-ReLU layers, max-pool after the first three, global average pool.

    Args:
        width: Channel multiplier on 32/64/128/256.
        image_size: Input side; 64 px and up get a stride-2 first convolution.

    Shape:
        Input: (B, 3, S, S) float in [0, 1]. Output: (B, out_dim).
    """

    def __init__(self, *, width: float = 1.0, image_size: int = 32) -> None:
        super().__init__()
        chans = scaled_channels(width)
        stem_stride = 2 if image_size >= 64 else 1
        layers: list[nn.Module] = []
        in_ch = 3
        for i, ch in enumerate(chans):
            layers.append(conv_bn_relu(in_ch, ch, stride=stem_stride if i == 0 else 1))
            if i < len(chans) - 1:
                layers.append(nn.MaxPool2d(2))
            in_ch = ch
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.out_dim = chans[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Shape: (B, 3, S, S) -> (B, out_dim)."""
        x = self.features(x)  # (B, C, S/8 or S/16, ...)
        return torch.flatten(self.pool(x), 1)


class DepthwiseNet(nn.Module):
    """MobileNet-v1-style: a full 3x3 stem, then depthwise-separable blocks.

    Stages of 32/64/128/256 channels times `width` (two blocks each after the stem, the
    first of a stage with stride 2), global average pool.

    Args:
        width: Channel multiplier.
        image_size: Input side; 64 px and up get a stride-2 stem.

    Shape:
        Input: (B, 3, S, S) float in [0, 1]. Output: (B, out_dim).
    """

    def __init__(self, *, width: float = 1.0, image_size: int = 32) -> None:
        super().__init__()
        chans = scaled_channels(width)
        stem_stride = 2 if image_size >= 64 else 1
        layers: list[nn.Module] = [conv_bn_relu(3, chans[0], stride=stem_stride)]
        in_ch = chans[0]
        for i, ch in enumerate(chans):
            for j in range(2):
                stride = 2 if (i > 0 and j == 0) else 1
                layers.append(conv_bn_relu(in_ch, in_ch, stride=stride, groups=in_ch))
                layers.append(conv_bn_relu(in_ch, ch, kernel=1))
                in_ch = ch
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.out_dim = chans[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Shape: (B, 3, S, S) -> (B, out_dim)."""
        return torch.flatten(self.pool(self.features(x)), 1)
