"""The library's models: their files, and which one answers searches.

- ``model_files``: `ModelFiles`, the shipped default and validated copies of imported
  and trained models, registered in the catalog.
- ``model_manager``: `ModelManager`, the active and pending models, switches and the
  loaded encoders.

The model file format and the encoder are `sscq_desktop.model`'s. No Qt.
"""

from __future__ import annotations
