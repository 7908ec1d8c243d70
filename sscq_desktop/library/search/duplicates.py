"""Near-duplicate groups: copies of one photo (resized, re-encoded, cropped, padded...).

A separate question from "similar", with its own signal: the perceptual hashes stored at
ingest (dHash + pHash, 128 bits; `images.perceptual_hash`) and the cosine of the stored
embeddings of the active model. A pair is a duplicate at a `DuplicateLevel` when its hash
distance (differing bits of both hashes together) is at most `hash_only`, or at most
`hash_with_embedding` with an embedding cosine of at least `min_cosine` (crops and small
rotations move the hashes a little and keep the content), and its colour layouts (read
from the two thumbnails, `perceptual_hash.colour_layout`) differ by at most
`max_colour_distance`: neither the grey hashes nor the colour-blind embedding tell two
flat images of one layout and other colours apart. The levels were tuned on generated
edits of held-out photos (`tests/benchmarks/bench_near_duplicates.py`).

Every pair's hash distance is computed in numpy blocks (a few million pairs at a time, in
uint8: no Python loop over pairs), the cosine only for pairs close enough in hash; groups never chain: a photo joins a group only if it matches every member
(`group_pairs`). Photos not hashed yet (a catalog from before schema version 5, until the
next ingest fills them in) are left out. A generator job; no catalog writes.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from sscq_desktop.library.catalog.reader import CatalogReader
from sscq_desktop.library.images.perceptual_hash import (
    colour_distance,
    colour_layout,
    hamming,
)
from sscq_desktop.library.images.thumbnails import thumbnail_path
from sscq_desktop.library.progress import Progress, ProgressMeter, is_cancelled
from sscq_desktop.library.records import DuplicateGroup, PhotoId, PhotoRecord

_DENSE = 64  # candidates per row above which a block's cosines come from one matmul
_BLOCK_PAIRS = 1 << 22  # pairs compared per numpy block (~32 MB of uint64 at once)


@dataclass(frozen=True)
class DuplicateLevel:
    """How alike two photos must be to count as duplicates.

    Attributes:
        key: Stable name stored in settings and given on the command line.
        label: What the Near duplicates tab shows.
        hash_only: Largest hash distance (of 128 bits) that alone makes a pair.
        hash_with_embedding: Largest hash distance that makes a pair together with
            an embedding cosine of at least `min_cosine`.
        min_cosine: See `hash_with_embedding`.
        max_colour_distance: Largest `colour_distance` of the pair's colour layouts
            (read from their thumbnails): neither the hashes nor the colour-blind
            embedding tell two flat images of one layout and other colours apart.
    """

    key: str
    label: str
    hash_only: int
    hash_with_embedding: int
    min_cosine: float
    max_colour_distance: float

    def matches(
        self,
        hash_distance: npt.NDArray[np.integer],
        cosine: npt.NDArray[np.floating],
    ) -> npt.NDArray[np.bool_]:
        """Which pairs pass this level's rule, element by element."""
        return (hash_distance <= self.hash_only) | (
            (hash_distance <= self.hash_with_embedding) & (cosine >= self.min_cosine)
        )


DUPLICATE_LEVELS: tuple[DuplicateLevel, ...] = (
    DuplicateLevel("exact", "Exact copies", 10, 10, 1.0, 0.03),
    DuplicateLevel("edited", "Edited copies", 20, 40, 0.90, 0.03),
    DuplicateLevel("similar", "Similar shots", 24, 56, 0.85, 0.06),
)
"""The levels, strictest first."""

DEFAULT_LEVEL = "edited"


def duplicate_level(key: str) -> DuplicateLevel:
    """The level named `key`.

    Raises:
        ValueError: if no level has that name.
    """
    for level in DUPLICATE_LEVELS:
        if level.key == key:
            return level
    names = ", ".join(level.key for level in DUPLICATE_LEVELS)
    raise ValueError(f"unknown near-duplicate level {key!r}; use one of {names}")


@dataclass(frozen=True)
class DuplicatePairs:
    """Pairs of photos that pass a level, as indices into the arrays they came from.

    Attributes:
        first: Index of the first photo of each pair (``first < second``).
        second: Index of the second.
        hash_distance: Differing bits of the two photos' hashes (0-128).
        cosine: Cosine of their embeddings.

    Shape:
        each ``(p,)``.
    """

    first: npt.NDArray[np.int64]
    second: npt.NDArray[np.int64]
    hash_distance: npt.NDArray[np.int64]
    cosine: npt.NDArray[np.float32]


def find_pairs(
    dhash: npt.NDArray[np.uint64],
    phash: npt.NDArray[np.uint64],
    embeddings: npt.NDArray[np.float32],
    level: DuplicateLevel,
    *,
    cancel: threading.Event | None = None,
) -> Generator[Progress, None, DuplicatePairs]:
    """Every pair of photos that passes `level`, compared in numpy blocks.

    Every rule needs a hash distance within ``max(hash_only, hash_with_embedding)``;
    only pairs within it get their cosine computed.

    Yields:
        `Progress` over the photos compared.

    Returns:
        The pairs (those found so far when cancelled).

    Shape:
        dhash, phash: ``(n,)``; embeddings: ``(n, d)``.
    """
    n = len(dhash)
    meter = ProgressMeter("duplicates", n)
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    unit = (embeddings / np.maximum(norms, 1e-12)).astype(np.float32)
    rows = max(1, _BLOCK_PAIRS // max(1, n))
    bound = np.uint8(max(level.hash_only, level.hash_with_embedding))
    firsts, seconds, dists, cosines = [], [], [], []
    for start in range(0, n, rows):
        if is_cancelled(cancel):
            break
        stop = min(n, start + rows)
        # Hash distances of rows start..stop against every later photo (uint8 all the
        # way); only pairs within the looser hash bound go on to the cosine, computed
        # for them alone.
        dist = hamming(dhash[start:stop, None], dhash[None, start:])
        dist += hamming(phash[start:stop, None], phash[None, start:])
        near = dist <= bound
        if np.count_nonzero(near) > _DENSE * (stop - start):
            # Many candidates (a loose level): the block's cosines in one product.
            block_cos = unit[start:stop] @ unit[start:].T
            i, j = np.nonzero(level.matches(dist, block_cos))
            cos = block_cos[i, j]
        else:
            i, j = np.nonzero(near)
            cos = np.einsum("ij,ij->i", unit[i + start], unit[j + start])
        later = j > i  # column j is photo start + j; row i is photo start + i
        i, j, cos = i[later], j[later], cos[later]
        d = dist[i, j]
        keep = level.matches(d, cos)
        firsts.append(i[keep] + start)
        seconds.append(j[keep] + start)
        dists.append(d[keep])
        cosines.append(cos[keep])
        meter.advance(stop - start)
        yield meter.snapshot()
    if not firsts:
        empty = np.zeros(0, dtype=np.int64)
        return DuplicatePairs(empty, empty, empty, np.zeros(0, dtype=np.float32))
    return DuplicatePairs(
        np.concatenate(firsts).astype(np.int64),
        np.concatenate(seconds).astype(np.int64),
        np.concatenate(dists).astype(np.int64),
        np.concatenate(cosines).astype(np.float32),
    )


def group_pairs(n: int, pairs: DuplicatePairs) -> list[list[int]]:
    """Groups in which every member matches every other: no chains.

    Greedy: the photo with the most matches (lowest index on a tie) starts a group;
    its matches join it, those matching most of its other matches first (then the
    closest: hash distance, then cosine), each only if it matches every member
    already in; members leave the pool. A ~ B, B ~ C but not
    A ~ C gives {A, B} or {B, C}, never {A, B, C}.

    Returns:
        Groups of at least two indices, each sorted, in the order they were formed.
    """
    neighbours: dict[int, dict[int, tuple[int, float]]] = {}
    for a, b, d, c in zip(
        pairs.first.tolist(),
        pairs.second.tolist(),
        pairs.hash_distance.tolist(),
        pairs.cosine.tolist(),
        strict=True,
    ):
        neighbours.setdefault(a, {})[b] = (d, -c)
        neighbours.setdefault(b, {})[a] = (d, -c)
    assigned: set[int] = set()
    groups: list[list[int]] = []
    for seed in sorted(neighbours, key=lambda p: (-len(neighbours[p]), p)):
        if seed in assigned:
            continue
        group = [seed]
        near = neighbours[seed]
        free = [c for c in near if c not in assigned]
        shared = {c: sum(1 for o in free if o in neighbours[c]) for c in free}
        for cand in sorted(free, key=lambda c: (-shared[c], near[c])):
            if all(cand in neighbours[m] for m in group[1:]):
                group.append(cand)
        if len(group) > 1:
            assigned.update(group)
            groups.append(sorted(group))
    return groups


def keep_order(photo: PhotoRecord) -> tuple[int, int, str, int, int]:
    """Sort key putting the copy to keep first: largest resolution, largest file, oldest.

    Oldest is the earliest capture date (photos without one after those with one),
    then the earliest modification time.
    """
    pixels = (photo.width or 0) * (photo.height or 0)
    return (
        -pixels,
        -photo.size,
        photo.taken_at or "\uffff",
        photo.mtime_ns,
        int(photo.id),
    )


def near_duplicate_groups(
    reader: CatalogReader,
    model_id: str,
    level: DuplicateLevel,
    *,
    folders: Sequence[Path] | None = None,
    thumbnails_dir: Path | None = None,
    cancel: threading.Event | None = None,
) -> Generator[Progress, None, list[DuplicateGroup]]:
    """Groups of near-duplicate photos of the library, the copy to keep first in each.

    Args:
        reader: The catalog.
        model_id: The model whose stored embeddings are compared.
        level: How alike copies must be.
        folders: Only consider photos at or below these folders.
        thumbnails_dir: The ingest's thumbnail cache: pairs whose colour layouts
            differ by more than the level allows are dropped (None: not checked).
        cancel: Stops early (the groups found so far are returned).

    Yields:
        `Progress` of the comparison.

    Returns:
        Groups, largest first (then by their first photo id).
    """
    ids, emb = reader.embeddings(model_id)
    hashed, dh, ph = reader.perceptual_hashes()
    if folders is not None:
        hashed_keep = np.isin(hashed, reader.ids_under(folders))
        hashed, dh, ph = hashed[hashed_keep], dh[hashed_keep], ph[hashed_keep]
    common, in_emb, in_hash = np.intersect1d(ids, hashed, return_indices=True)
    pairs = yield from find_pairs(
        dh[in_hash], ph[in_hash], emb[in_emb], level, cancel=cancel
    )
    if thumbnails_dir is not None:
        pairs = same_colours(pairs, common, reader, thumbnails_dir, level)
    groups: list[DuplicateGroup] = []
    for members in group_pairs(len(common), pairs):
        photos = [reader.photo(PhotoId(int(common[m]))) for m in members]
        found = sorted((p for p in photos if p is not None), key=keep_order)
        if len(found) > 1:  # a photo removed meanwhile is left out
            groups.append(DuplicateGroup(tuple(found)))
    groups.sort(key=lambda g: (-len(g.photos), min(g.photo_ids)))
    return groups


def same_colours(
    pairs: DuplicatePairs,
    photo_ids: npt.NDArray[np.int64],
    reader: CatalogReader,
    thumbnails_dir: Path,
    level: DuplicateLevel,
) -> DuplicatePairs:
    """The pairs whose colour layouts (from their cached thumbnails) agree at `level`.

    Only photos already in a pair are read (a few per pair at most, each once). A photo
    whose thumbnail is missing or unreadable keeps its pairs: the hashes and the
    embedding decided them.

    Args:
        pairs: Pairs of rows of `photo_ids`.
        photo_ids: The photo id of each row.
        reader: Where a photo's content key (its thumbnail's name) is read.
        thumbnails_dir: The ingest's thumbnail cache.
        level: Its `DuplicateLevel.max_colour_distance` applies.
    """
    layouts: dict[int, npt.NDArray[np.float32] | None] = {}

    def layout(row: int) -> npt.NDArray[np.float32] | None:
        if row not in layouts:
            photo = reader.photo(PhotoId(int(photo_ids[row])))
            found = None
            if photo is not None and photo.content_key:
                path = thumbnail_path(thumbnails_dir, photo.content_key)
                try:
                    with Image.open(path) as image:
                        found = colour_layout(image)
                except (OSError, ValueError):
                    found = None
            layouts[row] = found
        return layouts[row]

    keep = np.ones(len(pairs.first), dtype=bool)
    for k, (i, j) in enumerate(
        zip(pairs.first.tolist(), pairs.second.tolist(), strict=True)
    ):
        a, b = layout(i), layout(j)
        if a is not None and b is not None:
            keep[k] = colour_distance(a, b) <= level.max_colour_distance
    return DuplicatePairs(
        pairs.first[keep],
        pairs.second[keep],
        pairs.hash_distance[keep],
        pairs.cosine[keep],
    )
