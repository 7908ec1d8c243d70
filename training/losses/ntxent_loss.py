"""Instance contrastive loss (NT-Xent) over two views.

- [0] Self-Supervised Consistent Quantization for Fully Unsupervised Image Retrieval, 2022,
  https://arxiv.org/abs/2206.09806
- [1] A Simple Framework for Contrastive Learning of Visual Representations, 2020,
  https://arxiv.org/abs/2002.05709
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def pair_logits(u1: torch.Tensor, u2: torch.Tensor, tau: float) -> torch.Tensor:
    """Cosine-similarity logits of the 2B rows ``[u1; u2]``, self-similarity masked to -inf.

    Shape:
        u1, u2: (B, D) -> (2B, 2B).
    """
    u = F.normalize(torch.cat([u1, u2], dim=0), dim=1)  # (2B, D)
    logits = u @ u.T / tau  # (2B, 2B)
    eye = torch.eye(u.shape[0], dtype=torch.bool, device=u.device)
    return logits.masked_fill(eye, float("-inf"))


def positive_index(batch: int, device: torch.device) -> torch.Tensor:
    """Row of the other view for each of the 2B rows: i <-> i + B.

    Shape:
        (2B,) int64.
    """
    idx = torch.arange(batch, device=device)
    return torch.cat([idx + batch, idx])


class NTXentLoss(nn.Module):
    """NT-Xent: ``mean_i -log(e^{cos(u_i,u_pos)/tau} / sum_{j != i} e^{cos(u_i,u_j)/tau})``.

    The denominator runs over the positive and the 2B-2 others O_i, every one of the 2B rows
    is an anchor. Used on z and on f (weights `w_ic_z`, `w_ic_f`), temperature 0.5.

    Args:
        temperature: tau.

    Shape:
        u1, u2: (B, D), row i of each the two views of image i. Output: scalar.
    """

    def __init__(self, temperature: float = 0.5) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.temperature = temperature

    def forward(self, u1: torch.Tensor, u2: torch.Tensor) -> torch.Tensor:
        """Mean NT-Xent over the 2B anchors."""
        if u1.shape != u2.shape or u1.ndim != 2:
            raise ValueError(
                f"views must both be (B, D), got {tuple(u1.shape)}, {tuple(u2.shape)}"
            )
        logits = pair_logits(u1.float(), u2.float(), self.temperature)  # (2B, 2B)
        return F.cross_entropy(logits, positive_index(u1.shape[0], logits.device))
