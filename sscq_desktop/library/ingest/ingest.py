"""The ingest pipeline: decode in parallel, encode in batches, store codes and hashes, write thumbnails.

Work comes from the catalog (images lacking codes), so a killed run resumes where it
stopped. `ingest_decoder` decodes in worker processes (`decode_pool`, one pool per run,
started only when there is work): a decode that hangs past the timeout or crashes its
worker costs that file, recorded as failed with the reason, and the run goes on. The
calling thread encodes and stores one batch per transaction. The job is a generator of
`Progress` honouring pause and cancel between batches; no Qt.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Generator, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sscq_desktop.library.catalog.catalog import NO_HASHES, Catalog, IngestRecord
from sscq_desktop.library.catalog.reader import WorkItem
from sscq_desktop.library.images.decode_pool import (
    DECODER_FAILURES,
    DecodePool,
    failure_reason,
)
from sscq_desktop.library.images.image_loader import DEFAULT_MAX_PIXELS
from sscq_desktop.library.images.thumbnails import THUMBNAIL_SIZE
from sscq_desktop.library.ingest.ingest_decoder import DecodedItem, IngestDecoder
from sscq_desktop.library.progress import (
    Progress,
    ProgressMeter,
    is_cancelled,
    wait_while_paused,
)
from sscq_desktop.model.encoder import Embedder, ModelOutputError, check_encoded

__all__ = ["IngestOptions", "IngestPipeline", "IngestSummary"]

logger = logging.getLogger(__name__)

_FETCH = 256  # work items read from the catalog at once


@dataclass(frozen=True)
class IngestOptions:
    """Tuning of the pipeline.

    Attributes:
        workers: Decoder worker processes; default: the number of CPUs.
        batch_size: Images per encoder call and per catalog transaction.
        max_pixels: Pixel-count cap for decoding.
        thumbnail_size: Longest side of thumbnails; None writes none.
        decode_timeout_s: A decode running longer has its worker killed, and its file
            is recorded as failed.
    """

    workers: int = field(default_factory=lambda: os.cpu_count() or 2)
    batch_size: int = 32
    max_pixels: int = DEFAULT_MAX_PIXELS
    thumbnail_size: int | None = THUMBNAIL_SIZE
    decode_timeout_s: float = 120.0


@dataclass(frozen=True)
class IngestSummary:
    """What an ingest run did.

    Attributes:
        done: Images processed (stored or failed).
        errors: Images recorded as failed.
        cancelled: Whether the run stopped on the cancel event.
        encoded: Images encoded, per model id.
    """

    done: int
    errors: int
    cancelled: bool
    encoded: dict[str, int]


class IngestPipeline:
    """Decode, encode and store every image that lacks codes for the given models.

    Args:
        catalog: The catalog writer; used only from the thread that runs `run`.
        encoders: One encoder per target model id (the active model, and the one being
            switched to, if any).
        thumbnails_dir: Where thumbnails go; None writes none.
        options: Tuning.
    """

    def __init__(
        self,
        catalog: Catalog,
        encoders: Mapping[str, Embedder],
        *,
        thumbnails_dir: Path | None,
        options: IngestOptions | None = None,
    ) -> None:
        if not encoders:
            raise ValueError("at least one encoder is needed")
        self._catalog = catalog
        self._encoders = dict(encoders)
        self._options = options or IngestOptions()
        if (
            self._options.workers < 1
            or self._options.batch_size < 1
            or self._options.decode_timeout_s <= 0
        ):
            raise ValueError(
                "workers, batch_size and decode_timeout_s must be positive, "
                f"got {self._options}"
            )
        self._targets = {
            m: (e.metadata.input.size, e.metadata.input.resize)
            for m, e in self._encoders.items()
        }
        self._thumbnails_dir = thumbnails_dir

    def run(
        self,
        *,
        cancel: threading.Event | None = None,
        pause: threading.Event | None = None,
        phase: str = "ingest",
    ) -> Generator[Progress, None, IngestSummary]:
        """Process all pending work; yields progress after every stored batch.

        Args:
            cancel: Stops the run after the current batch when set (results so far stay).
            pause: While set, the run waits between batches (it yields one paused
                snapshot first).
            phase: Name put in the progress snapshots.

        Yields:
            `Progress` with counts, rate and ETA.

        Returns:
            An `IngestSummary`.

        Raises:
            ModelOutputError: if a model's outputs are invalid; nothing of that batch is
                stored, so its photos stay pending (not failed).
            EncoderError: if onnxruntime fails (not a per-file problem).
        """
        model_ids = list(self._encoders)
        meter = ProgressMeter(phase, self._catalog.reader.count_missing(model_ids))
        encoded = dict.fromkeys(model_ids, 0)
        yield meter.snapshot()
        opts = self._options
        window = max(2 * opts.batch_size, 4 * opts.workers)
        decode = IngestDecoder(
            self._targets,
            thumbnails_dir=self._thumbnails_dir,
            thumbnail_size=opts.thumbnail_size,
            max_pixels=opts.max_pixels,
        )
        # Started on the first submit: a run with nothing to do spawns no process.
        pool = DecodePool(opts.workers, timeout_s=opts.decode_timeout_s)
        inflight: deque[_InFlight] = deque()
        pending: deque[WorkItem] = deque()
        after = 0
        exhausted = False
        cancelled = False
        try:
            while True:
                if pause is not None and pause.is_set() and not is_cancelled(cancel):
                    yield meter.snapshot("paused", paused=True)
                    wait_while_paused(pause, cancel)
                if is_cancelled(cancel):
                    cancelled = True
                    break
                while len(inflight) < window:
                    if not pending and not exhausted:
                        chunk = self._catalog.reader.missing_work(
                            model_ids, after=after, limit=_FETCH
                        )
                        exhausted = len(chunk) < _FETCH
                        if chunk:
                            after = chunk[-1].photo_id
                        pending.extend(chunk)
                    if not pending:
                        break
                    item = pending.popleft()
                    inflight.append(_InFlight(item, pool.submit(decode, item)))
                if not inflight:
                    break
                batch: list[DecodedItem] = []
                while inflight and len(batch) < opts.batch_size:
                    batch.append(self._next_result(inflight, pool, decode))
                records = self._encode(batch, encoded)
                self._catalog.record_ingest(records)
                errors = sum(1 for r in records if r.error is not None)
                meter.advance(len(records), errors=errors)
                last_error = next(
                    (f"{d.item.path.name}: {d.error}" for d in batch if d.error), ""
                )
                yield meter.snapshot(last_error)
        finally:
            pool.close()
        return IngestSummary(meter.done, meter.errors, cancelled, encoded)

    def _next_result(
        self, inflight: deque[_InFlight], pool: DecodePool, decode: IngestDecoder
    ) -> DecodedItem:
        """Wait for the oldest decode; a hung or crashed worker fails its file only.

        The pool enforces the timeout (counted from the start of the decode, not from
        its queueing). A pool that broke as a whole (a worker died between tasks) is
        restarted by the next submit, and the file is tried once more.
        """
        while True:
            entry = inflight[0]
            try:
                result = entry.future.result()
            except BrokenProcessPool:
                if entry.retried:
                    inflight.popleft()
                    return _failed(entry.item, "the decoder pool failed")
                logger.warning("the decoder pool broke; retrying %s", entry.item.path)
                entry.future = pool.submit(decode, entry.item)
                entry.retried = True
                continue
            except DECODER_FAILURES as exc:
                reason = failure_reason(exc, pool.timeout_s)
                inflight.popleft()
                logger.warning("%s: %s", entry.item.path, reason)
                return _failed(entry.item, reason)
            inflight.popleft()
            return result

    def _encode(
        self, batch: Sequence[DecodedItem], encoded: dict[str, int]
    ) -> list[IngestRecord]:
        """Encode each model's share of the batch and build the catalog records."""
        per_image: dict[int, dict[str, tuple[bytes, bytes]]] = {
            id(d): {} for d in batch
        }
        for model_id, encoder in self._encoders.items():
            rows = [d for d in batch if d.error is None and model_id in d.inputs]
            if not rows:
                continue
            images = np.stack([d.inputs[model_id] for d in rows])  # (B, S, S, 3)
            result = encoder.encode(images)
            check_encoded(
                result.embedding, result.codes, metadata=encoder.metadata, n=len(rows)
            )
            emb16 = result.embedding.astype("<f2")  # (B, M*L) float16
            if not np.all(np.isfinite(emb16)):
                raise ModelOutputError(
                    model_id,
                    "the embedding exceeds the float16 range the catalog stores",
                )
            for i, d in enumerate(rows):
                per_image[id(d)][model_id] = (
                    result.codes[i].tobytes(),
                    emb16[i].tobytes(),
                )
            encoded[model_id] += len(rows)
        records = []
        for d in batch:
            if d.error is not None and not d.item.model_ids:
                # Only its hashes were wanted (a catalog from before V5): the photo
                # stays indexed and searchable; it is just left out of near duplicates.
                records.append(
                    IngestRecord(
                        d.item.photo_id, d.size, d.mtime_ns, d.key, hashes=NO_HASHES
                    )
                )
                continue
            if d.error is not None:
                records.append(
                    IngestRecord(
                        d.item.photo_id,
                        d.size,
                        d.mtime_ns,
                        d.key,
                        error=d.error or "unknown error",
                    )
                )
                continue
            records.append(
                IngestRecord(
                    d.item.photo_id,
                    d.size,
                    d.mtime_ns,
                    d.key,
                    width=d.width,
                    height=d.height,
                    taken_at=d.taken_at,
                    encodings=per_image[id(d)],
                    hashes=d.hashes,
                )
            )
        return records


@dataclass
class _InFlight:
    """A decode submitted to the pool, and whether it is a retry after a broken pool."""

    item: WorkItem
    future: Future[DecodedItem]
    retried: bool = False


def _failed(item: WorkItem, reason: str) -> DecodedItem:
    """A file whose decode failed its worker, with the size and time seen now.

    Recording them (a stat reads no image bytes) keeps the next scan from taking the
    file for changed: it is tried again once it changes, or on a retry of failed photos.
    """
    out = DecodedItem(item, error=reason)
    try:
        st = item.path.stat()
    except OSError:
        return out
    out.size, out.mtime_ns = st.st_size, st.st_mtime_ns
    return out
