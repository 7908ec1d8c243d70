"""A compact ResNet for photos at the app's input size, trainable on a laptop CPU.

Four stages of one BasicBlock each (channels 32/64/128/256 times `width`), a stride-2 stem
for inputs of 64 px and more, global average pooling. At 96 px and width 1 it costs about
0.14 GMAC per image, a quarter of the CIFAR ResNet-18 at 32 px, and runs in onnxruntime in
a few milliseconds per image on one core. Plain 3x3 convolutions (no depthwise) because on
CPUs at these sizes they train faster per FLOP in PyTorch; see
tests/benchmarks/bench_training_throughput.py for the measured figures behind the choice.
"""

from __future__ import annotations

import torch
from torch import nn

from training.models.cifar_resnet import make_stage

BASE_CHANNELS = (32, 64, 128, 256)


class CompactNet(nn.Module):
    """Small 4-stage ResNet with a width multiplier.

    Args:
        width: Channel multiplier (0.5 is about 4x fewer FLOPs than 1.0).
        image_size: Input side; 64 px and up get a stride-2 stem.
        blocks: BasicBlocks per stage.

    Shape:
        Input: (B, 3, S, S) float in [0, 1]. Output: (B, out_dim).
    """

    def __init__(
        self, *, width: float = 1.0, image_size: int = 96, blocks: int = 1
    ) -> None:
        super().__init__()
        if width <= 0:
            raise ValueError(f"width must be positive, got {width}")
        chans = [max(8, int(round(c * width / 8)) * 8) for c in BASE_CHANNELS]
        stem_stride = 2 if image_size >= 64 else 1
        self.stem = nn.Sequential(
            nn.Conv2d(3, chans[0], 3, stem_stride, 1, bias=False),
            nn.BatchNorm2d(chans[0]),
            nn.ReLU(inplace=True),
        )
        stages: list[nn.Module] = []
        in_ch = chans[0]
        for i, ch in enumerate(chans):
            stages.append(make_stage(in_ch, ch, blocks, 1 if i == 0 else 2))
            in_ch = ch
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.out_dim = chans[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Shape: (B, 3, S, S) -> (B, out_dim)."""
        x = self.stages(self.stem(x))  # (B, C, S/16 or S/8, ...)
        return torch.flatten(self.pool(x), 1)  # (B, out_dim)
