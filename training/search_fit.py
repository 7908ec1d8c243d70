"""Fit a trained network's search codes on its own training photos (no labels).

When a schedule ends, the trainer embeds a fixed-seed sample of the photos it trained on
(the stored pixels resized to the model's input, as evaluation sees them), normalises
the embeddings, fits OPQ (`training.evaluation.kmeans_pq.fit_opq`) and attaches the
result to the model as `SearchCodes`; export and evaluation then use them
(`SSCQModel.search_embedding`). ``python -m training fit-search-codes`` does the same for
a checkpoint trained before this step existed. See `training.models.search_codes` for
why.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F

from training.config import TrainConfig
from training.evaluation.embed import embed_pixels
from training.evaluation.kmeans_pq import fit_opq
from training.models.search_codes import SearchCodes
from training.models.sscq_model import SSCQModel

logger = logging.getLogger(__name__)

SEARCH_CODE_KINDS = ("opq", "learned")
"""Values of ``model.search_codes``."""

MIN_PHOTOS_PER_CODEWORD = 4
"""Fewer training photos than this many per codeword keep the learned codebooks."""

_CHUNK = 1024
"""Photos resized and embedded at a time (bounds the memory of the resized copies)."""


def fit_search_codes(
    model: SSCQModel,
    pixels: npt.NDArray[np.uint8],
    cfg: TrainConfig,
    *,
    device: torch.device,
) -> dict[str, Any]:
    """Fit and attach `SearchCodes` to `model` (replacing any it had).

    Args:
        model: The trained network (left in the train/eval mode it was in).
        pixels: The training photos at the store size.
        cfg: The run's config (``model.search_fit_*``, ``data.image_size``, seed).
        device: Where to run the network.

    Returns:
        What was done, JSON-able: ``{"kind", "images", "seconds", "codewords_used"}``.

    Raises:
        ValueError: for an unknown ``model.search_codes``, or ``model.search_codebooks``
            that does not divide the embedding.
    """
    kind = cfg.model.search_codes
    if kind not in SEARCH_CODE_KINDS:
        raise ValueError(
            f"model.search_codes must be one of {', '.join(SEARCH_CODE_KINDS)}, got {kind!r}"
        )
    t0 = time.perf_counter()
    model.search = None
    if kind == "learned":
        return {"kind": kind, "images": 0, "seconds": 0.0}
    q = model.quantizer
    dim = q.n_codebooks * q.dsub
    books = cfg.model.search_codebooks or q.n_codebooks
    if books < 1 or dim % books:
        raise ValueError(
            f"model.search_codebooks must divide the embedding's {dim} dimensions, "
            f"got {books}"
        )
    n = min(len(pixels), max(1, cfg.model.search_fit_images))
    if n < MIN_PHOTOS_PER_CODEWORD * q.ksub:
        logger.warning(
            "%d photos are too few to fit %d codewords per subspace; the exported "
            "codes keep the learned codebooks",
            n,
            q.ksub,
        )
        return {
            "kind": "learned",
            "images": 0,
            "seconds": 0.0,
            "reason": "too few photos",
        }
    pick = np.sort(
        np.random.default_rng(cfg.run.seed).choice(len(pixels), n, replace=False)
    )
    f = np.concatenate(
        [
            embed_pixels(
                model,
                _resized(pixels[pick[i : i + _CHUNK]], cfg.data.image_size),
                device=device,
            )
            for i in range(0, n, _CHUNK)
        ]
    )  # (n, D)
    g = f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)
    rotation, codebook = fit_opq(
        g,
        n_codebooks=books,
        ksub=q.ksub,
        iterations=cfg.model.search_fit_iterations,
        seed=cfg.run.seed,
    )
    search = SearchCodes(dim, n_codebooks=books, ksub=q.ksub)
    search.rotation.copy_(torch.from_numpy(rotation))
    search.codebooks.copy_(torch.from_numpy(codebook))
    model.search = search.to(q.codebooks.device)
    with torch.no_grad():
        codes = search.squared_distances(torch.from_numpy(g @ rotation)).argmin(-1)
    used = sum(len(torch.unique(codes[:, m])) for m in range(books))
    summary = {
        "kind": kind,
        "images": int(n),
        "seconds": round(time.perf_counter() - t0, 1),
        "codewords_used": f"{used} of {books * q.ksub}",
    }
    logger.info("search codes fitted: %s", summary)
    return summary


def _resized(pixels: npt.NDArray[np.uint8], size: int) -> npt.NDArray[np.uint8]:
    """Stored square photos resized to the model's input (antialiased bilinear).

    Shape:
        pixels: (n, S, S, 3) -> (n, size, size, 3).
    """
    if pixels.shape[1] == size:
        return pixels
    x = torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2).float()
    y = F.interpolate(
        x, size=(size, size), mode="bilinear", antialias=True, align_corners=False
    )
    out: npt.NDArray[np.uint8] = (
        y.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    )
    return np.ascontiguousarray(out)
