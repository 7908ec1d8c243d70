"""AffineColorJitter: the same colour maps as the step-by-step formulas it replaces."""

from __future__ import annotations

import torch
from kornia.enhance import (
    adjust_contrast_with_mean_subtraction as adjust_contrast,
)
from kornia.enhance import adjust_saturation_with_gray_subtraction as adjust_saturation

from training.augment.tensor_augment import LUMA, AffineColorJitter


def _photos(n: int = 6) -> torch.Tensor:
    """Mid-range colours, so no step of the reference clamps (B, 3, 8, 8)."""
    g = torch.Generator().manual_seed(0)
    return 0.35 + 0.3 * torch.rand(n, 3, 8, 8, generator=g)


def _apply(jitter: AffineColorJitter, x: torch.Tensor, factors, order) -> torch.Tensor:
    a, o = jitter.colour_maps(x.mean(dim=(2, 3))[:, :, None], factors, order)
    return torch.einsum("bij,bjhw->bihw", a, x) + o[..., None]


def _neutral(n: int) -> tuple[torch.Tensor, ...]:
    one = torch.ones(n, 1, 1)
    return one, one.clone(), one.clone(), torch.zeros(n)


def test_each_step_matches_the_torchvision_formula():
    x = _photos()
    jit = AffineColorJitter(0.4)
    f = torch.tensor([0.7, 0.9, 1.0, 1.1, 1.3, 0.6])
    b, c, s, h = _neutral(6)
    torch.testing.assert_close(
        _apply(jit, x, (f[:, None, None], c, s, h), [0, 1, 2, 3]),
        x * f[:, None, None, None],
    )
    torch.testing.assert_close(
        _apply(jit, x, (b, f[:, None, None], s, h), [0, 1, 2, 3]),
        adjust_contrast(x, f),
        atol=1e-5, rtol=1e-5,
    )  # fmt: skip
    torch.testing.assert_close(
        _apply(jit, x, (b, c, f[:, None, None], h), [0, 1, 2, 3]),
        adjust_saturation(x, f),
        atol=2e-3, rtol=0,
    )  # fmt: skip


def test_composition_follows_the_order_contrast_uses_the_current_mean():
    x = _photos()
    jit = AffineColorJitter(0.4)
    b = torch.full((6, 1, 1), 1.2)
    c = torch.full((6, 1, 1), 0.5)
    _, _, s, h = _neutral(6)
    bright_then_contrast = _apply(jit, x, (b, c, s, h), [0, 1, 2, 3])
    expected = adjust_contrast(x * 1.2, torch.full((6,), 0.5))
    torch.testing.assert_close(bright_then_contrast, expected, atol=1e-5, rtol=1e-5)
    contrast_then_bright = _apply(jit, x, (b, c, s, h), [1, 0, 2, 3])
    expected = adjust_contrast(x, torch.full((6,), 0.5)) * 1.2
    torch.testing.assert_close(contrast_then_bright, expected, atol=1e-5, rtol=1e-5)


def test_hue_rotation_keeps_grey_and_luma_and_changes_colour():
    jit = AffineColorJitter(0.4)
    b, c, s, _ = _neutral(2)
    hue = torch.tensor([0.1, -0.1])
    grey = torch.full((2, 3, 4, 4), 0.4)
    torch.testing.assert_close(_apply(jit, grey, (b, c, s, hue), [3, 0, 1, 2]), grey)
    red = torch.zeros(2, 3, 4, 4)
    red[:, 0] = 0.8
    red[:, 1:] = 0.2
    turned = _apply(jit, red, (b, c, s, hue), [3, 0, 1, 2])
    luma = torch.tensor(LUMA)[None, :, None, None]
    torch.testing.assert_close((turned * luma).sum(1), (red * luma).sum(1))
    assert (turned - red).abs().max() > 0.05  # the colour moved
    assert not torch.allclose(turned[0], turned[1])  # both directions


def test_forward_draws_per_photo_stays_in_range_and_skips_with_p():
    torch.manual_seed(0)
    x = torch.rand(64, 3, 8, 8)
    out = AffineColorJitter(0.4, p=0.8)(x)
    assert out.shape == x.shape and float(out.min()) >= 0 and float(out.max()) <= 1
    unchanged = (out - x).abs().flatten(1).max(1).values < 1e-6
    assert 3 <= int(unchanged.sum()) <= 25  # about 20% skipped
    assert torch.equal(AffineColorJitter(0.4, p=0.0)(x), x)
    assert not torch.allclose(AffineColorJitter(0.4, p=1.0)(x), x)
