"""Batches of two augmented views, in a seeded order that a resumed run reproduces.

Epoch e visits the images in ``permutation(seed + e)`` order, drop-last, each rank taking
its slice of every global batch; so step s always reads the same images, whatever
happened before it. Views come from the batched tensor path (kornia, on the training
device) or from the per-image Pillow path.
"""

from __future__ import annotations

import random

import numpy as np
import numpy.typing as npt
import torch
from PIL import Image

from training.augment.pil_augment import PilAugment
from training.augment.tensor_augment import TensorAugment


class TwoViewBatches:
    """Index bookkeeping and augmentation for the training loop.

    Args:
        pixels: All training images, uint8.
        batch_size: Global batch (all ranks together).
        seed: Base seed of the epoch permutations.
        rank: This process's rank.
        world_size: Number of ranks; must divide `batch_size`.
        backend: ``tensor`` or ``pil``.
        image_size: Output side S.
        crop_scale_min: The pil backend's smallest crop area fraction.
        color_jitter: The pil backend's colour-jitter strength.

    Raises:
        ValueError: if the data holds fewer images than one batch, or the batch does not
            split evenly over ranks.

    Shape:
        pixels: (N, H, W, 3) uint8.
    """

    def __init__(
        self,
        pixels: npt.NDArray[np.uint8],
        *,
        batch_size: int,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
        backend: str = "tensor",
        image_size: int = 32,
        crop_scale_min: float = 0.08,
        color_jitter: float = 0.4,
    ) -> None:
        if batch_size % world_size:
            raise ValueError(
                f"batch_size {batch_size} does not split over {world_size} ranks"
            )
        if len(pixels) < batch_size:
            raise ValueError(
                f"only {len(pixels)} images for a batch of {batch_size}: lower optim.batch_size"
            )
        if backend not in ("tensor", "pil"):
            raise ValueError(
                f"data.augment_backend must be 'tensor' or 'pil', got {backend!r}"
            )
        self.pixels = pixels
        self.batch_size = batch_size
        self.local_batch = batch_size // world_size
        self.seed, self.rank = seed, rank
        self.backend = backend
        self.steps_per_epoch = len(pixels) // batch_size
        self._pil = PilAugment(
            image_size, rng=random.Random(seed * 1000 + rank),
            crop_scale_min=crop_scale_min, color_jitter=color_jitter,
        )  # fmt: skip
        self._perm_epoch = -1
        self._perm: npt.NDArray[np.int64] = np.zeros(0, np.int64)

    def indices(self, step: int) -> npt.NDArray[np.int64]:
        """This rank's image indices for global step `step`.

        Shape:
            (batch_size // world_size,).
        """
        epoch, within = divmod(step, self.steps_per_epoch)
        if epoch != self._perm_epoch:
            self._perm = np.random.default_rng(self.seed + epoch).permutation(
                len(self.pixels)
            )
            self._perm_epoch = epoch
        start = within * self.batch_size + self.rank * self.local_batch
        return np.sort(
            self._perm[start : start + self.local_batch]
        )  # sorted: faster memmap reads

    def views(
        self, step: int, augment: TensorAugment, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Two independently augmented views of this step's images.

        Shape:
            Returns two (b, 3, S, S) float tensors in [0, 1] on `device`.
        """
        batch = self.pixels[self.indices(step)]  # (b, H, W, 3)
        if self.backend == "pil":
            return self._pil_view(batch, device), self._pil_view(batch, device)
        images = torch.from_numpy(np.array(batch)).to(device, non_blocking=True)
        return augment.two_views(images)

    def _pil_view(
        self, batch: npt.NDArray[np.uint8], device: torch.device
    ) -> torch.Tensor:
        out = np.stack(
            [self._pil(Image.fromarray(img)) for img in batch]
        )  # (b, S, S, 3)
        x = torch.from_numpy(out).to(device).permute(0, 3, 1, 2).float().div_(255.0)
        return x.contiguous()
