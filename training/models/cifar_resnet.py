"""The paper's CIFAR ResNet-18: 3x3 stride-1 stem, no max-pool, 64/128/256/512, GAP -> 512.

Used to reproduce CIFAR-10 figures (METHOD.md, "Model"). Too slow for a laptop CPU at photo
sizes; see `training.models.compact_net` for the app's default.
"""

from __future__ import annotations

import torch
from torch import nn


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (He et al., 2016).

    Args:
        in_ch: Input channels.
        out_ch: Output channels.
        stride: Stride of the first convolution (2 halves the resolution).
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_ch != out_ch:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, 1, stride, bias=False), nn.BatchNorm2d(out_ch)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Shape: (B, in_ch, H, W) -> (B, out_ch, H/stride, W/stride)."""
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut: torch.Tensor = self.shortcut(x)
        return torch.relu(out + shortcut)


def make_stage(in_ch: int, out_ch: int, blocks: int, stride: int) -> nn.Sequential:
    """`blocks` BasicBlocks, the first with `stride`."""
    layers = [BasicBlock(in_ch, out_ch, stride)]
    layers += [BasicBlock(out_ch, out_ch, 1) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class CifarResNet18(nn.Module):
    """ResNet-18 with the CIFAR stem; input in [0, 1], not normalised (as the release).

    Shape:
        Input: (B, 3, H, W) float. Output: (B, 512).
    """

    out_dim = 512

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, 3, 1, 1, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
        )
        self.layer1 = make_stage(64, 64, 2, 1)
        self.layer2 = make_stage(64, 128, 2, 2)
        self.layer3 = make_stage(128, 256, 2, 2)
        self.layer4 = make_stage(256, 512, 2, 2)
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Shape: (B, 3, H, W) -> (B, 512)."""
        x = self.stem(x)  # (B, 64, H, W)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))  # (B, 512, H/8, W/8)
        return torch.flatten(self.pool(x), 1)  # (B, 512)
