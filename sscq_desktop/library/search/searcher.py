"""`Searcher`: the library's searches over the active model's code snapshot.

Similar photos to a library photo, an image file or decoded pixels (a pasted image).
Near-duplicates are a separate question (`duplicates`).
Each search takes one `CodeIndex` snapshot and uses nothing else, so a model switch
never mixes models in one answer. Writers call `Searcher.bump` after a change; the
snapshot is rebuilt lazily (at most every `INDEX_REFRESH_S` while ingest writes).
Thread-safe: may run on any thread but the GUI's (it loads codes, runs the encoder).
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from sscq_desktop.library.catalog.thread_readers import ThreadReaders
from sscq_desktop.library.folders.root_status import RootProbeCache
from sscq_desktop.library.images.renderer import Renderer
from sscq_desktop.library.models.model_manager import ModelManager, NoModelError
from sscq_desktop.library.records import (
    FolderRecord,
    PhotoId,
    PhotoRecord,
    SearchHit,
    SimilarityBand,
)
from sscq_desktop.library.search.code_index import CodeIndex, vector_distance
from sscq_desktop.library.search.similarity_scale import (
    band_of,
    max_relative_distance,
    relative_distance,
    same_kind_probability,
)
from sscq_desktop.model.preprocessing import to_model_input

INDEX_REFRESH_S = 2.0
"""A stale index is rebuilt at most this often while ingest writes."""

RERANK_CANDIDATES = 200
"""Nearest codes re-ranked on their stored embeddings, whatever the number of results
asked for: the first results of a search do not depend on how many were asked for."""


class Searcher:
    """Searches of one library.

    Args:
        readers: Per-thread catalog readers.
        models: The library's models (artifacts and encoders of the active one).
        renderer: Decodes query files (in its worker processes, with the pixel cap).
    """

    def __init__(
        self, readers: ThreadReaders, models: ModelManager, *, renderer: Renderer
    ) -> None:
        self._readers = readers
        self._models = models
        self._renderer = renderer
        self._lock = threading.RLock()
        self._index: CodeIndex | None = None
        self._index_built_at = 0.0
        self._generation = 0
        self._roots = RootProbeCache()

    def bump(self, *, force: bool = False) -> None:
        """Note a write: the snapshot is stale (and dropped at once when `force`)."""
        with self._lock:
            self._generation += 1
            if force:
                self._index = None

    def code_index(self) -> CodeIndex:
        """The current snapshot of the active model's codes (rebuilt when stale).

        Raises:
            NoModelError: if no model is available.
        """
        with self._lock:
            index = self._index
            model_id = self._readers.get().active_model_id()
            if model_id is None:
                raise NoModelError("no model is available")
            fresh = (
                index is not None
                and index.model_id == model_id
                and (
                    index.generation == self._generation
                    or time.monotonic() - self._index_built_at < INDEX_REFRESH_S
                )
            )
            if index is not None and fresh:
                return index
            meta = self._models.artifact(model_id).metadata
            index = CodeIndex.load(
                self._readers.get(), meta, generation=self._generation
            )
            self._index, self._index_built_at = index, time.monotonic()
            return index

    def similar_to_photo(
        self,
        photo_id: PhotoId,
        *,
        k: int = 20,
        max_distance: float | None = None,
        min_score: float | None = None,
        min_band: SimilarityBand | None = None,
        folders: Sequence[Path] | None = None,
    ) -> list[SearchHit]:
        """Photos most similar to a library photo (itself excluded).

        Args:
            photo_id: The query photo; its stored embedding is the query.
            k: Most results.
            max_distance: Drop results farther than this (`SearchHit.distance`).
            min_score: Drop results whose `SearchHit.score` is below this.
            min_band: Only keep results in this band or a closer one.
            folders: Only return photos at or below these folders.

        Returns:
            Hits, nearest first, all from the active model.

        Raises:
            NoModelError: if no model is available.
            KeyError: if the photo has no codes under the active model (yet).
        """
        index = self.code_index()
        query = self._readers.get().embedding(photo_id, index.model_id)
        if query is None:
            raise KeyError(
                f"photo {photo_id} is not encoded with model {index.model_id} (yet)"
            )
        return self._search(
            index, query, k=k, max_distance=max_distance, min_score=min_score,
            min_band=min_band, folders=folders, exclude=[photo_id],
        )  # fmt: skip

    def similar_to_file(
        self,
        path: str | os.PathLike[str],
        *,
        k: int = 20,
        max_distance: float | None = None,
        min_score: float | None = None,
        min_band: SimilarityBand | None = None,
        folders: Sequence[Path] | None = None,
    ) -> list[SearchHit]:
        """Photos most similar to any image file (encoded on the fly).

        A file that is itself in the library is excluded from its results, and its
        stored embedding is the query while the file is unchanged since it was
        indexed: the same query, distances and scores as `similar_to_photo`.

        Raises:
            NoModelError: if no model is available.
            ImageLoadError: if the file cannot be decoded.
        """
        index = self.code_index()
        file = Path(path).expanduser().absolute()
        reader = self._readers.get()
        itself = reader.photo_by_path(file)
        exclude = [itself.id] if itself is not None else []
        query = None
        if itself is not None and _unchanged(itself, file):
            query = reader.embedding(itself.id, index.model_id)
        if query is None:
            meta = self._models.artifact(index.model_id).metadata
            pixels = self._renderer.model_input(
                file, size=meta.input.size, policy=meta.input.resize
            )
            query = self._encode_query(index.model_id, pixels)
        return self._search(
            index, query, k=k, max_distance=max_distance, min_score=min_score,
            min_band=min_band, folders=folders, exclude=exclude,
        )  # fmt: skip

    def similar_to_image(
        self,
        pixels: npt.NDArray[np.uint8],
        *,
        k: int = 20,
        max_distance: float | None = None,
        min_score: float | None = None,
        min_band: SimilarityBand | None = None,
        folders: Sequence[Path] | None = None,
    ) -> list[SearchHit]:
        """Photos most similar to an image already decoded (a pasted bitmap).

        The pixels are only resized to the model's input here (the resize policy of
        the model), in this thread: they were decoded by whoever holds them.

        Args:
            pixels: Upright 8-bit RGB.
            k: Most results.
            max_distance: Drop results farther than this.
            min_score: Drop results whose `SearchHit.score` is below this.
            min_band: Only keep results in this band or a closer one.
            folders: Only return photos at or below these folders.

        Shape:
            pixels: ``(H, W, 3)`` uint8.

        Raises:
            NoModelError: if no model is available.
            TypeError: if `pixels` is not a uint8 array.
            ValueError: if `pixels` is not ``(H, W, 3)`` with H, W > 0.
        """
        if not isinstance(pixels, np.ndarray) or pixels.dtype != np.uint8:
            raise TypeError(
                f"pixels must be a uint8 array, got {getattr(pixels, 'dtype', pixels)!r}"
            )
        if pixels.ndim != 3 or pixels.shape[2] != 3 or 0 in pixels.shape:
            raise ValueError(f"pixels must be (H, W, 3) RGB, got {pixels.shape}")
        index = self.code_index()
        meta = self._models.artifact(index.model_id).metadata
        image = Image.fromarray(np.ascontiguousarray(pixels), "RGB")
        query = self._encode_query(
            index.model_id,
            to_model_input(image, size=meta.input.size, policy=meta.input.resize),
        )
        return self._search(
            index, query, k=k, max_distance=max_distance, min_score=min_score,
            min_band=min_band, folders=folders, exclude=[],
        )  # fmt: skip

    def _offline_roots(
        self, folders: Sequence[FolderRecord], paths: Iterable[Path]
    ) -> list[Path]:
        """The roots holding any of `paths` that are offline, as flagged or as of now.

        Photos of an offline root (unplugged drive) are kept and found, but marked.
        The catalog's flag is set by scans and the watcher only; a root not flagged is
        also probed now (once per distinct root with hits, reused for a second or two),
        so a drive unplugged since the last scan is marked at once.
        """
        roots = {f.path: f.offline for f in folders}
        holding = {r for p in paths for r in roots if p.is_relative_to(r)}
        return [r for r in holding if roots[r] or self._roots.offline(r)]

    def _encode_query(
        self, model_id: str, pixels: npt.NDArray[np.uint8]
    ) -> npt.NDArray[np.float32]:
        embedding: npt.NDArray[np.float32] = (
            self._models.encoder(model_id).encode(pixels[None]).embedding[0]
        )
        return embedding

    def _search(
        self,
        index: CodeIndex,
        query: npt.NDArray[np.float32],
        *,
        k: int,
        max_distance: float | None,
        min_score: float | None,
        folders: Sequence[Path] | None,
        exclude: Sequence[int],
        min_band: SimilarityBand | None = None,
    ) -> list[SearchHit]:
        """The `k` nearest photos, re-ranked and scored on their stored embeddings.

        The ADC scan picks the `RERANK_CANDIDATES` (or `k`, if more) nearest codes;
        each is then measured with its stored embedding (`vector_distance`, the same for every entry point: a photo, a file,
        pixels), scored by `similarity_scale` against the query's own scale, and
        filtered by `max_distance`, `min_score` and `min_band`.
        """
        reader = self._readers.get()
        allowed = None if folders is None else reader.ids_under(folders)
        found = index.search(
            query, max(k, RERANK_CANDIDATES), allowed_ids=allowed, exclude_ids=exclude
        )
        if not found:
            return []
        ids, emb = reader.embeddings_of(index.model_id, [pid for pid, _ in found])
        dist = vector_distance(
            np.broadcast_to(query.reshape(1, -1), emb.shape), emb,
            codebook=index.codebook, distance=index.distance,
        )  # fmt: skip  # (n,)
        u = relative_distance(dist, index.query_scale(query))  # (n,)
        prob = same_kind_probability(u)  # (n,)
        limit_u = math.inf if min_band is None else max_relative_distance(min_band)
        order = np.lexsort((ids, dist))  # nearest first, ties by photo id
        keep = [
            int(i)
            for i in order
            if (max_distance is None or dist[i] <= max_distance)
            and (min_score is None or prob[i] >= min_score)
            and u[i] <= limit_u
        ][:k]
        paths = reader.paths_of(PhotoId(int(ids[i])) for i in keep)
        offline = self._offline_roots(reader.folders(), paths.values())
        hits = []
        for i in keep:
            pid = PhotoId(int(ids[i]))
            if pid not in paths:  # deleted since the snapshot was built
                continue
            hits.append(
                SearchHit(
                    pid,
                    paths[pid],
                    float(dist[i]),
                    index.model_id,
                    float(prob[i]),
                    band=band_of(float(u[i])),
                    offline=any(paths[pid].is_relative_to(f) for f in offline),
                )
            )
        return hits


def _unchanged(photo: PhotoRecord, file: Path) -> bool:
    """Whether `file` still has the size and modification time it was indexed with."""
    try:
        st = file.stat()
    except OSError:
        return False
    return photo.status == "ok" and (st.st_size, st.st_mtime_ns) == (
        photo.size,
        photo.mtime_ns,
    )
