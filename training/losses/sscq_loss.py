"""The total training loss: SSCQ's weighted sum, or SPQ's loss as a baseline.

- [0] Self-Supervised Consistent Quantization for Fully Unsupervised Image Retrieval, 2022,
  https://arxiv.org/abs/2206.09806
"""

from __future__ import annotations

import torch
from torch import nn

from training.config import LossConfig
from training.losses.codeword_diversity_loss import CodewordDiversityLoss
from training.losses.consistent_contrastive_loss import ConsistentContrastiveLoss
from training.losses.cross_quantized_contrastive_loss import (
    CrossQuantizedContrastiveLoss,
)
from training.losses.ntxent_loss import NTXentLoss
from training.losses.part_neighbour_loss import PartNeighbourLoss


class SSCQLoss(nn.Module):
    """``w_icz L_ic(z) + w_icf L_ic(f) + w_cc L_cc + w_pn L_pn + w_cd L_cd`` (or SPQ's).

    Terms with weight 0 are skipped (not computed), so the ablation costs nothing extra.

    Args:
        cfg: Loss kind, weights and temperatures.
        n_codebooks: M.

    Shape:
        f1, z1, f2, z2: (B, M*L); codebooks: (M, K, L).
        Returns the scalar total and a dict of its unweighted parts (floats, for logging).
    """

    def __init__(self, cfg: LossConfig, *, n_codebooks: int) -> None:
        super().__init__()
        if cfg.kind not in ("sscq", "spq"):
            raise ValueError(f"loss kind must be 'sscq' or 'spq', got {cfg.kind!r}")
        self.cfg = cfg
        self.ntxent = NTXentLoss(cfg.tau_ic)
        self.consistent = ConsistentContrastiveLoss(cfg.tau_cc)
        self.part_neighbour = PartNeighbourLoss(
            n_codebooks=n_codebooks, k=cfg.k_pn, temperature=cfg.tau_pn
        )
        self.diversity = CodewordDiversityLoss(cfg.tau_cd)
        self.spq = CrossQuantizedContrastiveLoss(cfg.tau_spq)

    def forward(
        self,
        f1: torch.Tensor,
        z1: torch.Tensor,
        f2: torch.Tensor,
        z2: torch.Tensor,
        codebooks: torch.Tensor,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Total loss and its detached parts."""
        c = self.cfg
        parts: dict[str, tuple[float, torch.Tensor]] = {}
        if c.kind == "spq":
            parts["spq"] = (1.0, self.spq(f1, z1, f2, z2))
        else:
            if c.w_ic_z:
                parts["ic_z"] = (c.w_ic_z, self.ntxent(z1, z2))
            if c.w_ic_f:
                parts["ic_f"] = (c.w_ic_f, self.ntxent(f1, f2))
            if c.w_cc:
                parts["cc"] = (c.w_cc, self.consistent(f1 + z1, f2 + z2))
            if c.w_pn:
                parts["pn"] = (c.w_pn, self.part_neighbour(z1, z2))
            if c.w_cd:
                parts["cd"] = (c.w_cd, self.diversity(torch.cat([f1, f2]), codebooks))
        total = sum(
            (w * v for w, v in parts.values()), torch.zeros((), device=f1.device)
        )
        return total, {name: v.detach() for name, (_, v) in parts.items()}
