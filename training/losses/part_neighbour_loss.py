"""Part neighbour consistency: per subspace, pull each row towards its k nearest others.

- [0] Self-Supervised Consistent Quantization for Fully Unsupervised Image Retrieval, 2022,
  https://arxiv.org/abs/2206.09806
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from training.losses.ntxent_loss import positive_index


class PartNeighbourLoss(nn.Module):
    """``mean_m mean_i -log(sum_{j in N_k(i)} e^{S_ij/tau} / sum_{j in O_i} e^{S_ij/tau})``.

    S^m is the cosine matrix of the 2B sub-quantized rows z^m; O_i excludes row i and its
    other view; N_k(i) are the k most similar rows of O_i, re-chosen every step in the
    batch (no memory bank). k is clipped to 2B - 2.

    Args:
        n_codebooks: M, the number of subspaces z is split into.
        k: Neighbours per row (20).
        temperature: tau (0.5).

    Shape:
        z1, z2: (B, M*L). Output: scalar.
    """

    def __init__(
        self, *, n_codebooks: int, k: int = 20, temperature: float = 0.5
    ) -> None:
        super().__init__()
        if k < 1 or temperature <= 0:
            raise ValueError(
                f"need k >= 1 and temperature > 0, got k={k}, tau={temperature}"
            )
        self.n_codebooks = n_codebooks
        self.k = k
        self.temperature = temperature

    def forward(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        """Mean over subspaces and the 2B rows."""
        B, D = z1.shape  # (batch, M*L)
        M = self.n_codebooks
        if D % M:
            raise ValueError(f"embedding dimension {D} is not divisible by M={M}")
        if B < 2:
            raise ValueError(f"need a batch of at least 2 images, got {B}")
        z = torch.cat([z1, z2], dim=0).float().view(2 * B, M, D // M)  # (2B, M, L)
        z = F.normalize(z, dim=2).transpose(0, 1)  # (M, 2B, L)
        logits = z @ z.transpose(1, 2) / self.temperature  # (M, 2B, 2B)
        rows = torch.arange(2 * B, device=z.device)
        excluded = torch.zeros(2 * B, 2 * B, dtype=torch.bool, device=z.device)
        excluded[rows, rows] = True
        excluded[rows, positive_index(B, z.device)] = True
        logits = logits.masked_fill(excluded, float("-inf"))  # (M, 2B, 2B)
        k = min(self.k, 2 * B - 2)
        top = logits.topk(k, dim=2).values  # (M, 2B, k)
        loss = torch.logsumexp(logits, dim=2) - torch.logsumexp(top, dim=2)  # (M, 2B)
        return loss.mean()
