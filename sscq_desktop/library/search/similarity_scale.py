"""What a search distance means: a calibrated probability and a band a person reads.

Every result is scored from one number that travels across queries, libraries and models:
the *relative distance* ``u = d / m``, where ``d`` is the model's distance between the
query's embedding and the result's stored embedding (`code_index.vector_distance`) and
``m`` is the median of the query's distances to a fixed random sample of the library's
photos (`CodeIndex.query_scale`). ``u`` is 0 for an identical photo and about 1 for a
typical photo of the library, whatever the model's units or the library's density.

From ``u``:

- `same_kind_probability`: a logistic curve in ``ln u`` fitted on labeled photos no model
  trained on (held-out Imagenette and Tiny ImageNet photos of the shipped default's
  recipe): the chance that a result this close is the same kind of photo as the query.
  Its slope is fitted within each set (one intercept per set), its level on the sets
  pooled.
  "Kind" depends on who labels: measured per held-out set, the fraction varies with how
  fine the set's classes are (`tests/benchmarks/bench_score_calibration.py`).
- `band_of`: "Copy" and "Near copy" from the relative distances of generated edits of
  the same photo (resize and re-encode; brightness, contrast, small crops), which need
  no labels; "Very similar" and "Related" where the probability reaches
  `VERY_SIMILAR_PROBABILITY` and `RELATED_PROBABILITY`.

The constants are fitted by ``python tests/benchmarks/bench_score_calibration.py --fit``
(the fit and its data: ``docs/results/score_calibration_fit.json``). Numpy only.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from sscq_desktop.library.records import SimilarityBand

PROBABILITY_INTERCEPT = -3.5856
"""Logit of `same_kind_probability` at ``u = 1`` (a typical photo of the library): set so
that the mean probability over the tuning sets' results is their same-kind share."""
PROBABILITY_SLOPE = -3.3901
"""Change of the logit per unit of ``ln u`` (negative: closer is likelier), shared by
the tuning sets (fitted with one intercept per set)."""

COPY_MAX_U = 0.0888
"""Largest relative distance of a copy: 99% of resized and re-encoded copies are closer."""
NEAR_COPY_MAX_U = 0.2263
"""Largest relative distance of a near copy: 95% of edited copies (brightness, contrast,
a 95% crop) are closer."""
VERY_SIMILAR_PROBABILITY = 0.50
"""Smallest same-kind probability of a "Very similar" result."""
RELATED_PROBABILITY = 0.20
"""Smallest same-kind probability of a "Related" result."""


def relative_distance(distance: npt.ArrayLike, scale: float) -> npt.NDArray[np.float64]:
    """``distance / scale``: 0 for the same photo, about 1 for a typical library photo.

    Args:
        distance: Distances from a query (the model's distance between embeddings).
        scale: The query's `CodeIndex.query_scale`; a scale of 0 (a library whose
            sample holds only the query) reads every positive distance as typical.

    Shape:
        distance: any; returns the same shape.
    """
    d = np.asarray(distance, dtype=np.float64)
    if scale > 0.0:
        return d / scale
    return np.where(d > 0.0, 1.0, 0.0)


def same_kind_probability(u: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The calibrated chance that a result at relative distance `u` is the same kind.

    Shape:
        u: any; returns the same shape, values in (0, 1].
    """
    uu = np.maximum(np.asarray(u, dtype=np.float64), 1e-12)
    logit = PROBABILITY_INTERCEPT + PROBABILITY_SLOPE * np.log(uu)
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * logit)))  # a stable logistic


def max_relative_distance(band: SimilarityBand) -> float:
    """The largest relative distance that `band` (or a closer band) holds."""
    if band is SimilarityBand.COPY:
        return COPY_MAX_U
    if band is SimilarityBand.NEAR_COPY:
        return NEAR_COPY_MAX_U
    p = (
        VERY_SIMILAR_PROBABILITY
        if band is SimilarityBand.VERY_SIMILAR
        else RELATED_PROBABILITY
    )
    return math.exp(
        (math.log(p / (1.0 - p)) - PROBABILITY_INTERCEPT) / PROBABILITY_SLOPE
    )


def band_of(u: float) -> SimilarityBand | None:
    """The closest band whose range holds relative distance `u`; None below "Related"."""
    for band in SimilarityBand:
        if u <= max_relative_distance(band):
            return band
    return None
