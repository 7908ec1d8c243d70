"""Is a retrained model better than the active one? The label-free check before a switch.

`Library.retrain` keeps a sample of the library's photos out of training and, once the
new model exists, runs `estimate_quality` for the active and the new model on that same
sample with the same edits. The signal is ``copy_mrr_strong``: how high a strongly
edited copy of a photo (crop to 30-60%, flip, colour shifts) ranks its original among
the sample. Over 17 models of clearly different quality and three labeled photo sets it
ranked models like labeled mAP@100 (Spearman 0.92 / 0.81 / 0.87, README "Is a model
better, without labels?").

The rule, from that same validation (``docs/results/quality_estimate_validation.json``):
the new model is taken only if its score beats the active model's by at least `MARGIN`
and by at least two standard errors of the per-photo paired difference on this sample.
Of the 335 validation pairs whose scores differed by 0.03 or more, the higher-scoring
model had the higher labeled mAP@100 (by more than 0.005) in 278, the lower in 8, and
never by more than 0.02; smaller gaps are within what a different photo sample changes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

from sscq_desktop.library.retrain.quality_estimate import (
    QualityEstimate,
    estimate_quality,
)
from sscq_desktop.model.encoder import Embedder

MARGIN = 0.03
"""Smallest gain in ``copy_mrr_strong`` that switches to the new model."""
CHECK_PHOTOS = 300
"""Photos held out of a retrain to check it: the most (a few seconds per model)."""
MIN_CHECK_PHOTOS = 50
"""Fewer held-out photos than this say too little: the active model stays."""
MIN_CHECKED_LIBRARY = 2 * MIN_CHECK_PHOTOS
"""Fewest photos a library needs for a retrain to hold some out and check the model."""
SEED = 0
"""Seed of the edits: both models see the very same edited copies."""


@dataclass(frozen=True)
class ModelCheck:
    """The two models' scores on the held-out sample and what was decided.

    Scores are mean reciprocal ranks (1 = every edited copy finds its original first);
    ``found_first`` is the fraction of edited copies whose original came first.
    """

    n_photos: int
    new_score: float
    new_found_first: float
    active_score: float | None
    active_found_first: float | None
    stderr: float | None
    better: bool
    reason: str

    @property
    def difference(self) -> float | None:
        """New minus active score (None without an active model)."""
        if self.active_score is None:
            return None
        return self.new_score - self.active_score

    def summary(self) -> str:
        """Both figures in plain words, for the CLI and the GUI."""
        if not self.n_photos:
            return f"The new model was not checked: {self.reason}."
        new = f"{self.new_found_first:.0%}"
        if self.active_found_first is None:
            return (
                f"The new model finds a heavily edited copy of a photo first "
                f"{new} of the time (on {self.n_photos} photos it did not train on)."
            )
        return (
            f"The new model finds a heavily edited copy of a photo first {new} of the "
            f"time, the current one {self.active_found_first:.0%} (on {self.n_photos} "
            f"photos the new model did not train on; score {self.new_score:.3f} vs "
            f"{self.active_score:.3f})."
        )


def check_photo_count(n_library: int) -> int:
    """How many of `n_library` photos a retrain holds out for the check (0: none).

    A tenth of the library, at least `MIN_CHECK_PHOTOS` and at most `CHECK_PHOTOS`;
    none when that would leave fewer photos to train on than it holds out (a library
    under `MIN_CHECKED_LIBRARY` photos).
    """
    n = min(CHECK_PHOTOS, max(MIN_CHECK_PHOTOS, n_library // 10))
    return n if n_library - n >= n else 0


def compare_models(
    active: Embedder | None, new: Embedder, photos: Sequence[Image.Image]
) -> ModelCheck:
    """Score both models on `photos` (held out of training) and decide.

    Args:
        active: The model in use (None: there is none, the new one is taken).
        new: The retrained model.
        photos: Upright decoded photos held out of the new model's training.
    """
    if len(photos) < MIN_CHECK_PHOTOS:
        reason = (
            f"only {len(photos)} photos could be held out to check it "
            f"(at least {MIN_CHECK_PHOTOS} are needed)"
        )
        if active is None:
            return replace(no_check(reason), better=True)
        return no_check(reason)
    new_est = estimate_quality(new, photos, seed=SEED)
    if active is None:
        return ModelCheck(
            n_photos=new_est.n_photos, new_score=new_est.copy_mrr_strong,
            new_found_first=_found_first(new_est), active_score=None,
            active_found_first=None, stderr=None, better=True,
            reason="there was no model in use",
        )  # fmt: skip
    old_est = estimate_quality(active, photos, seed=SEED)
    better, stderr, reason = decide(
        new_est.strong_copy_ranks, old_est.strong_copy_ranks
    )
    return ModelCheck(
        n_photos=new_est.n_photos, new_score=new_est.copy_mrr_strong,
        new_found_first=_found_first(new_est), active_score=old_est.copy_mrr_strong,
        active_found_first=_found_first(old_est), stderr=stderr, better=better,
        reason=reason,
    )  # fmt: skip


def decide(
    new_ranks: Sequence[int], active_ranks: Sequence[int]
) -> tuple[bool, float, str]:
    """Whether the new model's ranks beat the active one's, paired photo by photo.

    Args:
        new_ranks: Per photo, where its edited copy found the original under the new
            model (0 = first).
        active_ranks: The same under the active model (same photos, same edits).

    Returns:
        Better or not, the standard error of the mean paired difference of reciprocal
        ranks, and the reason in words.
    """
    diff = 1.0 / (np.asarray(new_ranks, np.float64) + 1.0) - 1.0 / (
        np.asarray(active_ranks, np.float64) + 1.0
    )  # (n,)
    stderr = float(diff.std(ddof=1) / math.sqrt(len(diff))) if len(diff) > 1 else 0.0
    gain = float(diff.mean())
    needed = max(MARGIN, 2.0 * stderr)
    better = gain >= needed
    if better:
        reason = f"its score is higher by {gain:.3f} (at least {needed:.3f} needed)"
    elif gain > 0:
        reason = (
            f"its score is higher by only {gain:.3f}; at least {needed:.3f} is needed "
            "to be sure it is better"
        )
    else:
        reason = f"its score is not higher: {gain:+.3f}"
    return better, stderr, reason


def no_check(reason: str) -> ModelCheck:
    """The outcome when the models could not be compared: keep the active one."""
    return ModelCheck(
        n_photos=0, new_score=math.nan, new_found_first=math.nan, active_score=None,
        active_found_first=None, stderr=None, better=False, reason=reason,
    )  # fmt: skip


def _found_first(estimate: QualityEstimate) -> float:
    return float(np.mean(np.asarray(estimate.strong_copy_ranks) == 0))
