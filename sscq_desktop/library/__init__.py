"""The photo library: catalog (SQLite), image loading, scanner, watcher, ingest, search.

Plain Python, no Qt and no torch (ARCHITECTURE.md). The entry point is
`sscq_desktop.library.library.Library`; long jobs are generators yielding
`sscq_desktop.library.progress.Progress` (drive them with `run_job` or a for loop).
Modules:

- ``records``: typed ids (`PhotoId`, `FolderId`) and frozen records.
- ``image_loader``: robust decoding (EXIF, draft, pixel cap, modes, errors).
- ``content_key``: cheap content identity for move detection.
- ``schema`` / ``catalog``: SQLite schema with migrations; one writer, many readers
  (``catalog_connection`` -> ``encoding_reader`` -> ``catalog_reader`` -> ``catalog``).
- ``scanner`` / ``watcher``: disk reconciliation and debounced change events.
- ``decode_pool``: worker processes for every decode of an image file; a decode that
  hangs or crashes kills its worker only, and fails that file.
- ``ingest`` / ``ingest_decoder`` / ``thumbnails``: parallel decode in the pool,
  batched encode, thumbnails.
- ``renderer``: what the GUI shows (cached thumbnails, remade when lost; previews,
  outside images and query files decoded in its own pool): the GUI never decodes an
  image file.
- ``search_service`` / ``duplicates``: in-memory code index, similar and near-duplicates.
- ``model_registry``: validated model files, copied into ``models/`` and registered.
- ``library``: the `Library` facade over ``indexer`` (scan, ingest, watch),
  ``searcher`` (searches), ``model_manager`` (active/pending models, switches) and
  ``retrainer`` (retrain on the library's photos); ``thread_readers`` gives each thread
  its catalog connection.
- ``retrain_request`` / ``retrain``: what a retrain asks for and the trainer's argument
  list; the trainer child process and its JSON-lines progress.
"""
