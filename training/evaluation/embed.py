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
    """Continuous embeddings of model-sized images, as the exported model gives them.

    That is f while no search codes are fitted, and f normalised and rotated by them
    once they are (`SSCQModel.search_embedding`). Restores the model's train/eval mode afterwards.

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
            out.append(
                model.search_embedding(x).float().cpu().numpy()
            )  # CPU-GPU sync point
    finally:
        model.train(was_training)
    dim = model.quantizer.n_codebooks * model.quantizer.dsub
    return np.concatenate(out) if out else np.zeros((0, dim), np.float32)


def codebook_of(model: SSCQModel) -> npt.NDArray[np.float32]:
    """The codebooks of the model's exported codes as a float32 numpy array.

    The fitted search codebooks when there are, else the learned ones.

    Shape:
        (M, K, L).
    """
    return np.ascontiguousarray(model.search_codebooks().detach().float().cpu().numpy())
