"""Assemble a run from its config: device, precision, network, optimizer, warm start.

Thin helpers the training loop and the CLIs share (DINO's builder/optimizer split).
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any

import torch

from training.checkpoint import load_checkpoint
from training.config import TrainConfig, config_from_dict
from training.models.search_codes import without_search_state
from training.models.sscq_model import SSCQModel, build_model

logger = logging.getLogger(__name__)


def pick_device(name: str, *, local_rank: int = 0) -> torch.device:
    """``auto`` is CUDA (this rank's GPU) when available, else the CPU.

    Raises:
        ValueError: for an unknown name, or ``cuda`` without a GPU.
    """
    if name not in ("auto", "cpu", "cuda"):
        raise ValueError(f"run.device must be auto, cpu or cuda, got {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("run.device = 'cuda' but torch sees no GPU")
    if name != "cpu" and torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def autocast_context(
    amp: str, device: torch.device
) -> contextlib.AbstractContextManager[Any]:
    """bf16 autocast on CUDA under ``auto``/``bf16``; full precision otherwise."""
    if amp not in ("auto", "bf16", "off"):
        raise ValueError(f"run.amp must be auto, bf16 or off, got {amp!r}")
    use = amp == "bf16" or (amp == "auto" and device.type == "cuda")
    if not use:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def to_channels_last(model: torch.nn.Module) -> None:
    """Store 4-D weights NHWC in place (``Module.to(memory_format=...)`` by hand)."""
    for param in model.parameters():
        if param.dim() == 4:
            param.data = param.data.contiguous(memory_format=torch.channels_last)


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Adam:
    """Adam with the recipe's lr and L2 weight decay (the release's optimizer)."""
    return torch.optim.Adam(
        model.parameters(), lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay
    )


def warm_start(model: SSCQModel, path: str | Path) -> None:
    """Initialise network and codebooks from a checkpoint or an export's companion ``.pt``.

    Search codes fitted after that training are left out: the new run fits its own.

    Raises:
        ValueError: if the checkpoint's architecture differs from `model`'s.
    """
    payload = load_checkpoint(path)
    try:
        model.load_weights(without_search_state(payload["model"]))
    except RuntimeError as exc:
        raise ValueError(
            f"--init-from {path}: architecture does not match: {exc}"
        ) from exc
    logger.info("warm start from %s", path)


ARCHITECTURE_KEYS = (
    "model.backbone",
    "model.width",
    "model.n_codebooks",
    "model.nbits",
    "model.dsub",
    "data.image_size",
    "data.resize",
)
"""What a warm start takes from its checkpoint: the shape of the network and its input."""


def adopt_architecture(cfg: TrainConfig, path: str | Path) -> TrainConfig:
    """Give `cfg` the network shape of the checkpoint a warm start loads.

    A recipe may change after a model was exported; taking `ARCHITECTURE_KEYS` from the
    checkpoint keeps ``--init-from`` working. Later ``--set`` overrides still win (and a
    mismatch then fails in `warm_start`, naming the tensors).

    Args:
        cfg: The config to change, in place.
        path: A checkpoint or an export's companion ``.pt``.

    Returns:
        `cfg`.
    """
    saved = config_from_dict(load_checkpoint(path)["config"])
    for dotted in ARCHITECTURE_KEYS:
        section, key = dotted.split(".")
        setattr(getattr(cfg, section), key, getattr(getattr(saved, section), key))
    if 0 < cfg.data.store_size < cfg.data.image_size:
        cfg.data.store_size = cfg.data.image_size  # never crop from smaller pixels
    return cfg


def model_from_checkpoint(
    path: str | Path,
) -> tuple[SSCQModel, TrainConfig, dict[str, Any]]:
    """Rebuild the network a checkpoint was trained with, weights loaded, in eval mode."""
    payload = load_checkpoint(path)
    cfg = config_from_dict(payload["config"])
    model = build_model(cfg.model, image_size=cfg.data.image_size)
    model.load_weights(payload["model"])
    return model.eval(), cfg, payload
