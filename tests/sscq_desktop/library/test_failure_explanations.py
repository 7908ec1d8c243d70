"""Failed photos explained in plain words, from the reasons the real loader records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sscq_desktop.library.images.decode_pool import CRASH_ERROR, failure_reason
from sscq_desktop.library.images.failure_explanations import explain_failure
from sscq_desktop.library.images.image_loader import ImageLoadError, load_image


def reason_for(path: Path, **kwargs: int) -> str:
    with pytest.raises(ImageLoadError) as caught:
        load_image(path, **kwargs)
    return str(caught.value)


def test_the_loaders_own_reasons_read_as_plain_sentences(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    notes = tmp_path / "notes.jpg"
    notes.write_bytes(b"these are not pixels\n" * 20)
    cut = tmp_path / "cut.jpg"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (300, 300, 3), dtype=np.uint8)).save(cut)
    cut.write_bytes(cut.read_bytes()[:3000])
    huge = tmp_path / "huge.png"
    Image.new("RGB", (400, 300)).save(huge)
    expected = {
        reason_for(empty): "The file is empty (0 bytes)",
        reason_for(notes): "This file is not a photo",
        reason_for(cut): "The file is damaged or incomplete",
        reason_for(tmp_path / "gone.jpg"): "The file is gone",
        reason_for(huge, max_pixels=10_000): "The picture is too large",
    }
    for reason, start in expected.items():
        text = explain_failure(reason)
        assert text.startswith(start), (reason, text)
        assert reason not in text  # plain words; callers show the reason as details


def test_decoder_crashes_and_hangs_say_the_rest_was_indexed() -> None:
    hang = failure_reason(TimeoutError(), 30.0)
    assert explain_failure(hang).startswith("Opening this file took too long")
    crash = f"{CRASH_ERROR} (exit code -11)"
    assert explain_failure(crash).startswith("Opening this file crashed")
    assert "rest of the library could be indexed" in explain_failure(crash)


def test_an_unknown_reason_is_quoted_whole_not_dropped() -> None:
    reason = "the model failed: input of shape (1, 3, 64, 64) expected"
    assert explain_failure(reason) == f"The photo could not be read ({reason})."
    assert (
        explain_failure("  ") == "The photo could not be read (no reason was recorded)."
    )
