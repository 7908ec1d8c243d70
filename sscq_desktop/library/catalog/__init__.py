"""The SQLite catalog: schema, the one writer, readers, the file's creation and repair.

- ``schema``: tables, migrations (``PRAGMA user_version``) and connection settings.
- ``connection``: `CatalogConnection`, one connection and its lock; `CatalogError`.
- ``reader``: `CatalogReader`, every read query (folders, photos, models, work to
  encode, codes and embeddings, settings, counts).
- ``catalog``: `Catalog`, the one writer; reads through its ``reader`` (composition).
- ``thread_readers``: a `CatalogReader` of its own for each thread.
- ``reconciliation``: what the scanner hands the writer (`Reconciliation`).
- ``catalog_file`` / ``rebuild``: atomic creation, damage detection, rebuilding.

Knows nothing of images, models' files, threads of its own or Qt.
"""

from __future__ import annotations
