"""Learning-rate schedule and time-budget sizing."""

from __future__ import annotations

import pytest

from training.schedule import (
    BudgetPacer,
    get_lr,
    steps_for_budget,
    warmup_steps_for,
)

KW = {
    "base_lr": 5e-4,
    "total_steps": 100,
    "warmup_steps": 10,
    "warmup_start_lr": 1e-5,
    "min_lr_ratio": 0.1,
}


def test_warmup_is_linear_from_start_lr():
    assert get_lr(0, **KW) == pytest.approx(1e-5)
    assert get_lr(5, **KW) == pytest.approx(1e-5 + (5e-4 - 1e-5) / 2)
    assert get_lr(10, **KW) == pytest.approx(5e-4)


def test_cosine_ends_at_a_tenth_and_stays():
    assert get_lr(55, **KW) == pytest.approx(0.5 * (5e-4 + 5e-5))
    assert get_lr(100, **KW) == pytest.approx(5e-5)
    assert get_lr(150, **KW) == pytest.approx(5e-5)


def test_schedule_is_monotone_after_warmup():
    lrs = [get_lr(s, **KW) for s in range(10, 101)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:], strict=False))


def test_warmup_is_capped_for_short_runs():
    assert (
        warmup_steps_for(
            warmup_epochs=10, steps_per_epoch=100, total_steps=200, max_fraction=0.05
        )
        == 10
    )
    assert (
        warmup_steps_for(
            warmup_epochs=1, steps_per_epoch=5, total_steps=10_000, max_fraction=0.05
        )
        == 5
    )


def test_budget_sizing_keeps_a_margin():
    total = steps_for_budget(
        budget_s=100.0, elapsed_s=10.0, steps_done=6, seconds_per_step=1.0
    )
    assert total == 6 + int(90 * 0.97)
    assert (
        steps_for_budget(
            budget_s=1.0, elapsed_s=5.0, steps_done=3, seconds_per_step=1.0
        )
        == 4
    )


def test_get_lr_validates():
    with pytest.raises(ValueError):
        get_lr(0, base_lr=1.0, total_steps=0, warmup_steps=0)


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_budget_pacer_probes_after_an_untimed_first_step_then_refits():
    clock = _Clock()
    pacer = BudgetPacer(
        budget_s=600.0, elapsed_s=0.0, step=0, probe_steps=5,
        refit_every_steps=10, sized=False, clock=clock,
    )  # fmt: skip
    clock.now += 30.0  # step 1 is slow (compile): not part of the probe
    assert pacer.pace_after(1, total_steps=100) is None
    for step in range(2, 6):
        clock.now += 2.0
        assert pacer.pace_after(step, total_steps=100) is None
    clock.now += 2.0
    assert pacer.pace_after(6, total_steps=100) == pytest.approx(2.0)
    assert pacer.sized and pacer.elapsed_s() == pytest.approx(40.0)
    for step in range(7, 16):  # the machine slows down: 3 s a step
        clock.now += 3.0
        assert pacer.pace_after(step, total_steps=100) is None
    clock.now += 3.0
    assert pacer.pace_after(16, total_steps=100) == pytest.approx(3.0)
    clock.now += 3.0 * 10
    assert pacer.pace_after(26, total_steps=26) is None  # the schedule has ended


def test_budget_pacer_is_silent_without_a_budget_and_keeps_resumed_time():
    clock = _Clock()
    pacer = BudgetPacer(
        budget_s=0.0, elapsed_s=50.0, step=40, probe_steps=5,
        refit_every_steps=10, sized=False, clock=clock,
    )  # fmt: skip
    for step in range(41, 100):
        clock.now += 1.0
        assert pacer.pace_after(step, total_steps=200) is None
    assert pacer.elapsed_s() == pytest.approx(50.0 + 59.0)


def test_budget_clock_counts_wall_or_process_cpu_time():
    import time

    from training.schedule import budget_clock

    assert budget_clock("wall") is time.perf_counter
    cpu = budget_clock("cpu")
    t0 = cpu()
    time.sleep(0.2)  # sleeping costs no CPU time
    assert cpu() - t0 < 0.1
    with pytest.raises(ValueError, match="budget_clock"):
        budget_clock("gpu")
