r"""File paths as the catalog stores them, and as people read them.

On Linux a file name is bytes: ``b"caf\xe9.jpg"`` (Latin-1 from an old camera, a zip
archive or a network share) is not UTF-8. Python carries such a byte as a lone surrogate
(``"caf\udce9.jpg"``, PEP 383), which opens the real file but cannot be written as SQLite
text. `to_catalog` escapes each surrogate as NUL + 4 hex digits (NUL is the one character
no file name on any platform can hold, so the escape is unambiguous and valid names are
stored unchanged, with no migration); `from_catalog` undoes it. The escape maps one
character to a fixed word and leaves separators alone, so prefix ranges over stored paths
(a folder's photos) still work. `display_path` is for people: one U+FFFD per bad byte.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPED = re.compile("\x00([0-9a-f]{4})")


def to_catalog(path: str | os.PathLike[str]) -> str:
    r"""The text stored in the catalog for `path` (lossless, valid UTF-8).

    Args:
        path: A path, possibly holding undecodable bytes as lone surrogates.

    Returns:
        ``str(path)`` with every surrogate written as ``"\x00"`` + 4 hex digits.
    """
    text = os.fspath(path)
    if text.isascii():  # the common case: nothing to escape
        return text
    return _SURROGATE.sub(lambda m: f"\x00{ord(m.group()):04x}", text)


def from_catalog(text: str) -> Path:
    """The path that `to_catalog` stored as `text`.

    Args:
        text: A stored path.

    Returns:
        The original path, lone surrogates included: it opens the real file.
    """
    if "\x00" not in text:
        return Path(text)
    return Path(_ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text))


def display_path(path: str | os.PathLike[str]) -> str:
    """`path` as people read it: each undecodable byte becomes U+FFFD.

    Args:
        path: A path, possibly holding lone surrogates.

    Returns:
        Text that any terminal or widget can show (not for opening the file).
    """
    return _SURROGATE.sub("\ufffd", os.fspath(path))
