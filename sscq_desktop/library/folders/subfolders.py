"""The folders below the library's roots that hold indexed photos, with their counts.

Worked out from the catalog's photo paths in one pass (never by walking the disk): a
folder is listed when it holds an indexed photo directly or in any folder below it, so
an unplugged drive's folders stay listed with its kept photos.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

from sscq_desktop.library.records import FolderId, PhotoRecord, SubfolderOverview


def subfolder_overviews(
    roots: Mapping[FolderId, Path], photos: Iterable[PhotoRecord]
) -> list[SubfolderOverview]:
    """Every folder strictly below a root that holds some of `photos`, with its count.

    Counts each photo's folder once (a ``Counter`` over the photos' parent folders),
    then adds each distinct folder's count to the folders above it up to its root, so
    the cost is one pass over the photos plus one walk per distinct folder.

    Args:
        roots: Each library root folder's path, by id.
        photos: The photos to count (the indexed ones: `Library.photos`); a photo
            whose root is not in `roots`, or that does not lie below it, is left out.

    Returns:
        The folders in tree order: by root, then parent before child, siblings by name
        (case-insensitively); each with the photos at or below it.
    """
    # Path text, not `Path.parent`: a new Path per photo costs several times more.
    direct = Counter((p.folder_id, os.path.dirname(p.path)) for p in photos)
    below: Counter[Path] = Counter()
    root_of: dict[Path, FolderId] = {}
    for (folder_id, text), count in direct.items():
        folder = Path(text)
        root = roots.get(folder_id)
        if root is None or not folder.is_relative_to(root):
            continue
        while folder != root:
            below[folder] += count
            root_of[folder] = folder_id
            folder = folder.parent
    nodes = [SubfolderOverview(root_of[p], p, n) for p, n in below.items()]
    return sorted(
        nodes,
        key=lambda s: (
            str(roots[s.root_id]).lower(),
            tuple(part.lower() for part in s.path.parts),
            str(s.path),
        ),
    )
