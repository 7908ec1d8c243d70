"""Run the trainer as a child process and follow its events.

The trainer (``python -m training train ...``, built by
`sscq_desktop.library.retrain.retrain_request.trainer_command`) gets an argument list, never a
shell string. It prints one event a line on stdout (`sscq_desktop.model.trainer_events`
describes the protocol); this module reads them on a helper thread (so cancellation is
honoured even while the trainer is silent), turns each into a `Progress` that carries
it (`Progress.event`), and returns the artifact path when the trainer exits cleanly.
stderr goes to a log file. On failure or cancel it raises `RetrainError`; it never
touches the catalog, so the active model stays as it was.
"""

from __future__ import annotations

import logging
import queue
import subprocess
import threading
from collections.abc import Generator, Mapping, Sequence
from pathlib import Path
from typing import IO

from sscq_desktop.library.progress import Progress, is_cancelled
from sscq_desktop.model.trainer_events import (
    CheckpointEvent,
    DoneEvent,
    EpochEndEvent,
    ErrorEvent,
    EvalEvent,
    SearchCodesEvent,
    StartEvent,
    StepEvent,
    TrainerEvent,
    parse_line,
)

logger = logging.getLogger(__name__)

_TERMINATE_GRACE_S = 5.0
_POLL_S = 0.1


class RetrainError(RuntimeError):
    """The trainer failed, was cancelled, or produced no model."""


def event_progress(event: TrainerEvent, previous: Progress | None = None) -> Progress:
    """Turn a trainer event into a `Progress` (phase ``retrain``) that carries it.

    Steps are the unit: ``done``/``total`` come from the events that say where the run
    is (start, step, done); the others keep those of `previous`.

    Args:
        event: One event of the trainer.
        previous: The snapshot before it.

    Returns:
        The snapshot, with a short message and `Progress.event` set to `event`.
    """
    done, total = (previous.done, previous.total) if previous else (0, 0)
    eta_s: float | None = None
    parts: list[str] = []
    match event:
        case StartEvent():
            done, total = event.step, event.total_steps
            if event.data:
                parts.append(f"training on {event.data}")
        case StepEvent():
            done, total, eta_s = event.step, event.total_steps, event.eta_s
            parts.append(f"step {done}/{total}")
            parts += _losses(event.losses)
        case EpochEndEvent():
            done = max(done, event.step)
            parts += _losses(event.losses)
        case EvalEvent() | CheckpointEvent():
            done = max(done, event.step)
        case SearchCodesEvent():
            done = max(done, event.step)
            if event.codes == "opq":
                parts.append(f"search codes fitted on {event.images} photos")
        case DoneEvent():
            done = total = max(total, event.steps)
        case ErrorEvent():
            parts.append(event.message)
    return Progress(
        phase="retrain",
        done=done,
        total=total,
        eta_s=eta_s,
        message=", ".join(parts),
        event=event,
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
        A `Progress` for each event (see `event_progress`).

    Returns:
        The artifact path: the one the ``done`` event names, else `output` (a run
        without ``--export`` names none).

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
            event = parse_line(line)  # None: logged and skipped
            if event is None:
                continue
            if isinstance(event, ErrorEvent):
                error = event.message
            elif isinstance(event, DoneEvent):
                artifact = event.artifact
            last = event_progress(event, last)
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


def _losses(losses: Mapping[str, float | None]) -> list[str]:
    return [f"{k} {v:.4g}" for k, v in losses.items() if v is not None]
