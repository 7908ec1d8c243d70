"""SSCQ's losses, one per module, and SPQ's loss as a baseline (METHOD.md, "Losses")."""

from __future__ import annotations
