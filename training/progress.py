"""Progress reporting: JSON lines on stdout for the GUI, or a human-readable line on a TTY.

One JSON object per line, ``{"event": ...}`` with events ``start``, ``step``,
``epoch_end``, ``eval``, ``checkpoint``, ``done`` and ``error``. The ``step`` event
carries ``step, epoch, total_steps, losses, lr, images_per_s, eta_s, codeword_usage``.
Only rank 0 of a distributed run reports.
"""

from __future__ import annotations

import json
import math
import sys
import time
from typing import Any, Literal, TextIO

ProgressMode = Literal["auto", "json", "bar"]


class ProgressReporter:
    """Write progress events to a stream.

    Args:
        mode: ``json`` (machine-readable), ``bar`` (one refreshed line), or ``auto``
            (``bar`` when the stream is a terminal, else ``json``).
        stream: Where to write (stdout by default).
        enabled: False on non-zero ranks: nothing is written.
    """

    def __init__(
        self,
        mode: ProgressMode = "auto",
        *,
        stream: TextIO | None = None,
        enabled: bool = True,
    ) -> None:
        if mode not in ("auto", "json", "bar"):
            raise ValueError(f"progress mode must be auto, json or bar, got {mode!r}")
        self.stream = stream if stream is not None else sys.stdout
        is_tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.mode: ProgressMode = (
            ("bar" if is_tty else "json") if mode == "auto" else mode
        )
        self.enabled = enabled
        self._bar_open = False

    def emit(self, event: str, **fields: Any) -> None:
        """Write one event (``time`` is added, non-finite floats become null)."""
        if not self.enabled:
            return
        record = {"event": event, "time": round(time.time(), 3), **fields}
        if self.mode == "json":
            self.stream.write(json.dumps(_finite(record), allow_nan=False) + "\n")
        else:
            self._write_bar(event, record)
        self.stream.flush()

    def _write_bar(self, event: str, record: dict[str, Any]) -> None:
        if event == "step":
            losses = " ".join(
                f"{k}={v:.3f}" for k, v in record.get("losses", {}).items()
            )
            eta = int(record.get("eta_s") or 0)
            line = (
                f"\rstep {record['step']}/{record['total_steps']} ep {record['epoch']} "
                f"| {losses} | lr {record['lr']:.2e} | {record['images_per_s']:.0f} img/s "
                f"| eta {eta // 60}:{eta % 60:02d}   "
            )
            self.stream.write(line)
            self._bar_open = True
            return
        if self._bar_open:
            self.stream.write("\n")
            self._bar_open = False
        details = {
            k: v for k, v in record.items() if k not in ("event", "time", "config")
        }
        self.stream.write(f"[{event}] {json.dumps(_finite(details))}\n")


def _finite(value: Any) -> Any:
    """Replace NaN/inf by None, recursively (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
