"""The ``sscq-desktop`` console command: index, watch, search, models, retrain, diagnostics.

Headless use of `sscq_desktop.library.library.Library`; with no subcommand it starts the
GUI (``sscq_desktop.app``, imported only then). Progress bars go to stderr when it is a
terminal; ``--json`` prints machine-readable results on stdout. Exit codes: 0 success,
1 failure (bad input file, trainer failure...), 2 usage error, 3 no usable model (none
active and the shipped default is missing or invalid), 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import threading
from collections.abc import Callable, Generator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO, TypeVar

from sscq_desktop import __version__

T = TypeVar("T")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_NO_MODEL = 3
EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (also the console script's).

    Args:
        argv: Arguments without the program name; default: ``sys.argv[1:]``.
    """
    parser = _build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
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
            print(f"sscq-desktop: {exc}. {_no_model_hint()}", file=sys.stderr)
            return EXIT_NO_MODEL
        if isinstance(exc, ArtifactError):
            print(f"sscq-desktop: invalid model: {exc}", file=sys.stderr)
            return EXIT_NO_MODEL
        print(f"sscq-desktop: {exc}", file=sys.stderr)
        return EXIT_FAILURE


def _build_parser() -> argparse.ArgumentParser:
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
    p.set_defaults(handler=_cmd_index)

    p = sub.add_parser("watch", help="keep the library up to date until Ctrl-C")
    p.add_argument("--poll", action="store_true", help="poll instead of native events")
    p.add_argument("--debounce", type=float, default=1.0, help="seconds (default 1)")
    p.set_defaults(handler=_cmd_watch)

    p = sub.add_parser("similar", help="photos similar to an image file")
    p.add_argument("image", type=Path, metavar="IMAGE")
    p.add_argument("--top", type=int, default=20, help="how many results (default 20)")
    p.add_argument("--max-distance", type=float, help="drop results farther than this")
    p.add_argument("--min-score", type=float, help="drop results scoring below (0-1)")
    p.add_argument("--folder", type=Path, action="append", help="restrict to a folder")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_similar)

    p = sub.add_parser("duplicates", help="groups of near-duplicate photos")
    p.add_argument(
        "--max-distance", type=float, help="pair threshold (default: strict)"
    )
    p.add_argument("--folder", type=Path, action="append", help="restrict to a folder")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_duplicates)

    p = sub.add_parser("status", help="library counts, models and failed files")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_status)

    p = sub.add_parser("models", help="list, import or switch models")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    m = msub.add_parser("list", help="registered models")
    m.add_argument("--json", action="store_true")
    m.set_defaults(handler=_cmd_models_list)
    m = msub.add_parser("use", help="switch to a model (re-encodes the library)")
    m.add_argument("model_id", metavar="MODEL_ID", help="a model id, or 'default'")
    m.set_defaults(handler=_cmd_models_use)
    m = msub.add_parser("import", help="validate and register a model artifact")
    m.add_argument("file", type=Path, metavar="FILE")
    m.set_defaults(handler=_cmd_models_import)

    p = sub.add_parser(
        "retrain",
        help="train a model on your photos and switch to it",
        description="Train a model on the library's indexed photos (python -m training, "
        "needs the [train] extra), register it, re-encode the library and switch to it. "
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
    p.add_argument("--no-switch", action="store_true", help="register it only")
    p.add_argument(
        "--trainer",
        nargs=argparse.REMAINDER,
        help="replace the trainer command (argument list; {image_list}, {run_dir}, "
        "{model_path}, {model_id} and {init_from} are substituted); default: "
        "python -m training train --recipe photos_cpu --image-list {image_list} ...",
    )
    p.set_defaults(handler=_cmd_retrain)

    p = sub.add_parser("doctor", help="versions, execution provider, model, paths")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_doctor)
    return parser


# --- commands -------------------------------------------------------------------------


def _cmd_index(args: argparse.Namespace) -> int:
    lib = _open(args)
    with lib:
        for folder in args.folders:
            lib.add_folder(folder)
        scan = _drive(lib.scan(), args, "scanning")
        ingest = _drive(lib.ingest(), args, "indexing")
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
        }
        if args.json:
            _print_json(result)
        else:
            print(
                f"{scan.files} files: {scan.new} new, {scan.changed} changed, "
                f"{scan.moved} moved, {scan.deleted} deleted; {ingest.done} processed, "
                f"{ingest.errors} failed (see `sscq-desktop status`)"
            )
    return EXIT_OK


def _cmd_watch(args: argparse.Namespace) -> int:
    lib = _open(args)
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


def _cmd_similar(args: argparse.Namespace) -> int:
    if args.top < 1:
        print("sscq-desktop: --top must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    from sscq_desktop.library.image_loader import ImageLoadError

    lib = _open(args)
    with lib:
        _require_model(lib)
        try:
            hits = lib.similar_to_file(
                args.image,
                k=args.top,
                max_distance=args.max_distance,
                min_score=args.min_score,
                folders=args.folder,
            )
        except ImageLoadError as exc:
            print(f"sscq-desktop: cannot read {args.image}: {exc}", file=sys.stderr)
            return EXIT_FAILURE
        if args.json:
            _print_json(
                [
                    {
                        "photo_id": h.photo_id,
                        "path": str(h.path),
                        "distance": h.distance,
                        "score": h.score,
                        "model_id": h.model_id,
                    }
                    for h in hits
                ]
            )
        else:
            for h in hits:
                print(f"{h.distance:10.4f}  {h.score:5.2f}  {h.path}")
            if not hits:
                print("no similar photos (is the library indexed?)", file=sys.stderr)
    return EXIT_OK


def _cmd_duplicates(args: argparse.Namespace) -> int:
    lib = _open(args)
    with lib:
        _require_model(lib)
        groups = _drive(
            lib.near_duplicates(max_distance=args.max_distance, folders=args.folder),
            args,
            "comparing",
        )
        if args.json:
            _print_json(
                [
                    {"paths": [str(p) for p in g.paths], "max_distance": g.max_distance}
                    for g in groups
                ]
            )
        else:
            for g in groups:
                print(f"# {len(g.paths)} photos, max distance {g.max_distance:.4f}")
                for path in g.paths:
                    print(f"  {path}")
            print(f"{len(groups)} group(s)", file=sys.stderr)
    return EXIT_OK


def _cmd_status(args: argparse.Namespace) -> int:
    lib = _open(args)
    with lib:
        stats = lib.stats()
        folders = [str(f.path) for f in lib.folders()]
        errors = [{"path": str(p), "error": e} for p, e in lib.errors(limit=20)]
        if args.json:
            _print_json({**asdict(stats), "folders": folders, "failed": errors})
            return EXIT_OK
        print(f"folders:  {len(folders)}")
        for folder in folders:
            print(f"  {folder}")
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
        for item in errors:
            print(f"  failed: {item['path']}: {item['error']}")
    return EXIT_OK


def _cmd_models_list(args: argparse.Namespace) -> int:
    lib = _open(args)
    with lib:
        active, pending = lib.active_model_id, lib.pending_model_id
        rows = [
            {
                "model_id": m.model_id,
                "source": m.source,
                "bits": m.M * max(1, (m.K - 1).bit_length()),
                "path": str(m.path),
                "active": m.model_id == active,
                "pending": m.model_id == pending,
            }
            for m in lib.models()
        ]
        if args.json:
            _print_json(rows)
        else:
            for r in rows:
                mark = "*" if r["active"] else ("~" if r["pending"] else " ")
                print(f"{mark} {r['model_id']:30} {r['source']:9} {r['bits']:3} bits")
            if not rows:
                print(f"no models registered. {_no_model_hint()}", file=sys.stderr)
    return EXIT_OK


def _cmd_models_use(args: argparse.Namespace) -> int:
    lib = _open(args)
    with lib:
        if args.model_id == "default":
            done = lib.use_default_model()
        else:
            done = lib.switch_model(args.model_id)
        if not done:
            print(
                f"re-encoding the library with {lib.pending_model_id}...",
                file=sys.stderr,
            )
            _drive(lib.ingest(), args, "re-encoding")
        print(f"active model: {lib.active_model_id}")
    return EXIT_OK


def _cmd_models_import(args: argparse.Namespace) -> int:
    lib = _open(args)
    with lib:
        record = lib.import_model(args.file)
        print(
            f"imported {record.model_id}; use it with `sscq-desktop models use {record.model_id}`"
        )
    return EXIT_OK


def _cmd_retrain(args: argparse.Namespace) -> int:
    from sscq_desktop.library.retrain import RetrainError
    from sscq_desktop.library.retrain_request import RetrainRequest, TrainerJob

    request = RetrainRequest(
        bits=args.bits,
        minutes=args.minutes,
        device=args.device,
        warm_start=not args.from_scratch,
        max_steps=args.max_steps,
    )
    command = None
    if args.trainer:
        template = list(args.trainer)

        def command(job: TrainerJob) -> list[str]:
            fields = {
                "image_list": job.image_list,
                "run_dir": job.run_dir,
                "model_path": job.model_path,
                "model_id": job.model_id,
                "init_from": job.init_from or "",
            }
            return [a.format(**fields) for a in template]

    lib = _open(args)
    with lib:
        try:
            record = _drive(
                _print_notes(
                    lib.retrain(request, command=command, switch=not args.no_switch)
                ),
                args,
                "training",
            )
        except RetrainError as exc:
            print(f"sscq-desktop: training failed: {exc}", file=sys.stderr)
            print(
                f"the active model is unchanged: {lib.active_model_id}", file=sys.stderr
            )
            return EXIT_FAILURE
        print(f"trained and registered {record.model_id}")
        if not args.no_switch and lib.pending_model_id == record.model_id:
            _drive(lib.ingest(), args, "re-encoding")
        print(f"active model: {lib.active_model_id}")
    return EXIT_OK


def _print_notes(job: Generator[Any, None, T]) -> Generator[Any, None, T]:
    """Pass a retrain's progress on, printing the library's own notes to stderr.

    The library's notes (warm start or from scratch, and why) are the snapshots that
    carry no trainer event.
    """
    while True:
        try:
            progress = next(job)
        except StopIteration as stop:
            result: T = stop.value
            return result
        if progress.event is None and progress.message:
            print(f"sscq-desktop: {progress.message}", file=sys.stderr)
        yield progress


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


def _cmd_doctor(args: argparse.Namespace) -> int:
    report, ok = _diagnose(args)
    if args.json:
        _print_json({**report, "ok": ok})
    else:
        for key, value in report.items():
            print(f"{key:22} {value}")
        print("all good" if ok else "problems found (see above)")
    return EXIT_OK if ok else EXIT_NO_MODEL


def _diagnose(args: argparse.Namespace) -> tuple[dict[str, Any], bool]:
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
        lib = _open(args)
    except Exception as exc:
        report["catalog"] = f"cannot open: {exc}"
        return report, False
    with lib:
        report["catalog"] = f"{paths.catalog_path} ({lib.catalog.integrity_check()})"
        active = lib.active_model_id
        if active is None:
            report["active model"] = f"NONE. {_no_model_hint()}"
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


# --- helpers ------------------------------------------------------------------------------


def _open(args: argparse.Namespace) -> Any:
    """Open the library (on --home, else the default folders), applying --model."""
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


def _require_model(lib: Any) -> None:
    from sscq_desktop.library.library import NoModelError

    if lib.active_model_id is None:
        raise NoModelError("no model is available")


def _no_model_hint() -> str:
    from sscq_desktop.paths import default_model_path

    path = default_model_path()
    where = "is missing" if not path.is_file() else "is not valid"
    return (
        f"The shipped default model ({path}) {where} in this installation; "
        "import a model with `sscq-desktop models import FILE` or pass --model FILE"
    )


def _drive(job: Generator[Any, None, T], args: argparse.Namespace, label: str) -> T:
    """Run a library job, drawing a progress bar on stderr when it is a terminal."""
    bar = _ProgressBar(sys.stderr, label) if _show_progress(args) else None
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


def _show_progress(args: argparse.Namespace) -> bool:
    return (
        not args.no_progress
        and not getattr(args, "json", False)
        and sys.stderr.isatty()
    )


class _ProgressBar:
    """A one-line text progress bar: ``label [####....] done/total rate ETA``."""

    def __init__(self, stream: TextIO, label: str, width: int = 30) -> None:
        self._stream = stream
        self._label = label
        self._width = width
        self._drawn = False

    def update(self, progress: Any) -> None:
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
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()


def _duration(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _print_json(value: object) -> None:
    json.dump(value, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def _start_gui() -> int:
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


if __name__ == "__main__":
    sys.exit(main())
