"""Codeword diversity: negative entropy of the mean soft codeword usage per codebook.

- [0] Self-Supervised Consistent Quantization for Fully Unsupervised Image Retrieval, 2022,
  https://arxiv.org/abs/2206.09806
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class CodewordDiversityLoss(nn.Module):
    """``mean_m sum_k qbar^m_k log(qbar^m_k + eps)``, minimised to spread codeword usage.

    ``q^m_i = softmax_k(cos(f^m_i, c^m_k) / tau)`` and qbar^m is its mean over the rows.
    At tau = 1 (METHOD.md) the term is nearly constant; a sharper tau (0.1) makes it act.

    Args:
        temperature: tau on cosines (1.0).
        eps: Inside the log (1e-5, as the release).

    Shape:
        f: (N, M*L), all rows of both views. codebooks: (M, K, L). Output: scalar.
    """

    def __init__(self, temperature: float = 1.0, eps: float = 1e-5) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.temperature = temperature
        self.eps = eps

    def forward(self, f: torch.Tensor, codebooks: torch.Tensor) -> torch.Tensor:
        """Mean over codebooks of the negative entropy of mean usage."""
        M, K, L = codebooks.shape  # (codebooks, codewords, dsub)
        N = f.shape[0]
        sub = F.normalize(f.float().view(N, M, L), dim=2)  # (N, M, L)
        cw = F.normalize(codebooks.float(), dim=2)  # (M, K, L)
        cos = torch.einsum("nml,mkl->nmk", sub, cw)  # (N, M, K)
        q_bar = torch.softmax(cos / self.temperature, dim=2).mean(dim=0)  # (M, K)
        return (q_bar * torch.log(q_bar + self.eps)).sum(dim=1).mean()
