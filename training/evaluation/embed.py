"""Run a trained network over uint8 pixels in batches, without gradients, in eval mode."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch

from training.models.sscq_model import SSCQModel


@torch.no_grad()
def embed_pixels(
    model: SSCQModel,
    pixels: npt.NDArray[np.uint8],
    *,
    device: torch.device,
    batch_size: int = 256,
    channels_last: bool = False,
) -> npt.NDArray[np.float32]:
    """Continuous embeddings f of model-sized images.

    Restores the model's train/eval mode afterwards.

    Shape:
        pixels: (N, S, S, 3) uint8 -> (N, M*L) float32.
    """
    was_training = model.training
    model.eval()
    out = []
    try:
        for start in range(0, len(pixels), batch_size):
            chunk = torch.from_numpy(
                np.array(pixels[start : start + batch_size])
            )  # a writable copy
            x = chunk.to(device).permute(0, 3, 1, 2).float().div_(255.0)  # (b, 3, S, S)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            out.append(model.embed(x).float().cpu().numpy())  # CPU-GPU sync point
    finally:
        model.train(was_training)
    dim = model.quantizer.n_codebooks * model.quantizer.dsub
    return np.concatenate(out) if out else np.zeros((0, dim), np.float32)


def codebook_of(model: SSCQModel) -> npt.NDArray[np.float32]:
    """The model's codebooks as a float32 numpy array.

    Shape:
        (M, K, L).
    """
    return np.ascontiguousarray(
        model.quantizer.codebooks.detach().float().cpu().numpy()
    )
