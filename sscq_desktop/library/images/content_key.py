"""A cheap identity for a file's content, used to recognise moved and renamed photos.

The key is ``"<size>:<blake2b-128 of the first and last 64 KiB>"``. Reading at most
128 KiB keeps it cheap next to a decode; files up to 128 KiB are hashed whole, so their
key is exact. Two different files of the same size with identical first and last 64 KiB
would share a key: for photos this needs identical headers *and* identical entropy-coded
tails, which edits do not produce (an edit re-encodes the tail). The catalog uses the key
only to carry codes from a row whose file has vanished to a new path with the same key;
it never merges two files that both exist, so a collision costs at most one photo
keeping another's codes until it is next modified.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

CHUNK_BYTES = 64 * 1024


def content_key(path: str | os.PathLike[str]) -> str:
    """Compute the content key of a file.

    Args:
        path: The file to read.

    Returns:
        ``"<size>:<32 hex digits>"``.

    Raises:
        OSError: if the file cannot be opened or read.
    """
    with Path(path).open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        digest = hashlib.blake2b(digest_size=16)
        digest.update(size.to_bytes(8, "little"))
        if size <= 2 * CHUNK_BYTES:
            digest.update(handle.read())
        else:
            digest.update(handle.read(CHUNK_BYTES))
            handle.seek(size - CHUNK_BYTES)
            digest.update(handle.read(CHUNK_BYTES))
    return f"{size}:{digest.hexdigest()}"


def size_of_key(key: str) -> int:
    """The file size encoded in a content key.

    Raises:
        ValueError: if `key` is not a content key.
    """
    head, sep, _ = key.partition(":")
    if not sep or not head.isdigit():
        raise ValueError(f"not a content key: {key!r}")
    return int(head)
