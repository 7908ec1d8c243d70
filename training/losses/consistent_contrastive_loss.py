"""Consistent contrastive regularisation: both views agree on how they relate to others.

- [0] Self-Supervised Consistent Quantization for Fully Unsupervised Image Retrieval, 2022,
  https://arxiv.org/abs/2206.09806
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def others_mask(batch: int, device: torch.device) -> torch.Tensor:
    """For image i, True on the 2B-2 columns of ``[u1; u2]`` that are neither of its views.

    Shape:
        (B, 2B) bool.
    """
    idx = torch.arange(batch, device=device)
    mask = torch.ones(batch, 2 * batch, dtype=torch.bool, device=device)
    mask[idx, idx] = False
    mask[idx, idx + batch] = False
    return mask


class ConsistentContrastiveLoss(nn.Module):
    """Symmetric KL between the two views' similarity distributions over the others.

    With v = f + z and S the cosine matrix of ``[v1; v2]``: ``r^a_i = S[i, O_i]``,
    ``r^b_i = S[i + B, O_i]`` (same columns, same order), ``P_i = softmax(r^a_i / tau)``,
    ``Q_i = softmax(r^b_i / tau)``, ``L = mean_i (KL(Q_i||P_i) + KL(P_i||Q_i)) / 2``.
    No stop-gradient on either side.

    Args:
        temperature: tau (0.2).

    Shape:
        v1, v2: (B, D), the fused f + z of each view. Output: scalar.
    """

    def __init__(self, temperature: float = 0.2) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.temperature = temperature

    def forward(self, v1: torch.Tensor, v2: torch.Tensor) -> torch.Tensor:
        """Mean symmetric KL over the B images."""
        B = v1.shape[0]
        if B < 2:
            raise ValueError(f"need a batch of at least 2 images, got {B}")
        v = F.normalize(torch.cat([v1, v2], dim=0).float(), dim=1)  # (2B, D)
        sim = v @ v.T  # (2B, 2B)
        mask = others_mask(B, v.device)  # (B, 2B)
        r_a = sim[:B][mask].view(B, 2 * B - 2)  # (B, 2B-2)
        r_b = sim[B:][mask].view(B, 2 * B - 2)  # (B, 2B-2), same columns
        log_p = F.log_softmax(r_a / self.temperature, dim=1)
        log_q = F.log_softmax(r_b / self.temperature, dim=1)
        kl_qp = (log_q.exp() * (log_q - log_p)).sum(dim=1)  # (B,)
        kl_pq = (log_p.exp() * (log_p - log_q)).sum(dim=1)  # (B,)
        return 0.5 * (kl_qp + kl_pq).mean()
