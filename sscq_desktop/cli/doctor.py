"""The ``doctor`` subcommand: versions, execution provider, model and paths.

Reports what it finds, one line per item, and exits with `EXIT_NO_MODEL` when the
installation cannot search (no onnxruntime, no usable model, catalog not openable).
"""

from __future__ import annotations

import argparse
import platform
from typing import Any

from sscq_desktop import __version__
from sscq_desktop.cli.library_access import no_model_hint, open_library
from sscq_desktop.cli.output import EXIT_NO_MODEL, EXIT_OK, print_json


def run_doctor(args: argparse.Namespace) -> int:
    """Print the diagnosis, as aligned text or JSON.

    Args:
        args: The parsed command line (``json``, ``home``, ``model``).

    Returns:
        `EXIT_OK` when all is well, else `EXIT_NO_MODEL`.
    """
    report, ok = diagnose(args)
    if args.json:
        print_json({**report, "ok": ok})
    else:
        for key, value in report.items():
            print(f"{key:22} {value}")
        print("all good" if ok else "problems found (see above)")
    return EXIT_OK if ok else EXIT_NO_MODEL


def diagnose(args: argparse.Namespace) -> tuple[dict[str, Any], bool]:
    """Check the installation and the library without changing anything but ``--model``.

    Args:
        args: The parsed command line (``home``, ``model``).

    Returns:
        The report (item name to finding, in display order) and whether the
        installation can search.
    """
    import numpy
    import PIL

    from sscq_desktop.library.image_loader import heif_available
    from sscq_desktop.model.artifact import ArtifactError, read_artifact
    from sscq_desktop.paths import app_paths, default_model_path

    report: dict[str, Any] = {
        "sscq-desktop": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": numpy.__version__,
        "pillow": PIL.__version__,
        "heic support": "yes"
        if heif_available()
        else "no (pip install sscq-desktop[heif])",
    }
    ok = True
    try:
        import onnxruntime as ort

        report["onnxruntime"] = ort.__version__
        report["providers available"] = ", ".join(ort.get_available_providers())
    except ImportError as exc:
        report["onnxruntime"] = f"MISSING ({exc})"
        ok = False
    paths = app_paths(args.home)
    report["data dir"] = str(paths.data_dir)
    report["cache dir"] = str(paths.cache_dir)
    report["config dir"] = str(paths.config_dir)
    default = default_model_path()
    if default.is_file():
        try:
            report["default model"] = f"{read_artifact(default).model_id} ({default})"
        except ArtifactError as exc:
            report["default model"] = f"INVALID: {exc}"
    else:
        report["default model"] = f"missing ({default})"
    try:
        lib = open_library(args)
    except Exception as exc:
        report["catalog"] = f"cannot open: {exc}"
        return report, False
    with lib:
        report["catalog"] = f"{paths.catalog_path} ({lib.catalog.integrity_check()})"
        active = lib.active_model_id
        if active is None:
            report["active model"] = f"NONE. {no_model_hint()}"
            return report, False
        try:
            artifact = lib.artifact(active)
            meta = artifact.metadata
            report["active model"] = (
                f"{active}: M={meta.M} K={meta.K} L={meta.L}, {meta.nbits} bits, "
                f"input {meta.input.size}px {meta.input.resize}"
            )
            encoder = lib.encoder(active)
            report["execution provider"] = getattr(encoder, "provider_name", "unknown")
        except Exception as exc:
            report["active model"] = f"UNUSABLE: {exc}"
            ok = False
    return report, ok
