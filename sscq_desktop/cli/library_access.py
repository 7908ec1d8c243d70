"""How a subcommand opens the library, and what it says when no model is usable.

Library and paths are imported inside the functions, so ``sscq-desktop --help`` stays
fast.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sscq_desktop.library.library import Library


def open_library(args: argparse.Namespace) -> Library:
    """Open the library (on ``--home``, else the default folders), applying ``--model``.

    Args:
        args: The parsed command line.

    Returns:
        The open library; the caller closes it (``with lib:``).

    Raises:
        ArtifactError: if the ``--model`` file is not a valid model.
    """
    from sscq_desktop.library.library import Library
    from sscq_desktop.paths import app_paths

    lib = Library(app_paths(args.home))
    if args.model is not None:
        try:
            record = lib.import_model(args.model)
            lib.switch_model(record.model_id)
        except BaseException:
            lib.close()
            raise
    return lib


def require_model(lib: Library) -> None:
    """Fail early when the library has no active model to search with.

    Args:
        lib: The open library.

    Raises:
        NoModelError: if no model is active.
    """
    from sscq_desktop.library.library import NoModelError

    if lib.active_model_id is None:
        raise NoModelError("no model is available")


def no_model_hint() -> str:
    """Say why no model is usable and how to get one.

    Returns:
        One or two sentences naming the shipped default model's path.
    """
    from sscq_desktop.paths import default_model_path

    path = default_model_path()
    where = "is missing" if not path.is_file() else "is not valid"
    return (
        f"The shipped default model ({path}) {where} in this installation; "
        "import a model with `sscq-desktop models import FILE` or pass --model FILE"
    )
