"""SSCQ training: data, augmentations, backbones, quantizer, losses, loop, evaluation, export.

Runs as a separate process (`python -m training ...`); the app never imports this package.
It evaluates with `sscq_desktop.core` and writes models with `sscq_desktop.model.artifact`.
"""

from __future__ import annotations

__all__: list[str] = []
