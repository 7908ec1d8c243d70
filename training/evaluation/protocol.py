"""Evaluate a network on an `EvalSet`: CIFAR-10's standard protocol or a labeled folder.

CIFAR-10: 10,000 test queries against the 50,000 training images, mAP@1000.
Folders: fixed-seed held-out queries against the rest, mAP@100 and precision@10.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from training.data.sources import EvalSet
from training.evaluation.embed import codebook_of, embed_pixels
from training.evaluation.retrieval import score_retrieval
from training.models.sscq_model import SSCQModel


def evaluate_model(
    model: SSCQModel, eval_set: EvalSet, *, device: torch.device, batch_size: int = 256
) -> dict[str, Any]:
    """Embed queries and database with `model` and score retrieval.

    Returns:
        The metrics of `score_retrieval` plus ``"protocol"`` and ``"split_seed"``.
    """
    q = embed_pixels(model, eval_set.query_pixels, device=device, batch_size=batch_size)
    db = embed_pixels(
        model, eval_set.database_pixels, device=device, batch_size=batch_size
    )
    result = score_retrieval(
        q,
        db,
        codebook_of(model),
        query_labels=eval_set.query_labels,
        database_labels=eval_set.database_labels,
        top_n=eval_set.top_n,
        precision_k=eval_set.precision_k,
    )
    result["protocol"] = eval_set.protocol
    result["split_seed"] = eval_set.split_seed
    return result


def evaluate_corpora(
    model: SSCQModel, eval_sets: Mapping[str, EvalSet], *, device: torch.device
) -> dict[str, Any]:
    """Evaluate on every corpus apart; one corpus gives exactly `evaluate_model`'s dict.

    Several corpora give ``"map"`` (and ``"precision"`` where every corpus has one) as
    the unweighted mean over corpora, and ``"corpora"``: each corpus's own metrics.
    """
    per = {
        name: evaluate_model(model, es, device=device) for name, es in eval_sets.items()
    }
    if len(per) == 1:
        return next(iter(per.values()))
    result: dict[str, Any] = {
        "map": float(np.mean([m["map"] for m in per.values()])),
        "corpora": per,
    }
    if all("precision" in m for m in per.values()):
        result["precision"] = float(np.mean([m["precision"] for m in per.values()]))
    return result
