"""The SSCQ/SPQ augmentation chain, drawn independently per sample, in two implementations."""

from __future__ import annotations
