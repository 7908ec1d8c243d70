"""The ``sscq-desktop`` command: index, watch, retry, search, models, retrain, doctor.

Headless use of `sscq_desktop.library.library.Library`; with no subcommand it starts the
GUI (``sscq_desktop.app``, imported only then). Progress bars go to stderr when it is a
terminal; ``--json`` prints machine-readable results on stdout. Exit codes: 0 success,
1 failure (bad input file, trainer failure...), 2 usage error, 3 no usable model (none
active and the shipped default is missing or invalid), 130 interrupted (Ctrl-C).

Modules by role: `parser` (arguments and help), `library_commands` and `model_commands`
(the subcommands), `doctor`, `library_access` (opening the library), `output` (progress
bars, JSON, exit codes). Nothing here imports Qt or torch at module level.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from sscq_desktop.cli.library_access import no_model_hint
from sscq_desktop.cli.output import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_NO_MODEL,
    EXIT_OK,
    EXIT_USAGE,
)
from sscq_desktop.cli.parser import build_parser
from sscq_desktop.library.path_text import PrintableLogFormatter

__all__ = [
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_NO_MODEL",
    "EXIT_OK",
    "EXIT_USAGE",
    "main",
]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (also the console script's).

    Args:
        argv: Arguments without the program name; default: ``sys.argv[1:]``.

    Returns:
        The exit code: `EXIT_OK`, `EXIT_FAILURE`, `EXIT_NO_MODEL` or
        `EXIT_INTERRUPTED` (usage errors exit with 2 through `SystemExit`).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    # Log lines quote file names: escaped, so a name cannot forge a line (stderr).
    stderr = logging.StreamHandler()
    stderr.setFormatter(PrintableLogFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, handlers=[stderr]
    )
    if args.command is None:
        return _start_gui()
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("interrupted; progress so far is kept", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # one clear line for the user; details with --verbose
        from sscq_desktop.library.library import NoModelError
        from sscq_desktop.model.artifact import ArtifactError

        if args.verbose:
            logging.getLogger(__name__).exception("command failed")
        if isinstance(exc, NoModelError):
            print(f"sscq-desktop: {exc}. {no_model_hint()}", file=sys.stderr)
            return EXIT_NO_MODEL
        if isinstance(exc, ArtifactError):
            print(f"sscq-desktop: invalid model: {exc}", file=sys.stderr)
            return EXIT_NO_MODEL
        if _report_damaged_catalog(exc, args):
            return EXIT_FAILURE
        print(f"sscq-desktop: {exc}", file=sys.stderr)
        return EXIT_FAILURE


def _report_damaged_catalog(exc: Exception, args: argparse.Namespace) -> bool:
    """Say where a damaged catalog is and how to rebuild it; False if `exc` is not that."""
    from sscq_desktop.library.catalog.catalog_file import (
        REBUILD_HINT,
        CatalogDamagedError,
        is_catalog_damage,
    )
    from sscq_desktop.paths import app_paths

    if isinstance(exc, CatalogDamagedError):
        print(f"sscq-desktop: {exc}", file=sys.stderr)
        return True
    if not is_catalog_damage(exc):
        return False
    path = app_paths(args.home).catalog_path
    print(
        f"sscq-desktop: the catalog {path} is damaged ({exc}); {REBUILD_HINT}",
        file=sys.stderr,
    )
    return True


def _start_gui() -> int:
    # Imported by name, only now: the console command must work without Qt installed.
    import importlib

    try:
        app = importlib.import_module("sscq_desktop.app")
    except ImportError as exc:
        print(
            "sscq-desktop: the desktop app is not available in this installation "
            f"({exc}); use a subcommand (see `sscq-desktop --help`)",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    result: object = app.main()
    return result if isinstance(result, int) else EXIT_OK
