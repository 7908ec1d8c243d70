"""Resize policies shared by the app and the trainer."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from sscq_desktop.model.preprocessing import (
    check_resize_policy,
    draft_request,
    to_model_input,
)


def test_center_crop_keeps_the_centre_square() -> None:
    # A 300 x 100 image whose middle third is red, sides blue.
    arr = np.zeros((100, 300, 3), np.uint8)
    arr[:, :, 2] = 255
    arr[:, 100:200] = (255, 0, 0)
    out = to_model_input(Image.fromarray(arr), size=20, policy="center_crop")
    assert out.shape == (20, 20, 3) and out.dtype == np.uint8
    assert out[:, 2:-2, 0].min() > 200 and out[:, 2:-2, 2].max() < 60


def test_squash_keeps_the_whole_frame() -> None:
    arr = np.zeros((100, 300, 3), np.uint8)
    arr[:, :100] = (0, 0, 255)
    out = to_model_input(Image.fromarray(arr), size=30, policy="squash")
    assert out.shape == (30, 30, 3)
    assert out[:, :8, 2].min() > 200 and out[:, -8:, 2].max() < 30


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK", "I;16"])
def test_any_mode_becomes_rgb(mode: str) -> None:
    img = Image.new(mode, (40, 50))
    out = to_model_input(img, size=16, policy="center_crop")
    assert out.shape == (16, 16, 3)


def test_small_images_are_upscaled() -> None:
    out = to_model_input(
        Image.new("RGB", (5, 9), (10, 20, 30)), size=32, policy="center_crop"
    )
    assert out.shape == (32, 32, 3)
    np.testing.assert_array_equal(out[16, 16], [10, 20, 30])


def test_draft_request_never_goes_below_the_input_size() -> None:
    assert draft_request(4000, 3000, size=128, policy="center_crop") == (171, 128)
    assert draft_request(3000, 4000, size=128, policy="center_crop") == (128, 171)
    assert draft_request(4000, 3000, size=128, policy="squash") == (128, 128)
    assert draft_request(100, 80, size=128, policy="center_crop") == (100, 80)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown resize policy 'stretch'"):
        check_resize_policy("stretch")
    with pytest.raises(ValueError, match="size must be positive"):
        to_model_input(Image.new("RGB", (4, 4)), size=0, policy="squash")
    with pytest.raises(ValueError, match="positive"):
        draft_request(0, 10, size=8, policy="squash")
