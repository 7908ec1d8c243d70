"""Image lists: the exact photos a caller chose, one absolute path per line.

The app's "Retrain on my photos" writes the library's indexed, readable photos to such a
list (``--image-list FILE``) so the trainer learns on exactly those. Decoding, the cache
and the broken-file policy are the image folders' (`training.data.image_folder`).
"""

from __future__ import annotations

import logging
from pathlib import Path

logger = logging.getLogger(__name__)


def read_image_list(path: str | Path) -> list[Path]:
    """The paths of an image list, in file order, duplicates dropped.

    The file is UTF-8 text with one absolute path per line; blank lines and lines
    starting with ``#`` are ignored. Paths are not checked here: a missing or broken
    file is skipped (and counted) when the images are decoded.

    Args:
        path: The list file.

    Returns:
        The listed paths.

    Raises:
        FileNotFoundError: if the list file does not exist.
        ValueError: naming the line, if a path is not absolute or the file is not UTF-8.
    """
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"image list not found: {source}")
    try:
        text = source.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"image list {source} is not UTF-8 text: {exc}") from exc
    seen: set[Path] = set()
    paths: list[Path] = []
    # Split on newlines only: str.splitlines would also split on characters that
    # are legal in file names (form feed, unicode line separators...).
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.removesuffix("\r")
        if not line.strip() or line.startswith("#"):
            continue
        item = Path(line)
        if not item.is_absolute():
            raise ValueError(
                f"{source}:{number}: image list paths must be absolute, got {line!r}"
            )
        if item not in seen:
            seen.add(item)
            paths.append(item)
    logger.info("image list %s names %d images", source, len(paths))
    return paths


def image_list_label(path: Path) -> str:
    """The class of a listed image when labels are asked for: its folder's name."""
    return path.parent.name
