"""The learning-rate schedule: per-step linear warm-up, then cosine to a floor.

Pure functions of the step (nanoGPT's `get_lr`), so a resumed run recomputes exactly the
rate it would have used. Sizing the schedule from a time budget also lives here.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


def get_lr(
    step: int,
    *,
    base_lr: float,
    total_steps: int,
    warmup_steps: int,
    warmup_start_lr: float = 1e-5,
    min_lr_ratio: float = 0.1,
) -> float:
    """Learning rate at optimizer step `step` (0-based).

    Linear from `warmup_start_lr` to `base_lr` over `warmup_steps`, then a half cosine from
    `base_lr` to ``min_lr_ratio * base_lr`` at ``total_steps``; constant past the end.

    Args:
        step: The optimizer step about to be taken.
        base_lr: Peak learning rate.
        total_steps: Length of the whole schedule.
        warmup_steps: Length of the linear warm-up (0 for none).
        warmup_start_lr: Rate at step 0.
        min_lr_ratio: Final rate as a fraction of `base_lr`.

    Returns:
        The learning rate.

    Raises:
        ValueError: if `total_steps` < 1 or `warmup_steps` is negative.
    """
    if total_steps < 1:
        raise ValueError(f"total_steps must be >= 1, got {total_steps}")
    if warmup_steps < 0:
        raise ValueError(f"warmup_steps must be >= 0, got {warmup_steps}")
    if step < warmup_steps:
        return warmup_start_lr + (base_lr - warmup_start_lr) * step / warmup_steps
    decay_steps = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / decay_steps)
    min_lr = min_lr_ratio * base_lr
    return min_lr + 0.5 * (base_lr - min_lr) * (1.0 + math.cos(math.pi * progress))


def warmup_steps_for(
    *, warmup_epochs: float, steps_per_epoch: int, total_steps: int, max_fraction: float
) -> int:
    """Warm-up length in steps: the recipe's epochs, capped at a fraction of the run."""
    wanted = round(warmup_epochs * steps_per_epoch)
    return max(0, min(wanted, int(max_fraction * total_steps)))


def budget_clock(name: str) -> Callable[[], float]:
    """The clock a time budget counts: ``wall`` (perf_counter) or ``cpu`` (process time).

    Raises:
        ValueError: for another name.
    """
    if name == "wall":
        return time.perf_counter
    if name == "cpu":
        return time.process_time
    raise ValueError(f"run.budget_clock must be 'wall' or 'cpu', got {name!r}")


def steps_for_budget(
    *, budget_s: float, elapsed_s: float, steps_done: int, seconds_per_step: float
) -> int:
    """Total steps that fit a time budget, given the measured pace of the first steps.

    Keeps 3% of the remaining time as a margin for checkpoints and the final evaluation.

    Returns:
        Total schedule length, at least ``steps_done + 1``.
    """
    if seconds_per_step <= 0:
        raise ValueError(f"seconds_per_step must be positive, got {seconds_per_step}")
    remaining = max(0.0, budget_s - elapsed_s) * 0.97
    return steps_done + max(1, int(remaining / seconds_per_step))


class BudgetPacer:
    """When to (re-)size a time-budgeted schedule, and at what measured pace.

    The first sizing times ``probe_steps`` steps after one untimed warm-up step (compile,
    allocator); later ones use the pace of the last ``refit_every_steps`` steps, because
    other programs on a laptop speed training up or slow it down.
    """

    def __init__(
        self,
        *,
        budget_s: float,
        elapsed_s: float,
        step: int,
        probe_steps: int,
        refit_every_steps: int,
        sized: bool,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        """Start pacing at `step`, `elapsed_s` into the run (`sized`: already sized once)."""
        self.budget_s, self.probe_steps, self.refit_every = (
            budget_s, probe_steps, refit_every_steps
        )  # fmt: skip
        self.sized, self.clock = sized, clock
        now = clock()
        self.t_start = now - elapsed_s
        self.probe_from, self.t_probe = step + 1, now
        self.t_mark, self.step_mark = now, step  # start of the current pace window

    def elapsed_s(self) -> float:
        """Seconds of the run so far, resumed sessions included."""
        return self.clock() - self.t_start

    def pace_after(self, step: int, total_steps: int) -> float | None:
        """Seconds per step to size the schedule with now, or None (call after each step)."""
        if self.budget_s <= 0:
            return None
        now = self.clock()
        if not self.sized:
            if step == self.probe_from:
                self.t_probe = now  # the first step (warm-up, compile) is not timed
            elif step == self.probe_from + self.probe_steps:
                self.sized, self.t_mark, self.step_mark = True, now, step
                return (now - self.t_probe) / self.probe_steps
            return None
        if (
            self.refit_every > 0
            and step - self.step_mark >= self.refit_every
            and step < total_steps
        ):
            pace = (now - self.t_mark) / (step - self.step_mark)
            self.t_mark, self.step_mark = now, step
            return pace
        return None
