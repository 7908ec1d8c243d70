"""Product quantizer with soft (training) and hard (codes) assignment.

Soft: ``a^m_k = softmax_k(-||f^m - c^m_k||^2 / tau_sq)``, ``z^m = sum_k a^m_k c^m_k``; the
gradient reaches both the embedding and the codebooks. Hard: the nearest codeword per
subspace, as the exported graph and `sscq_desktop.core.encode` compute it.

- [0] Self-Supervised Consistent Quantization for Fully Unsupervised Image Retrieval, 2022,
  https://arxiv.org/abs/2206.09806
"""

from __future__ import annotations

import torch
from torch import nn


class ProductQuantizer(nn.Module):
    """M codebooks of ksub codewords of dimension dsub (faiss layout ``(M, ksub, dsub)``).

    Codewords start Xavier-uniform: METHOD.md notes that N(0, 1) sends every image to one
    codeword at step 0 while Xavier-uniform does not.

    Args:
        n_codebooks: M.
        ksub: Codewords per codebook (<= 256 so codes fit in uint8).
        dsub: Codeword dimension L.
        tau_sq: Soft-assignment temperature on squared distances.

    Raises:
        ValueError: for non-positive sizes or ksub > 256.
    """

    def __init__(
        self, *, n_codebooks: int, ksub: int, dsub: int, tau_sq: float = 0.2
    ) -> None:
        super().__init__()
        if min(n_codebooks, ksub, dsub) < 1 or ksub > 256:
            raise ValueError(
                f"need M, ksub, dsub >= 1 and ksub <= 256, got {n_codebooks}, {ksub}, {dsub}"
            )
        if tau_sq <= 0:
            raise ValueError(f"tau_sq must be positive, got {tau_sq}")
        self.n_codebooks = n_codebooks
        self.ksub = ksub
        self.dsub = dsub
        self.tau_sq = tau_sq
        self.codebooks = nn.Parameter(torch.empty(n_codebooks, ksub, dsub))  # (M, K, L)
        for m in range(n_codebooks):
            nn.init.xavier_uniform_(self.codebooks.data[m])

    def squared_distances(self, f: torch.Tensor) -> torch.Tensor:
        """Squared Euclidean distance of every sub-vector to every codeword.

        Shape:
            f: (B, M*L) -> (B, M, K).
        """
        B = f.shape[0]
        sub = f.reshape(B, self.n_codebooks, 1, self.dsub)  # (B, M, 1, L)
        diff = sub - self.codebooks.unsqueeze(0)  # (B, M, K, L)
        return (diff * diff).sum(dim=-1)  # (B, M, K)

    def soft_assign(self, f: torch.Tensor, tau_sq: float | None = None) -> torch.Tensor:
        """Soft assignment probabilities.

        Shape:
            f: (B, M*L) -> (B, M, K), rows sum to 1.
        """
        tau = self.tau_sq if tau_sq is None else tau_sq
        return torch.softmax(-self.squared_distances(f) / tau, dim=-1)  # (B, M, K)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        """Soft-quantized reconstruction z.

        Args:
            f: Embeddings.

        Returns:
            z, the per-subspace probability-weighted codewords, concatenated.

        Shape:
            f: (B, M*L) -> z: (B, M*L).
        """
        a = self.soft_assign(f)  # (B, M, K)
        z = torch.einsum("bmk,mkl->bml", a, self.codebooks)  # (B, M, L)
        return z.reshape(f.shape[0], -1)

    def hard_codes(self, f: torch.Tensor) -> torch.Tensor:
        """Index of the nearest codeword per subspace (ties to the smaller index).

        Shape:
            f: (B, M*L) -> (B, M) int64.
        """
        return self.squared_distances(f).argmin(dim=-1)

    def hard_quantize(self, f: torch.Tensor) -> torch.Tensor:
        """Reconstruction from hard codes (the database side of evaluation).

        Shape:
            f: (B, M*L) -> (B, M*L).
        """
        codes = self.hard_codes(f)  # (B, M)
        m_idx = torch.arange(self.n_codebooks, device=f.device)
        return self.codebooks[m_idx, codes].reshape(f.shape[0], -1)  # (B, M*L)
