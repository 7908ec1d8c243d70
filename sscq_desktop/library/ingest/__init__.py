"""Indexing: photos found on disk become codes in the catalog, on the one writer lane.

- ``ingest`` / ``ingest_decoder``: the pipeline (decode in the pool, encode in
  batches, store codes, write thumbnails) and its per-file step in a worker process.
- ``indexer``: `Indexer`'s jobs (scan, ingest, update, watch).
- ``writer_lane``: `WriterLane`, which hands other threads' writes to a running watch.

No Qt.
"""

from __future__ import annotations
