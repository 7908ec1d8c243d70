"""SSCQ Desktop: find visually similar photos with codes learned from your own photos."""

from __future__ import annotations

__version__ = "0.1.0"
