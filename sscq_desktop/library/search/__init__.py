"""Searches over the active model's codes: similar photos and near-duplicates.

- ``code_index``: `CodeIndex`, an immutable in-memory snapshot of one model's codes,
  and the searches run on it.
- ``searcher``: `Searcher`, the library's searches (a photo, a file, pixels).
- ``duplicates``: groups of near-duplicates, checked on the continuous embeddings.

Reads only; no Qt.
"""

from __future__ import annotations
