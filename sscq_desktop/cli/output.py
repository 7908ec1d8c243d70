"""What the ``sscq-desktop`` command prints: exit codes, progress bars, JSON.

Progress bars go to stderr, and only when it is a terminal; results go to stdout.
Nothing here opens the library or knows a subcommand.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Never, TextIO, TypeVar

from sscq_desktop.library.path_text import printable_text

if TYPE_CHECKING:
    from tqdm import tqdm

    from sscq_desktop.library.progress import Progress

T = TypeVar("T")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_NO_MODEL = 3
EXIT_INTERRUPTED = 130


def drive(
    job: Generator[Progress, None, T],
    args: argparse.Namespace,
    label: str,
    *,
    note: Callable[[Progress], str | None] | None = None,
) -> T:
    """Run a library job to its end, with a progress bar on stderr if it is a terminal.

    Args:
        job: A library job: yields `Progress`, returns its result.
        args: The parsed command line (``--no-progress`` and ``--json`` turn the bar
            off).
        label: Shown before the bar, e.g. ``"indexing"``.
        note: The line to print on stderr for a snapshot, if any (None: none); printed
            above the bar, which it leaves whole.

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
            line = None if note is None else note(progress)
            if line is not None:
                if bar is not None:
                    bar.write(line)
                else:
                    print(line, file=sys.stderr)
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
    """A one-line `tqdm` bar: ``label: 40%|####      | done/total [elapsed<ETA, rate]``.

    Created empty: nothing is drawn before the first `update`, so a job that yields
    nothing leaves the terminal untouched.

    Args:
        stream: Where to draw it (stderr).
        label: Shown before the bar.
    """

    def __init__(self, stream: TextIO, label: str) -> None:
        self._stream = stream
        self._label = label
        self._bar: tqdm[Never] | None = None

    def update(self, progress: Progress) -> None:
        """Move the bar to a new snapshot (tqdm redraws at most ten times a second).

        Args:
            progress: The job's latest snapshot; its total may grow between snapshots.
        """
        if self._bar is None:
            from tqdm import tqdm  # only when a bar is drawn: keeps start-up fast

            self._bar = tqdm(desc=self._label, file=self._stream, unit="", leave=True)
        self._bar.total = progress.total or None  # 0: unknown, a bare counter
        self._bar.update(progress.done - self._bar.n)

    def write(self, line: str) -> None:
        """Print a line above the bar without tearing it (`tqdm.write`).

        Args:
            line: One line of text, without its newline.
        """
        if self._bar is None:
            print(line, file=self._stream)
        else:
            self._bar.write(line, file=self._stream)

    def close(self) -> None:
        """Draw the final state and end the bar's line, if it was drawn at all."""
        if self._bar is not None:
            self._bar.close()


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
