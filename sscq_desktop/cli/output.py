"""What the ``sscq-desktop`` command prints: exit codes, progress bars, JSON.

Progress bars go to stderr, and only when it is a terminal; results go to stdout.
Nothing here opens the library or knows a subcommand.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Generator
from typing import TYPE_CHECKING, TextIO, TypeVar

from sscq_desktop.library.path_text import printable_text

if TYPE_CHECKING:
    from sscq_desktop.library.progress import Progress

T = TypeVar("T")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_NO_MODEL = 3
EXIT_INTERRUPTED = 130


def drive(job: Generator[Progress, None, T], args: argparse.Namespace, label: str) -> T:
    """Run a library job to its end, with a progress bar on stderr if it is a terminal.

    Args:
        job: A library job: yields `Progress`, returns its result.
        args: The parsed command line (``--no-progress`` and ``--json`` turn the bar
            off).
        label: Shown before the bar, e.g. ``"indexing"``.

    Returns:
        The job's return value.
    """
    bar = ProgressBar(sys.stderr, label) if show_progress(args) else None
    try:
        while True:
            try:
                progress = next(job)
            except StopIteration as stop:
                result: T = stop.value
                return result
            if bar is not None:
                bar.update(progress)
    finally:
        if bar is not None:
            bar.close()


def show_progress(args: argparse.Namespace) -> bool:
    """Whether to draw progress bars.

    Args:
        args: The parsed command line.

    Returns:
        True unless ``--no-progress`` or ``--json`` was given or stderr is not a
        terminal.
    """
    return (
        not args.no_progress
        and not getattr(args, "json", False)
        and sys.stderr.isatty()
    )


class ProgressBar:
    """A one-line text progress bar: ``label [####....] done/total rate ETA``.

    Args:
        stream: Where to draw it (stderr).
        label: Shown before the bar.
        width: Characters between the brackets.
    """

    def __init__(self, stream: TextIO, label: str, width: int = 30) -> None:
        self._stream = stream
        self._label = label
        self._width = width
        self._drawn = False

    def update(self, progress: Progress) -> None:
        """Redraw the bar in place for a new snapshot.

        Args:
            progress: The job's latest snapshot.
        """
        total = max(progress.total, 1)
        filled = int(self._width * min(progress.done, total) / total)
        eta = "" if progress.eta_s is None else f" ETA {_duration(progress.eta_s)}"
        rate = f" {progress.rate:.1f}/s" if progress.rate else ""
        text = (
            f"\r{self._label} [{'#' * filled}{'.' * (self._width - filled)}] "
            f"{progress.done}/{progress.total}{rate}{eta}"
        )
        self._stream.write(text.ljust(79))
        self._stream.flush()
        self._drawn = True

    def close(self) -> None:
        """End the bar's line, if it was drawn at all."""
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()


def print_json(value: object) -> None:
    """Print a value as indented JSON on stdout (paths and the like as strings).

    Args:
        value: Anything `json` can write once unknown types go through `str`.
    """
    json.dump(value, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def terminal_text(text: str) -> str:
    r"""`text` made safe to print on a terminal, one line, every character visible.

    File names are untrusted: one holding ``\x1b[31m`` or a newline would recolour the
    terminal or forge output lines. Such characters are written as Python escapes
    (``\x1b``, ``\n``, ``\u202e``); a byte of a name that is not UTF-8 as ``\xe9``
    (`sscq_desktop.library.path_text.printable_text`, which log lines use too).

    Args:
        text: A file name, path or message that may hold such characters.

    Returns:
        The text with each of them escaped.
    """
    return printable_text(text)


def _duration(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
