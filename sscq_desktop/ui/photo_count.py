"""`photo_count`: "1 photo", "1,234 photos": the one place the GUI spells a photo count."""

from __future__ import annotations


def photo_count(n: int) -> str:
    """``1`` -> ``"1 photo"``, ``1234`` -> ``"1,234 photos"``, ``0`` -> ``"0 photos"``."""
    return f"{n:,} photo" if n == 1 else f"{n:,} photos"
