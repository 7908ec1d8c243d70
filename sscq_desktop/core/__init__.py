"""Numpy-only core: PQ codec, ADC tables, exact top-k search and retrieval metrics.

The bottom layer of the app (ARCHITECTURE.md): everything above may import it, and it
imports nothing from the project beyond itself; never torch, faiss or Qt.
"""

from sscq_desktop.core.metrics import (
    average_precision,
    mean_average_precision,
    precision_at,
    relevance,
)
from sscq_desktop.core.pq import (
    Distance,
    check_codebook,
    check_codes,
    check_tables,
    decode,
    distance_tables,
    encode,
)
from sscq_desktop.core.search import PackedCodes, adc_search, search

__all__ = [
    "Distance",
    "PackedCodes",
    "adc_search",
    "average_precision",
    "check_codebook",
    "check_codes",
    "check_tables",
    "decode",
    "distance_tables",
    "encode",
    "mean_average_precision",
    "precision_at",
    "relevance",
    "search",
]
