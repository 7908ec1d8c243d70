r"""File paths as the catalog stores them, and as people read them.

On Linux a file name is bytes: ``b"caf\xe9.jpg"`` (Latin-1 from an old camera, a zip
archive or a network share) is not UTF-8. Python carries such a byte as a lone surrogate
(``"caf\udce9.jpg"``, PEP 383), which opens the real file but cannot be written as SQLite
text. `to_catalog` escapes each surrogate as NUL + 4 hex digits (NUL is the one character
no file name on any platform can hold, so the escape is unambiguous and valid names are
stored unchanged, with no migration); `from_catalog` undoes it. The escape maps one
character to a fixed word and leaves separators alone, so prefix ranges over stored paths
(a folder's photos) still work. `display_path` is for people: one U+FFFD per bad byte.
`printable_text` escapes what a terminal or a log line would act on (control characters,
bidirectional overrides); `PrintableLogFormatter` applies it to every log line.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from types import TracebackType
from typing import TypeAlias

_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPED = re.compile("\x00([0-9a-f]{4})")
# What a terminal would act on instead of showing: C0 and C1 controls (escape sequences,
# newlines, carriage returns), DEL, bidirectional overrides that reorder what is shown,
# and lone surrogates (bytes of a name that is not UTF-8).
_UNSHOWABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_ExcInfo: TypeAlias = (
    tuple[type[BaseException], BaseException, TracebackType | None]
    | tuple[None, None, None]
)


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


def printable_text(text: str) -> str:
    r"""`text` made safe to print on a terminal or in a log, one line, all visible.

    File names are untrusted: one holding ``\x1b[31m`` or a newline would recolour the
    terminal or forge output lines. Such characters are written as Python escapes
    (``\x1b``, ``\n``, ``\u202e``); a byte of a name that is not UTF-8 as ``\xe9``.
    Everything else, accents and emoji included, is left as it is.

    Args:
        text: A file name, path or message that may hold such characters.

    Returns:
        The text with each of them escaped.
    """
    return _UNSHOWABLE.sub(_escape, text)


class PrintableLogFormatter(logging.Formatter):
    r"""A `logging.Formatter` whose lines file names cannot forge or recolour.

    Log messages quote paths (``"cannot list %s"``, ``"%s is offline"``): the formatted
    line goes through `printable_text`, so a newline or ESC in a name shows as ``\n``
    or ``\x1b`` instead of starting a new line or a terminal sequence. A traceback
    (``logger.exception``) keeps its line breaks; each of its lines is escaped.
    """

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        """The record's line, escaped."""
        return printable_text(super().formatMessage(record))

    def formatException(self, ei: _ExcInfo) -> str:  # noqa: N802 (logging's name)
        """The traceback, each line escaped."""
        return _each_line(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 (logging's name)
        """The stack, each line escaped."""
        return _each_line(super().formatStack(stack_info))


def _each_line(text: str) -> str:
    return "\n".join(printable_text(line) for line in text.split("\n"))


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's escape of one undecodable byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
