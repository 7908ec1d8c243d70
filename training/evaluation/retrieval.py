"""Score embeddings and a PQ codebook with the field's retrieval protocol.

Database items are hard codes of their embedding (`sscq_desktop.core.encode`), queries
keep their continuous embedding, distance is ``subspace_l2`` (`sscq_desktop.core.adc_search`),
the database is shuffled by a fixed, recorded permutation before ranking (ties would
otherwise favour the classes stored first), and mAP/precision come from
`sscq_desktop.core.metrics`: one implementation for the app and for training.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import numpy.typing as npt

from sscq_desktop.core import adc_search, encode, mean_average_precision, precision_at

logger = logging.getLogger(__name__)

DATABASE_PERMUTATION_SEED = 2022


def score_retrieval(
    query_f: npt.NDArray[np.float32],
    database_f: npt.NDArray[np.float32],
    codebook: npt.NDArray[np.float32],
    *,
    query_labels: npt.NDArray[np.int64],
    database_labels: npt.NDArray[np.int64],
    top_n: int,
    precision_k: int | None = None,
    permutation_seed: int = DATABASE_PERMUTATION_SEED,
) -> dict[str, Any]:
    """mAP@top_n (and precision@k) of ADC retrieval.

    Args:
        query_f: Continuous query embeddings.
        database_f: Database embeddings (encoded to hard codes here).
        codebook: PQ codebook.
        query_labels: Class of each query.
        database_labels: Class of each database item.
        top_n: mAP cut-off (clipped to the database size).
        precision_k: Also report precision at this cut-off.
        permutation_seed: Seed of the database permutation (recorded in the result).

    Returns:
        ``{"map": ..., "map_at": N, "precision": ..., "precision_at": k, "n_queries",
        "n_database", "permutation_seed", "distinct_codes"}``.

    Shape:
        query_f: (Nq, M*L); database_f: (Nb, M*L); codebook: (M, K, L).
    """
    nb = database_f.shape[0]
    perm = np.random.default_rng(permutation_seed).permutation(nb)
    codes = encode(database_f[perm], codebook)  # (Nb, M) in permuted order
    db_labels = database_labels[perm]
    n = min(top_n, nb)
    k = max(n, precision_k or 0)
    _, ids = adc_search(query_f, codebook, codes, min(k, nb), distance="subspace_l2")
    result: dict[str, Any] = {
        "map": mean_average_precision(ids, query_labels, db_labels, n=n),
        "map_at": n,
        "n_queries": int(query_f.shape[0]),
        "n_database": int(nb),
        "permutation_seed": permutation_seed,
        "distinct_codes": int(len(np.unique(codes, axis=0))),
    }
    if precision_k:
        result["precision"] = precision_at(
            ids, query_labels, db_labels, n=min(precision_k, nb)
        )
        result["precision_at"] = min(precision_k, nb)
    return result
