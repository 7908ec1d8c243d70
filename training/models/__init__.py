"""Networks: backbones, projection head, product quantizer and the assembled SSCQ model."""

from __future__ import annotations
