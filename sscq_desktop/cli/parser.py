"""The ``sscq-desktop`` argument parser: global options, subcommands and their help.

Help text advises (defaults, what works, when to use an option), as DINO's does. Each
subcommand's ``handler`` lives in the module of its role; nothing here runs a command.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sscq_desktop import __version__
from sscq_desktop.cli.doctor import run_doctor
from sscq_desktop.cli.library_commands import (
    run_duplicates,
    run_index,
    run_retry,
    run_similar,
    run_status,
    run_watch,
)
from sscq_desktop.cli.model_commands import (
    run_models_import,
    run_models_list,
    run_models_use,
    run_retrain,
)
from sscq_desktop.library.records import SimilarityBand
from sscq_desktop.library.search.duplicates import DEFAULT_LEVEL, DUPLICATE_LEVELS


def build_parser() -> argparse.ArgumentParser:
    """Build the ``sscq-desktop`` parser; each subcommand sets ``handler``.

    Returns:
        The parser. A parsed namespace has ``command`` None when no subcommand was
        given (start the GUI), else ``handler(args) -> exit code``.
    """
    parser = argparse.ArgumentParser(
        prog="sscq-desktop",
        description="Find visually similar photos with codes learned from your own photos. "
        "Without a command, starts the desktop app.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    parser.add_argument(
        "--home",
        type=Path,
        help="keep catalog, models and thumbnails under this folder",
    )
    parser.add_argument(
        "--model",
        type=Path,
        help="use this model artifact (imported, then made active; with an existing "
        "library it becomes active once the library is re-encoded)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details")
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bars on stderr"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("index", help="add folders and index their photos")
    p.add_argument("folders", nargs="+", type=Path, metavar="FOLDER")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.add_argument(
        "--decode-timeout",
        type=_positive_float,
        default=None,
        metavar="SECONDS",
        help="a photo whose decoding takes longer is recorded as failed and its "
        "decoder process killed (default 120)",
    )
    p.set_defaults(handler=run_index)

    p = sub.add_parser("watch", help="keep the library up to date until Ctrl-C")
    p.add_argument("--poll", action="store_true", help="poll instead of native events")
    p.add_argument("--debounce", type=float, default=1.0, help="seconds (default 1)")
    p.set_defaults(handler=run_watch)

    p = sub.add_parser(
        "retry",
        help="try the photos that failed to index again",
        description="Put every photo that could not be indexed (broken, unreadable, "
        "decoder timeout, or a decoder that crashed on it) back in the queue, then "
        "bring the library up to date so they are tried again now. Files you repair "
        "or replace are retried by `index` and `watch` anyway; use this after a "
        "network drive is back or a decoder was installed. "
        "`sscq-desktop status` lists the failed files.",
    )
    p.add_argument(
        "--no-index",
        action="store_true",
        help="only queue them; the next `index`, `watch` or the app tries them",
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(handler=run_retry)

    p = sub.add_parser("similar", help="photos similar to an image file")
    p.add_argument("image", type=Path, metavar="IMAGE")
    p.add_argument(
        "--top",
        type=_result_count,
        default=20,
        help=f"how many results, 1 to {MAX_TOP} (default 20)",
    )
    p.add_argument(
        "--max-distance", type=_distance, help="drop results farther than this"
    )
    p.add_argument(
        "--min-score",
        type=_score,
        help="drop results whose same-kind probability is below this (0-1)",
    )
    p.add_argument(
        "--min-band",
        choices=[b.slug for b in SimilarityBand],
        help="only show results in this band or a closer one",
    )
    p.add_argument(
        "--folder",
        type=Path,
        action="append",
        help="restrict to a folder of the library (repeatable)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run_similar)

    p = sub.add_parser("duplicates", help="groups of near-duplicate photos")
    p.add_argument(
        "--level",
        choices=[level.key for level in DUPLICATE_LEVELS],
        default=DEFAULT_LEVEL,
        help="how alike copies must be (default: %(default)s)",
    )
    p.add_argument(
        "--folder",
        type=Path,
        action="append",
        help="restrict to a folder of the library (repeatable)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run_duplicates)

    p = sub.add_parser("status", help="library counts, models and failed files")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run_status)

    p = sub.add_parser("models", help="list, import or switch models")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    m = msub.add_parser("list", help="registered models")
    m.add_argument("--json", action="store_true")
    m.set_defaults(handler=run_models_list)
    m = msub.add_parser("use", help="switch to a model (re-encodes the library)")
    m.add_argument("model_id", metavar="MODEL_ID", help="a model id, or 'default'")
    m.set_defaults(handler=run_models_use)
    m = msub.add_parser("import", help="validate and register a model artifact")
    m.add_argument("file", type=Path, metavar="FILE")
    m.set_defaults(handler=run_models_import)

    p = sub.add_parser(
        "retrain",
        help="train a model on your photos; switch to it if it proves better",
        description="Train a model on the library's indexed photos (python -m training, "
        "needs the [train] extra) and register it. A sample of the photos (a tenth, "
        "50-300) is kept out of training; both models are scored on it without labels "
        "(how well heavily edited copies find their originals), and the library is "
        "re-encoded with the new model only if it scores measurably higher; otherwise "
        "the current model stays and `models use` switches by hand. "
        "By default it starts from the active model's weights when they have the same "
        "code length (much faster on a CPU); otherwise it trains from scratch and says so.",
    )
    p.add_argument(
        "--bits",
        type=int,
        choices=(16, 32, 64),
        default=32,
        help="code length per photo (default 32: 8 codebooks of 16 codewords)",
    )
    p.add_argument(
        "--minutes",
        type=_positive_float,
        default=10.0,
        help="training time budget in minutes (default 10; an hour or more helps "
        "from scratch on a CPU)",
    )
    p.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="where to train (default auto: a CUDA GPU when the trainer sees one)",
    )
    p.add_argument(
        "--from-scratch",
        action="store_true",
        help="do not start from the active model's weights",
    )
    p.add_argument(
        "--max-steps",
        type=_positive_int,
        help="stop after N training steps (smoke tests)",
    )
    p.add_argument(
        "--no-switch",
        action="store_true",
        help="register and check it, never switch",
    )
    p.add_argument(
        "--trainer",
        nargs=argparse.REMAINDER,
        help="replace the trainer command (argument list; {image_list}, {run_dir}, "
        "{model_path}, {model_id} and {init_from} are substituted); default: "
        "python -m training train --recipe photos_cpu --image-list {image_list} ...",
    )
    p.set_defaults(handler=run_retrain)

    p = sub.add_parser(
        "doctor",
        help="versions, execution provider, model, paths; rebuild a damaged catalog",
    )
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--rebuild-catalog",
        action="store_true",
        help="if the catalog is damaged, move it aside (kept, with a timestamp) and "
        "make a new one with the folders and models it listed; then run `index` to "
        "index the photos again. Close the app first",
    )
    p.set_defaults(handler=run_doctor)
    return parser


MAX_TOP = 1_000_000_000
"""Largest ``--top``: more than any library holds."""

_Number = TypeVar("_Number", int, float)


# argparse names these functions in its errors ("invalid _positive_int value: 'x'"):
# renaming them changes what users see.
def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _result_count(text: str) -> int:
    return _in_range(text, int, 1, MAX_TOP, f"an integer from 1 to {MAX_TOP}")


def _distance(text: str) -> float:
    return _in_range(text, float, 0.0, sys.float_info.max, "a finite number >= 0")


def _score(text: str) -> float:
    return _in_range(text, float, 0.0, 1.0, "between 0 and 1")


def _in_range(
    text: str, parse: Callable[[str], _Number], low: _Number, high: _Number, what: str
) -> _Number:
    """`text` as a number from `low` to `high`, or an argparse error naming the range.

    Args:
        text: The option's value as typed.
        parse: `int` or `float`.
        low: Smallest value allowed.
        high: Largest value allowed (``sys.float_info.max`` refuses only infinity).
        what: The range in words, for the error: ``"between 0 and 1"``.

    Returns:
        The parsed value.

    Raises:
        argparse.ArgumentTypeError: if `text` is not a number of that kind, or is NaN
            (which compares false with everything) or outside the range.
    """
    try:
        value = parse(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
    return value
