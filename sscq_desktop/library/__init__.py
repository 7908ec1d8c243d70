"""The photo library: catalog, folders, image decoding, ingest, search, models, retrain.

Plain Python, no Qt and no torch (ARCHITECTURE.md). The entry point is
`sscq_desktop.library.library.Library`; long jobs are generators yielding
`sscq_desktop.library.progress.Progress` (drive them with `run_job` or a for loop).
Subpackages by role, each a layer that imports only the ones below it (import-linter):

- ``retrain``: retrain on the library's photos (the trainer child process) and judge
  the new model without labels. ``ingest``: disk changes become codes in the catalog
  (`Indexer`, on the one writer lane). ``search``: similar photos and near-duplicates
  over an in-memory snapshot of the codes.
- ``models``: the library's model files, the active and pending models, switches.
  ``folders``: the root folders on disk (scan, watch, online or not).
- ``catalog``: the SQLite catalog (one writer, `Catalog`; every read in
  `CatalogReader`). ``images``: every read of an untrusted image file (decoding in
  worker processes, thumbnails, the GUI's renders).

At the top, ``library`` holds the `Library` facade; ``records`` (typed ids, frozen
records for callers), ``progress`` (job progress, pause and cancel) and ``path_text``
(paths as the catalog stores and people read them) are used by every layer.
"""
