"""Retrieval evaluation (METHOD.md protocol), scored with `sscq_desktop.core` only."""

from __future__ import annotations
