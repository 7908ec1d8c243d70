"""The ``doctor`` subcommand: versions, execution provider, model and paths.

Reports what it finds, one line per item, and exits with `EXIT_NO_MODEL` when the
installation cannot search (no onnxruntime, no usable model, catalog not openable).
With ``--rebuild-catalog`` it repairs instead: a damaged catalog is moved aside (kept)
and a new one is made from the folders and models it listed
(`sscq_desktop.library.catalog.rebuild`).
"""

from __future__ import annotations

import argparse
import platform
import shlex
import sys
from typing import Any

from sscq_desktop import __version__
from sscq_desktop.cli.library_access import no_model_hint, open_library
from sscq_desktop.cli.output import (
    EXIT_FAILURE,
    EXIT_NO_MODEL,
    EXIT_OK,
    print_json,
    terminal_text,
)


def run_doctor(args: argparse.Namespace) -> int:
    """Print the diagnosis, as aligned text or JSON.

    Args:
        args: The parsed command line (``json``, ``home``, ``model``).

    Returns:
        `EXIT_OK` when all is well, else `EXIT_NO_MODEL`.
    """
    if args.rebuild_catalog:
        return rebuild(args)
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

    from sscq_desktop.library.images.image_loader import heif_available
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
        from sscq_desktop.library.catalog.catalog_file import (
            REBUILD_HINT,
            is_catalog_damage,
        )

        report["catalog"] = f"cannot open: {exc}"
        if is_catalog_damage(exc) and REBUILD_HINT not in str(exc):
            report["catalog"] += f" ({paths.catalog_path}); {REBUILD_HINT}"
        return report, False
    with lib:
        report["catalog"] = (
            f"{paths.catalog_path} ({lib.catalog.reader.integrity_check()})"
        )
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


def rebuild(args: argparse.Namespace) -> int:
    """Move a damaged catalog aside and make a new one from what it listed.

    Args:
        args: The parsed command line (``home``, ``json``).

    Returns:
        `EXIT_OK` when the catalog was rebuilt or is sound, `EXIT_FAILURE` if the
        damaged file could not be moved aside.
    """
    from sscq_desktop.library.catalog.rebuild import catalog_health, rebuild_catalog
    from sscq_desktop.paths import app_paths

    path = app_paths(args.home).catalog_path
    problem = catalog_health(path)
    if problem is None:
        message = (
            f"the catalog {path} is sound; nothing to rebuild"
            if path.exists()
            else f"there is no catalog at {path} yet; nothing to rebuild"
        )
        if args.json:
            print_json({"rebuilt": False, "catalog": str(path), "message": message})
        else:
            print(message)
        return EXIT_OK
    try:
        report = rebuild_catalog(path)
    except OSError as exc:
        print(
            f"sscq-desktop: cannot move the damaged catalog aside: {exc}",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    if args.json:
        print_json(
            {
                "rebuilt": True,
                "catalog": str(path),
                "problem": problem,
                "kept_as": str(report.kept_as),
                "folders": report.folders,
                "models": report.models,
                "active_model": report.active_model,
                "lost": report.lost,
            }
        )
        return EXIT_OK
    print(f"the catalog {path} was damaged ({terminal_text(problem)})")
    print(f"kept as {report.kept_as}")
    print(
        f"new catalog with {len(report.folders)} folder(s) and "
        f"{len(report.models)} model(s)"
        + (f", active model {report.active_model}" if report.active_model else "")
    )
    for line in report.lost:
        print(f"  could not be carried over: {terminal_text(line)}")
    if report.folders:
        folders = " ".join(shlex.quote(f) for f in report.folders)
        print(
            f"index the photos again with: sscq-desktop index {terminal_text(folders)}"
        )
    else:
        print("add your folders again with: sscq-desktop index FOLDER")
    return EXIT_OK
