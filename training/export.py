"""Export a trained network to the model artifact, and check onnxruntime against PyTorch.

The graph takes uint8 NHWC ``images`` [N, S, S, 3] (dynamic N), scales to [0, 1] inside
(normalisation lives in the graph, ARCHITECTURE.md), and returns ``embedding`` float32
[N, M*L] and ``codes`` uint8 [N, M], the hard argmin assignment computed in the graph.
Metadata and the file itself go through `sscq_desktop.model.artifact.write_artifact`.

Warm start: ONNX alone cannot seed training, so every export also writes a companion
checkpoint (``<artifact>.pt``: weights, codebooks, resolved config) that
``python -m training train --init-from`` accepts.
"""

from __future__ import annotations

import copy
import logging
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from torch import nn

from sscq_desktop.model.artifact import (
    ArtifactMetadata,
    InputSpec,
    ModelArtifact,
    write_artifact,
)
from sscq_desktop.model.encoder import OnnxEncoder
from sscq_desktop.model.preprocessing import check_resize_policy
from training.config import TrainConfig
from training.evaluation.embed import codebook_of
from training.models.sscq_model import SSCQModel

logger = logging.getLogger(__name__)

OPSET = 17
PARITY_RTOL = (
    1e-4  # embeddings agree to 1e-4 x max(1, max |f|) between torch and onnxruntime
)


class ExportParityError(RuntimeError):
    """onnxruntime and PyTorch disagree on an exported model."""


class ArtifactGraph(nn.Module):
    """uint8 NHWC images -> (embedding, codes), the artifact's graph.

    Shape:
        images: (N, S, S, 3) uint8 -> embedding (N, M*L) float32, codes (N, M) uint8.
    """

    def __init__(self, model: SSCQModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Embed and hard-assign."""
        x = images.permute(0, 3, 1, 2).float() / 255.0  # (N, 3, S, S)
        f = self.model.search_embedding(x)  # (N, M*L)
        dist = self.model.search_squared_distances(f)  # (N, M, K)
        return f, dist.argmin(dim=-1).to(torch.uint8)  # (N, M*L), (N, M)


def export_onnx(model: SSCQModel, *, image_size: int) -> onnx.ModelProto:
    """Trace `model` (eval mode, CPU, float32) into an ONNX graph with a dynamic batch."""
    graph = ArtifactGraph(model).eval().cpu().float()
    dummy = torch.zeros(2, image_size, image_size, 3, dtype=torch.uint8)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        onnx_path = Path(tmp) / "graph.onnx"
        # The TorchScript exporter handles this graph exactly and warns it is deprecated.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            graph,
            (dummy,),
            str(onnx_path),
            input_names=["images"],
            output_names=["embedding", "codes"],
            dynamic_axes={"images": {0: "N"}, "embedding": {0: "N"}, "codes": {0: "N"}},
            opset_version=OPSET,
            dynamo=False,
        )
        proto = onnx.load(str(onnx_path))
    onnx.checker.check_model(proto)
    return proto


def export_artifact(
    model: SSCQModel,
    cfg: TrainConfig,
    path: str | Path,
    *,
    model_id: str,
    training: dict[str, Any],
    metrics: dict[str, Any] | None = None,
    companion: bool = True,
) -> ModelArtifact:
    """Write the model artifact (and its companion warm-start checkpoint).

    Args:
        model: Trained network (any device; exported from a float32 CPU copy).
        cfg: Its resolved config (input size, resize policy, M/K/L).
        path: Destination ``.onnx`` file.
        model_id: Stable identifier of this model.
        training: The artifact's ``training`` metadata (config, code version, losses...).
        metrics: Optional evaluation figures.
        companion: Also write ``<path>.pt`` for ``--init-from``.

    Returns:
        The validated artifact.
    """
    cpu_model = _cpu_copy(model)
    proto = export_onnx(cpu_model, image_size=cfg.data.image_size)
    books = codebook_of(cpu_model)  # (M, K, L): the fitted search codes, if any
    meta = ArtifactMetadata(
        model_id=model_id,
        M=books.shape[0],
        K=books.shape[1],
        L=books.shape[2],
        distance="subspace_l2",
        input=InputSpec(
            size=cfg.data.image_size, resize=check_resize_policy(cfg.data.resize)
        ),
        codebooks=books,
        training=training,
        metrics=metrics,
    )
    artifact = write_artifact(proto, meta, path)
    if companion:
        torch.save(
            {
                "model": cpu_model.state_dict(),
                "config": cfg.to_dict(),
                "model_id": model_id,
            },
            Path(path).with_suffix(".pt"),
        )
    logger.info("exported %s (%d bytes)", artifact.path, artifact.path.stat().st_size)
    return artifact


@dataclass(frozen=True)
class ParityReport:
    """How closely onnxruntime reproduces PyTorch, per batch size."""

    max_abs_diff: dict[int, float]
    tolerance: float
    codes_agree: dict[int, bool]


def check_parity(
    model: SSCQModel,
    artifact: ModelArtifact,
    *,
    batch_sizes: tuple[int, ...] = (1, 64),
    seed: int = 0,
) -> ParityReport:
    """Compare onnxruntime (`OnnxEncoder`) with PyTorch on random uint8 images.

    Embeddings must agree within ``PARITY_RTOL * max(1, max |f|)``; codes must agree
    wherever the two nearest codewords are further apart than that tolerance.

    Raises:
        ExportParityError: on a disagreement.
    """
    cpu_model = _cpu_copy(model)
    encoder = OnnxEncoder(artifact, device="cpu", max_batch=max(batch_sizes))
    s = artifact.metadata.input.size
    rng = np.random.default_rng(seed)
    diffs: dict[int, float] = {}
    agree: dict[int, bool] = {}
    tol = 0.0
    for n in batch_sizes:
        images = rng.integers(0, 256, size=(n, s, s, 3), dtype=np.uint8)
        with torch.no_grad():
            f_t, codes_t = ArtifactGraph(cpu_model)(torch.from_numpy(images))
            dist = cpu_model.search_squared_distances(f_t).numpy()  # (n, M, K)
        out = encoder.encode(images)
        f_np = f_t.numpy()
        tol = PARITY_RTOL * max(1.0, float(np.abs(f_np).max()))
        diffs[n] = float(np.abs(out.embedding - f_np).max())
        top2 = np.sort(dist, axis=-1)[..., :2]
        clear = (top2[..., 1] - top2[..., 0]) > tol  # (n, M): no near-tie
        agree[n] = bool(np.all((out.codes == codes_t.numpy()) | ~clear))
        if diffs[n] > tol or not agree[n]:
            raise ExportParityError(
                f"batch {n}: max |embedding diff| {diffs[n]:.2e} (tolerance {tol:.2e}), "
                f"codes agree: {agree[n]}"
            )
    return ParityReport(max_abs_diff=diffs, tolerance=tol, codes_agree=agree)


def _cpu_copy(model: SSCQModel) -> SSCQModel:
    """A float32 CPU model in eval mode with the same weights (the original is untouched)."""
    return copy.deepcopy(model).cpu().float().eval()
