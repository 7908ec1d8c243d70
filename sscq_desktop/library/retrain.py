"""Run the trainer as a child process and follow its JSON-lines progress.

The trainer (``python -m training train ...``, built by
`sscq_desktop.library.retrain_request.trainer_command`) gets an argument list, never a
shell string. It prints one JSON object per line on stdout; this module reads them on a
helper thread (so cancellation is honoured even while the trainer is silent), turns
them into `Progress` that carry the raw event (`Progress.event`), and returns the
artifact path when the trainer exits cleanly. stderr goes to a log file. On failure or
cancel it raises `RetrainError`; it never touches the catalog, so the active model
stays as it was.

Protocol (tolerant; see ``training/progress.py``): every key is optional; recognised are
``event`` (``start``, ``step``, ``epoch_end``, ``eval``, ``checkpoint``, ``done``,
``error``, ``progress``), ``step``/``total_steps`` (or ``steps``), ``epoch``/``epochs``,
``losses`` (or ``loss``: a number or ``{name: number}``), ``eta_s``, ``message`` and, on
``done``, ``artifact`` or ``export.artifact``. Unknown events still become `Progress`;
lines that are not JSON objects are logged and skipped.
"""

from __future__ import annotations

import json
import logging
import queue
import subprocess
import threading
from collections.abc import Generator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any

from sscq_desktop.library.progress import Progress, is_cancelled

logger = logging.getLogger(__name__)

KNOWN_EVENTS = frozenset(
    {"start", "step", "epoch_end", "eval", "checkpoint", "done", "error", "progress"}
)
"""Event kinds the trainer writes (others are passed on, and logged at debug level)."""

_TERMINATE_GRACE_S = 5.0
_POLL_S = 0.1


class RetrainError(RuntimeError):
    """The trainer failed, was cancelled, or produced no model."""


def parse_progress_line(line: str) -> dict[str, Any] | None:
    """Parse one line of trainer output; None if it is not a JSON object."""
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def event_kind(event: Mapping[str, Any]) -> str:
    """The event's kind (``event`` or ``type`` key); ``progress`` when it has none."""
    kind = event.get("event", event.get("type", "progress"))
    return kind if isinstance(kind, str) else "progress"


def event_artifact(event: Mapping[str, Any]) -> Path | None:
    """The model a ``done`` event names: ``artifact``, else ``export.artifact``."""
    artifact = event.get("artifact")
    export = event.get("export")
    if not isinstance(artifact, str) and isinstance(export, Mapping):
        artifact = export.get("artifact")
    return Path(artifact) if isinstance(artifact, str) and artifact else None


def event_to_progress(
    event: Mapping[str, Any], previous: Progress | None = None
) -> Progress:
    """Turn a trainer event into a `Progress` (phase ``retrain``) that carries it.

    Args:
        event: One parsed JSON line.
        previous: The snapshot before it: events without a position (``epoch_end``,
            ``checkpoint``...) keep its ``done``/``total`` instead of resetting them.

    Returns:
        The snapshot; `Progress.event` is a read-only copy of `event`.
    """
    kind = event_kind(event)
    step = _int(event.get("step"))
    steps = _int(event.get("total_steps") or event.get("steps"))
    epoch, epochs = _int(event.get("epoch")), _int(event.get("epochs"))
    if steps:
        done, total = step, steps
    elif epochs:
        done, total = epoch, epochs
    elif previous is not None:
        done, total = max(previous.done, step), previous.total
    else:
        done, total = step, 0
    if kind == "done" and total:
        done = total
    parts = []
    if steps and kind == "step":
        parts.append(f"step {done}/{total}")
    if epochs:
        parts.append(f"epoch {epoch}/{epochs}")
    loss = event.get("losses", event.get("loss"))
    if isinstance(loss, int | float) and not isinstance(loss, bool):
        parts.append(f"loss {loss:.4g}")
    elif isinstance(loss, Mapping):
        parts += [
            f"{k} {v:.4g}"
            for k, v in loss.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        ]
    if kind == "start" and isinstance(event.get("data"), str):
        parts.append(f"training on {event['data']}")
    if isinstance(event.get("message"), str):
        parts.append(event["message"])
    eta = event.get("eta_s")
    return Progress(
        phase="retrain",
        done=done,
        total=total,
        eta_s=float(eta)
        if isinstance(eta, int | float) and not isinstance(eta, bool)
        else None,
        message=", ".join(parts),
        event=MappingProxyType(dict(event)),
    )


def run_trainer(
    argv: Sequence[str],
    *,
    output: Path,
    cancel: threading.Event | None = None,
    log_path: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Generator[Progress, None, Path]:
    """Run the trainer to completion.

    Args:
        argv: The trainer's argument list (see `trainer_command`).
        output: Where the trainer was told to write the model artifact.
        cancel: Terminates the trainer when set.
        log_path: Receives the trainer's stderr; default: discarded.
        env: Environment of the child; default: inherited.

    Yields:
        `Progress` for each JSON line, carrying the event.

    Returns:
        The artifact path (that of the ``done`` event, else `output`).

    Raises:
        ValueError: if `argv` is not a non-empty list of strings.
        RetrainError: on a non-zero exit, an ``error`` event, a cancel, or no output file.
    """
    argv = list(argv)
    if not argv or not all(isinstance(a, str) for a in argv):
        raise ValueError(
            f"the trainer command must be a non-empty list of strings, got {argv!r}"
        )
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
    stderr: IO[bytes] | int = (
        log_path.open("wb") if log_path is not None else subprocess.DEVNULL
    )
    logger.info("starting the trainer: %s", argv)
    try:
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            env=None if env is None else dict(env),
        )
    except OSError as exc:
        if not isinstance(stderr, int):
            stderr.close()
        raise RetrainError(f"cannot start the trainer: {exc}") from exc
    lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
    reader = threading.Thread(
        target=_pump, args=(proc.stdout, lines), daemon=True, name="sscq-trainer-out"
    )
    reader.start()
    artifact: Path | None = None
    error: str | None = None
    last: Progress | None = None
    try:
        eof = False
        while not eof:
            if is_cancelled(cancel):
                _stop(proc)
                raise RetrainError("training was cancelled")
            try:
                line = lines.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            if line is None:
                eof = True
                continue
            event = parse_progress_line(line)
            if event is None:
                if line.strip():
                    logger.info("trainer: %s", line.rstrip())
                continue
            kind = event_kind(event)
            if kind not in KNOWN_EVENTS:
                logger.debug("unrecognised trainer event %r: %s", kind, event)
            if kind == "error":
                error = str(event.get("message", "the trainer reported an error"))
            elif kind == "done":
                artifact = event_artifact(event)
            last = event_to_progress(event, last)
            yield last
        while proc.poll() is None:
            if is_cancelled(cancel):
                _stop(proc)
                raise RetrainError("training was cancelled")
            try:
                proc.wait(timeout=_POLL_S)
            except subprocess.TimeoutExpired:
                continue
    finally:
        if proc.poll() is None:
            _stop(proc)
        if not isinstance(stderr, int):
            stderr.close()
    if proc.returncode != 0 or error is not None:
        tail = _tail(log_path)
        reason = error or f"the trainer exited with code {proc.returncode}"
        raise RetrainError(f"{reason}{': ' + tail if tail else ''}")
    result = artifact or output
    if not result.is_file():
        raise RetrainError(f"the trainer finished but wrote no model at {result}")
    return result


def _pump(stream: IO[bytes] | None, lines: queue.SimpleQueue[str | None]) -> None:
    if stream is None:
        lines.put(None)
        return
    with stream:
        for raw in iter(stream.readline, b""):
            lines.put(raw.decode("utf-8", errors="replace"))
    lines.put(None)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate, then kill after a grace period."""
    proc.terminate()
    try:
        proc.wait(timeout=_TERMINATE_GRACE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _tail(log_path: Path | None, *, lines: int = 5) -> str:
    if log_path is None or not log_path.is_file():
        return ""
    text = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return " | ".join(text[-lines:])


def _int(value: object) -> int:
    return (
        int(value)
        if isinstance(value, int | float) and not isinstance(value, bool)
        else 0
    )
