"""The SSCQ network: backbone -> projection head -> embedding f -> product quantizer.

`SSCQModel` returns f and its soft quantization z for one view; `TwoViewModel` runs the two
augmented views in separate forward passes (BatchNorm statistics per view, METHOD.md) inside
one `forward`, which is what DistributedDataParallel wraps.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from training.config import ModelConfig
from training.models.cifar_resnet import CifarResNet18
from training.models.compact_net import CompactNet
from training.models.conv_pool_net import ConvPoolNet, DepthwiseNet
from training.models.quantizer import ProductQuantizer
from training.models.search_codes import SearchCodes, search_state_keys


class ViewOutput(NamedTuple):
    """Embedding and soft quantization of one view.

    Shape:
        f: (B, M*L). z: (B, M*L).
    """

    f: torch.Tensor
    z: torch.Tensor


class SSCQModel(nn.Module):
    """Backbone, projection head Linear(d->512), ReLU, Linear(512->M*L), and quantizer.

    Args:
        backbone: Feature extractor with an ``out_dim`` attribute.
        n_codebooks: M.
        ksub: Codewords per codebook.
        dsub: L.
        tau_sq: Soft-quantization temperature.
    """

    def __init__(
        self,
        backbone: nn.Module,
        *,
        n_codebooks: int,
        ksub: int,
        dsub: int,
        tau_sq: float,
    ) -> None:
        super().__init__()
        in_dim = int(getattr(backbone, "out_dim", 512))
        self.backbone = backbone
        self.head = nn.Sequential(
            nn.Linear(in_dim, 512),
            nn.ReLU(inplace=True),
            nn.Linear(512, n_codebooks * dsub),
        )
        self.quantizer = ProductQuantizer(
            n_codebooks=n_codebooks, ksub=ksub, dsub=dsub, tau_sq=tau_sq
        )
        self.search: SearchCodes | None = None  # fitted after training (search_fit)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Continuous embedding f (not normalised).

        Shape:
            x: (B, 3, S, S) float in [0, 1] -> (B, M*L).
        """
        f: torch.Tensor = self.head(self.backbone(x))  # (B, M*L)
        return f

    def forward(self, x: torch.Tensor) -> ViewOutput:
        """Embedding and soft quantization of one batch of views.

        Shape:
            x: (B, 3, S, S) -> f, z: (B, M*L).
        """
        f = self.embed(x)
        return ViewOutput(f=f, z=self.quantizer(f.float()))

    def search_embedding(self, x: torch.Tensor) -> torch.Tensor:
        """What the exported model outputs and searches with.

        f itself while no `SearchCodes` are fitted (the learned codebooks quantize it);
        else f normalised and rotated by them.

        Shape:
            x: (B, 3, S, S) float in [0, 1] -> (B, M*L).
        """
        f = self.embed(x)
        return f if self.search is None else self.search.project(f)

    def search_codebooks(self) -> torch.Tensor:
        """The codebooks of the exported codes: the fitted ones, else the learned ones.

        Shape:
            (M, K, L).
        """
        if self.search is None:
            return self.quantizer.codebooks
        return self.search.codebooks

    def search_squared_distances(self, g: torch.Tensor) -> torch.Tensor:
        """Squared distances of a search embedding to the exported codebooks.

        Shape:
            g: (B, M*L) -> (B, M, K).
        """
        if self.search is None:
            return self.quantizer.squared_distances(g)
        return self.search.squared_distances(g)

    def load_weights(self, state: dict[str, torch.Tensor]) -> None:
        """Load a state dict, with or without fitted search codes.

        Raises:
            RuntimeError: if the tensors do not fit this network (PyTorch's message).
        """
        search = search_state_keys(state)
        if search:
            q = self.quantizer
            books, ksub, _ = search["search.codebooks"].shape  # (M, K, L), any M
            self.search = SearchCodes(
                q.n_codebooks * q.dsub, n_codebooks=int(books), ksub=int(ksub)
            ).to(q.codebooks.device)
        else:
            self.search = None
        self.load_state_dict(state)


class TwoViewModel(nn.Module):
    """Runs `model` on two views in separate passes; the unit DDP wraps.

    Args:
        model: The SSCQ network.
    """

    def __init__(self, model: SSCQModel) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, x1: torch.Tensor, x2: torch.Tensor
    ) -> tuple[ViewOutput, ViewOutput]:
        """Shape: x1, x2: (B, 3, S, S) -> two ViewOutputs of (B, M*L) tensors."""
        return self.model(x1), self.model(x2)


BACKBONES = ("cifar_resnet18", "compact", "convpool", "depthwise")


def build_model(cfg: ModelConfig, *, image_size: int) -> SSCQModel:
    """Build the network a `ModelConfig` describes.

    Raises:
        ValueError: for an unknown backbone name.
    """
    backbone: nn.Module
    if cfg.backbone == "cifar_resnet18":
        backbone = CifarResNet18()
    elif cfg.backbone == "compact":
        backbone = CompactNet(width=cfg.width, image_size=image_size)
    elif cfg.backbone == "convpool":
        backbone = ConvPoolNet(width=cfg.width, image_size=image_size)
    elif cfg.backbone == "depthwise":
        backbone = DepthwiseNet(width=cfg.width, image_size=image_size)
    else:
        raise ValueError(
            f"unknown backbone {cfg.backbone!r}; use one of {', '.join(BACKBONES)}"
        )
    return SSCQModel(
        backbone,
        n_codebooks=cfg.n_codebooks,
        ksub=2**cfg.nbits,
        dsub=cfg.dsub,
        tau_sq=cfg.tau_sq,
    )
