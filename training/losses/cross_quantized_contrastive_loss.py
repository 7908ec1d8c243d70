"""SPQ's cross quantized contrastive loss, the baseline SSCQ is compared with.

- [0] Self-Supervised Consistent Quantization for Fully Unsupervised Image Retrieval, 2022,
  https://arxiv.org/abs/2206.09806
- [1] Self-supervised Product Quantization for Deep Unsupervised Image Retrieval, 2021,
  https://arxiv.org/abs/2109.02244
"""

from __future__ import annotations

import torch
from torch import nn

from training.losses.ntxent_loss import NTXentLoss


class CrossQuantizedContrastiveLoss(nn.Module):
    """NT-Xent where view a's embedding f_a is paired with view b's quantization z_b.

    ``L = NTXent([f_a; z_b]) + NTXent([f_b; z_a])``, each a mean over its 2B rows.

    Args:
        temperature: tau (0.5 in SPQ).

    Shape:
        f1, z1, f2, z2: (B, D). Output: scalar.
    """

    def __init__(self, temperature: float = 0.5) -> None:
        super().__init__()
        self.ntxent = NTXentLoss(temperature)

    def forward(
        self, f1: torch.Tensor, z1: torch.Tensor, f2: torch.Tensor, z2: torch.Tensor
    ) -> torch.Tensor:
        """Sum of the two cross NT-Xent means."""
        loss_a: torch.Tensor = self.ntxent(f1, z2)
        loss_b: torch.Tensor = self.ntxent(f2, z1)
        return loss_a + loss_b
