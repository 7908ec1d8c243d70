"""`SearchCodes`: what an exported model searches with, fitted once training is over.

The SSCQ losses learn the embedding f and, jointly, codebooks for the *unnormalised* f
(METHOD.md). Every contrastive term compares cosines, so the length of f carries little
meaning, and the soft quantizer leaves a fifth of the codewords unused at the end of a
run. Searching the L2-normalised embedding, rotated so that its energy spreads evenly over
the M subspaces (OPQ), with codebooks fitted by k-means on the training photos, is what
the exported graph does when `ModelConfig.search_codes` is ``"opq"`` (measured in the
README: +0.011 mAP@100 on Tiny ImageNet, +0.020 on Imagenette, +0.017 on 20 categories
the model never saw, against the learned codebooks of the same network).

The network's own quantizer keeps training the SSCQ losses; these buffers are fitted
after it (`training.search_fit`) and dropped by a warm start or a resume, which fit
them again at the end.

- [0] Optimized Product Quantization, Ge et al., 2014 (the non-parametric OPQ).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SearchCodes(nn.Module):
    """L2 normalisation, an orthogonal rotation and PQ codebooks (all buffers, no grads).

    Args:
        dim: Embedding dimension D = M*L.
        n_codebooks: M.
        ksub: Codewords per codebook.

    Raises:
        ValueError: if `dim` is not divisible by `n_codebooks`.
    """

    rotation: torch.Tensor
    codebooks: torch.Tensor

    def __init__(self, dim: int, *, n_codebooks: int, ksub: int) -> None:
        super().__init__()
        if dim % n_codebooks:
            raise ValueError(f"dimension {dim} is not divisible by M={n_codebooks}")
        self.n_codebooks, self.ksub, self.dsub = n_codebooks, ksub, dim // n_codebooks
        self.register_buffer("rotation", torch.eye(dim))  # (D, D), orthogonal
        self.register_buffer(
            "codebooks", torch.zeros(n_codebooks, ksub, dim // n_codebooks)
        )  # (M, K, L)

    def project(self, f: torch.Tensor) -> torch.Tensor:
        """The search embedding: unit length, then rotated.

        Shape:
            f: (B, D) -> (B, D).
        """
        # Written with the operators the app's graph policy admits (Sqrt, and Gemm for
        # the rotation) rather than F.normalize's ReduceL2/Clip/Expand and a MatMul.
        unit = f / torch.sqrt((f * f).sum(dim=1, keepdim=True) + 1e-12)
        rotation = self.rotation.to(f.dtype)
        return F.linear(unit, rotation.T, torch.zeros_like(rotation[0]))

    def squared_distances(self, g: torch.Tensor) -> torch.Tensor:
        """Squared distance of each sub-vector of a search embedding to each codeword.

        Shape:
            g: (B, D) -> (B, M, K).
        """
        sub = g.reshape(g.shape[0], self.n_codebooks, 1, self.dsub)  # (B, M, 1, L)
        diff = sub - self.codebooks.unsqueeze(0)  # (B, M, K, L)
        return (diff * diff).sum(dim=-1)


def search_state_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The entries of a model state dict that belong to its `SearchCodes` (``search.*``)."""
    return {k: v for k, v in state.items() if k.startswith("search.")}


def without_search_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A model state dict without its search codes: what training continues from."""
    return {k: v for k, v in state.items() if not k.startswith("search.")}
