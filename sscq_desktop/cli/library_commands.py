"""Library subcommands: index, watch, retry, similar, duplicates and status.

Thin front ends over `sscq_desktop.library.library.Library`: parse nothing (see
`sscq_desktop.cli.parser`), open the library, run one job, print its result.
"""

from __future__ import annotations

import argparse
import sys
import threading
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING

from sscq_desktop.cli.library_access import open_library, require_model
from sscq_desktop.cli.output import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    drive,
    print_json,
    terminal_text,
)
from sscq_desktop.library.folders.root_status import folder_problems
from sscq_desktop.library.images.failure_explanations import explain_failure
from sscq_desktop.library.path_text import display_path
from sscq_desktop.library.records import SimilarityBand

if TYPE_CHECKING:
    from sscq_desktop.library.library import Library


def run_index(args: argparse.Namespace) -> int:
    """Add folders, then scan and index their photos.

    Args:
        args: The parsed command line (``folders``, ``json``, ``decode_timeout``).

    Returns:
        The exit code.
    """
    lib = open_library(args)
    with lib:
        if args.decode_timeout is not None:
            lib.ingest_options = replace(
                lib.ingest_options, decode_timeout_s=args.decode_timeout
            )
        for folder in args.folders:
            lib.add_folder(folder)
        scan = drive(lib.scan(), args, "scanning")
        ingest = drive(lib.ingest(), args, "indexing")
        stats = lib.stats()
        result = {
            "files": scan.files,
            "new": scan.new,
            "changed": scan.changed,
            "moved": scan.moved,
            "deleted": scan.deleted,
            "processed": ingest.done,
            "errors": ingest.errors,
            "images": stats.images,
            "failed_total": stats.errors,
            "active_model": stats.active_model,
            "pending_model": stats.pending_model,
            "offline": [display_path(p) for p in scan.offline],
            "unreadable": [display_path(p) for p in scan.unreadable],
        }
        if args.json:
            print_json(result)
        else:
            print(
                f"{scan.files} files: {scan.new} new, {scan.changed} changed, "
                f"{scan.moved} moved, {scan.deleted} deleted; {ingest.done} processed, "
                f"{ingest.errors} failed (see `sscq-desktop status`)"
            )
            for path in scan.offline:
                print(f"offline, photos kept: {terminal_text(display_path(path))}")
            for path in scan.unreadable:
                print(
                    f"cannot be read, photos kept: {terminal_text(display_path(path))}"
                )
    return EXIT_OK


def run_watch(args: argparse.Namespace) -> int:
    """Keep the library up to date until Ctrl-C.

    Args:
        args: The parsed command line (``debounce``, ``poll``).

    Returns:
        The exit code (Ctrl-C is a normal way to stop).
    """
    lib = open_library(args)
    cancel = threading.Event()
    with lib:
        if not lib.folders():
            print(
                "no folders yet: add some with `sscq-desktop index FOLDER`",
                file=sys.stderr,
            )
            return EXIT_FAILURE
        print(
            f"watching {len(lib.folders())} folder(s); Ctrl-C to stop", file=sys.stderr
        )
        try:
            for progress in lib.watch(
                cancel=cancel, debounce_s=args.debounce, force_polling=args.poll
            ):
                if progress.phase == "watch":
                    print(progress.message, file=sys.stderr)
        except KeyboardInterrupt:
            cancel.set()
            return EXIT_OK
    return EXIT_OK


def run_retry(args: argparse.Namespace) -> int:
    """Queue the photos that failed to index for another try, and index them now.

    Args:
        args: The parsed command line (``no_index``, ``json``).

    Returns:
        The exit code (0 even when some photos still fail: they are listed).

    Raises:
        NoModelError: if no model is active (unless ``--no-index``).
    """
    lib = open_library(args)
    with lib:
        if not args.no_index:
            require_model(lib)
        retried = lib.retry_failed()
        indexed = retried > 0 and not args.no_index
        processed = 0
        if indexed:
            processed = drive(lib.update(), args, "retrying").done
        stats = lib.stats()
        still = [{"path": display_path(p), "error": e} for p, e in lib.errors(limit=20)]
        if args.json:
            print_json(
                {
                    "retried": retried,
                    "indexed": indexed,
                    "processed": processed,
                    "failed_total": stats.errors,
                    "pending": stats.pending,
                    "failed": still,
                }
            )
            return EXIT_OK
        if retried == 0:
            print("no failed photos to retry")
        elif not indexed:
            print(
                f"{retried} failed photo(s) queued for another try; "
                "`sscq-desktop index` or `watch` (or the app) will try them"
            )
        else:
            print(
                f"retried {retried} failed photo(s): {processed} processed, "
                f"{stats.errors} still failing"
            )
        _print_failed(still, stats.errors)
    return EXIT_OK


def run_similar(args: argparse.Namespace) -> int:
    """Print the library's photos most similar to an image file.

    Args:
        args: The parsed command line (``image``, ``top``, ``max_distance``,
            ``min_score``, ``min_band``, ``folder``, ``json``). Each line: the
            distance, the same-kind probability, the band, the path.

    Returns:
        The exit code.

    Raises:
        NoModelError: if no model is active.
    """
    if args.top < 1:
        print("sscq-desktop: --top must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    from sscq_desktop.library.images.image_loader import ImageLoadError

    lib = open_library(args)
    with lib:
        require_model(lib)
        if (problem := _folder_problem(lib, args.folder)) is not None:
            print(f"sscq-desktop: {problem}", file=sys.stderr)
            return EXIT_USAGE
        try:
            hits = lib.similar_to_file(
                args.image,
                k=args.top,
                max_distance=args.max_distance,
                min_score=args.min_score,
                min_band=_band(args.min_band),
                folders=args.folder,
            )
        except ImageLoadError as exc:
            print(f"sscq-desktop: cannot read {args.image}: {exc}", file=sys.stderr)
            return EXIT_FAILURE
        if args.json:
            print_json(
                [
                    {
                        "photo_id": h.photo_id,
                        # Lossless: a name that is not UTF-8 keeps its bytes as
                        # \udcXX escapes (Python's os.fsdecode), which open the file.
                        "path": str(h.path),
                        "display_path": display_path(h.path),
                        "distance": h.distance,
                        "score": h.score,
                        "band": None if h.band is None else h.band.slug,
                        "model_id": h.model_id,
                        "offline": h.offline,
                    }
                    for h in hits
                ]
            )
        else:
            for h in hits:
                mark = "  (offline)" if h.offline else ""
                band = "" if h.band is None else h.band.value
                print(
                    f"{h.distance:10.4f}  {h.score:5.2f}  {band:<12}  "
                    f"{terminal_text(display_path(h.path))}{mark}"
                )
            if not hits:
                print("no similar photos (is the library indexed?)", file=sys.stderr)
    return EXIT_OK


def _band(slug: str | None) -> SimilarityBand | None:
    """The band a ``--min-band`` value names (None: no band cut)."""
    return None if slug is None else next(b for b in SimilarityBand if b.slug == slug)


def run_duplicates(args: argparse.Namespace) -> int:
    """Print groups of near-duplicate photos, the copy to keep first in each.

    Args:
        args: The parsed command line (``level``, ``folder``, ``json``).

    Returns:
        The exit code.

    Raises:
        NoModelError: if no model is active.
    """
    lib = open_library(args)
    with lib:
        require_model(lib)
        if (problem := _folder_problem(lib, args.folder)) is not None:
            print(f"sscq-desktop: {problem}", file=sys.stderr)
            return EXIT_USAGE
        groups = drive(
            lib.near_duplicates(level=args.level, folders=args.folder),
            args,
            "comparing",
        )
        if args.json:
            print_json(
                [
                    {
                        "paths": [str(p) for p in g.paths],
                        "keep": str(g.keep.path),
                        "sizes": [p.size for p in g.photos],
                        "resolutions": [[p.width, p.height] for p in g.photos],
                        "taken_at": [p.taken_at for p in g.photos],
                    }
                    for g in groups
                ]
            )
        else:
            for g in groups:
                print(f"# {len(g.photos)} photos (the first is the one to keep)")
                for photo in g.photos:
                    print(
                        f"  {terminal_text(display_path(photo.path))}  "
                        f"{photo.width}x{photo.height}  {photo.size} bytes"
                    )
            print(f"{len(groups)} group(s)", file=sys.stderr)
    return EXIT_OK


def run_status(args: argparse.Namespace) -> int:
    """Print the library's folders, counts, model and latest failed files.

    Args:
        args: The parsed command line (``json``).

    Returns:
        The exit code.
    """
    lib = open_library(args)
    with lib:
        stats = lib.stats()
        records = lib.folders()
        problems = folder_problems(lib.catalog.reader)
        folders = [display_path(f.path) for f in records]
        offline = [
            {
                "path": display_path(f.path),
                "reason": problems.get(f.id, "offline at the last scan"),
                "since": f.offline_since,
            }
            for f in records
            if f.id in problems or f.offline
        ]
        errors = [
            {"path": display_path(p), "error": e} for p, e in lib.errors(limit=20)
        ]
        if args.json:
            print_json(
                {
                    **asdict(stats),
                    "folders": folders,
                    "offline_folders": offline,
                    "failed": errors,
                }
            )
            return EXIT_OK
        print(f"folders:  {len(folders)}")
        reasons = {item["path"]: item["reason"] for item in offline}
        for folder in folders:
            why = reasons.get(folder)
            note = f"  (offline: {why}; photos kept)" if why else ""
            print(f"  {terminal_text(folder)}{terminal_text(note)}")
        if offline:
            print(
                "offline folders keep their photos; they are indexed again, without "
                "re-encoding, once back (remove a folder to forget its photos)"
            )
        print(
            f"images:   {stats.images} ({stats.ok} ok, {stats.pending} pending, "
            f"{stats.errors} failed)"
        )
        print(f"model:    {stats.active_model or '(none)'}")
        if stats.pending_model:
            done = stats.encoded.get(stats.pending_model, 0)
            print(
                f"switching to {stats.pending_model}: {done}/{stats.ok + stats.pending} "
                "encoded (run `sscq-desktop index` or `watch` to finish)"
            )
        _print_failed(errors, stats.errors)
        if stats.errors:
            print(
                "fix or replace these files (changed files are tried again "
                "automatically), or run `sscq-desktop retry` to try them all again"
            )
    return EXIT_OK


def _print_failed(failed: list[dict[str, str]], total: int) -> None:
    for item in failed:  # the plain explanation, then the recorded reason whole
        print(f"  failed: {terminal_text(item['path'])}")
        print(f"    {explain_failure(item['error'])} ({terminal_text(item['error'])})")
    if total > len(failed):
        print(f"  ... and {total - len(failed)} more failed")


def _folder_problem(lib: Library, folders: list[Path] | None) -> str | None:
    """Why a ``--folder`` cannot restrict a search, or None when every one can.

    A folder must be in the library: a root, inside one, or holding one. One that
    does not exist is refused unless it is in the library (an offline drive's root).
    """
    roots = [f.path for f in lib.folders()]
    for folder in folders or ():
        path = folder.expanduser().absolute()
        resolved = path.resolve() if path.exists() else path
        in_library = any(
            resolved.is_relative_to(root) or root.is_relative_to(resolved)
            for root in roots
        )
        if in_library:
            continue
        shown = terminal_text(display_path(folder))
        if not path.exists():
            return f"--folder {shown}: no such folder"
        return (
            f"--folder {shown} is not in the library (its folders: "
            + (", ".join(terminal_text(display_path(r)) for r in roots) or "none")
            + "; add it with `sscq-desktop index FOLDER`)"
        )
    return None
