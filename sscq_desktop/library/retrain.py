"""Run the trainer as a child process and follow its JSON-lines progress.

The trainer (``python -m training train ...``) gets an argument list, never a shell
string. It prints one JSON object per line on stdout; this module reads them on a
helper thread (so cancellation is honoured even while the trainer is silent), turns
them into `Progress`, and returns the artifact path when the trainer exits cleanly.
stderr goes to a log file. On failure or cancel it raises `RetrainError`; it never
touches the catalog, so the active model stays as it was.

Protocol (tolerant): every key is optional; recognised are ``event`` (``progress``,
``done``, ``error``), ``epoch``/``epochs``, ``step``/``steps`` (or ``total_steps``),
``loss`` (number or ``{name: number}``), ``eta_s``, ``message`` and ``artifact``.
"""

from __future__ import annotations

import json
import logging
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from typing import IO, Any

from sscq_desktop.library.progress import Progress, is_cancelled

logger = logging.getLogger(__name__)

TrainerCommand = Callable[[Path, Path], Sequence[str]]
"""Builds the trainer's argument list from (image list file, output artifact path)."""

_TERMINATE_GRACE_S = 5.0
_POLL_S = 0.1


class RetrainError(RuntimeError):
    """The trainer failed, was cancelled, or produced no model."""


def default_trainer_command(images: Path, output: Path) -> list[str]:
    """``python -m training train --images LIST --output FILE`` with this interpreter."""
    return [
        sys.executable,
        "-m",
        "training",
        "train",
        "--images",
        str(images),
        "--output",
        str(output),
    ]


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


def event_to_progress(event: dict[str, Any]) -> Progress:
    """Turn a trainer event into a `Progress` (phase ``retrain``)."""
    step, steps = (
        _int(event.get("step")),
        _int(event.get("steps") or event.get("total_steps")),
    )
    epoch, epochs = _int(event.get("epoch")), _int(event.get("epochs"))
    done, total = (step, steps) if steps else (epoch, epochs)
    parts = []
    if epochs:
        parts.append(f"epoch {epoch}/{epochs}")
    loss = event.get("loss", event.get("losses"))
    if isinstance(loss, int | float):
        parts.append(f"loss {loss:.4g}")
    elif isinstance(loss, dict):
        parts += [f"{k} {v:.4g}" for k, v in loss.items() if isinstance(v, int | float)]
    if isinstance(event.get("message"), str):
        parts.append(event["message"])
    eta = event.get("eta_s")
    return Progress(
        phase="retrain",
        done=done,
        total=total,
        eta_s=float(eta) if isinstance(eta, int | float) else None,
        message=", ".join(parts),
    )


def run_trainer(
    images: Path,
    output: Path,
    *,
    command: TrainerCommand | None = None,
    cancel: threading.Event | None = None,
    log_path: Path | None = None,
    env: dict[str, str] | None = None,
) -> Generator[Progress, None, Path]:
    """Run the trainer to completion.

    Args:
        images: File listing the training images, one path per line.
        output: Where the trainer must write the model artifact.
        command: Argument-list builder; default `default_trainer_command`.
        cancel: Terminates the trainer when set.
        log_path: Receives the trainer's stderr; default: discarded.
        env: Environment of the child; default: inherited.

    Yields:
        `Progress` for each progress line.

    Returns:
        The artifact path (``artifact`` of a ``done`` event, else `output`).

    Raises:
        RetrainError: on a non-zero exit, an ``error`` event, a cancel, or no output file.
    """
    argv = list((command or default_trainer_command)(images, output))
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
            env=env,
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
                logger.debug("trainer: %s", line.rstrip())
                continue
            kind = event.get("event", event.get("type", "progress"))
            if kind == "error":
                error = str(event.get("message", "the trainer reported an error"))
            elif kind == "done" and isinstance(event.get("artifact"), str):
                artifact = Path(event["artifact"])
            yield event_to_progress(event)
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
