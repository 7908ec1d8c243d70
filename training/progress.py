"""Progress reporting: the trainer's events as JSON lines for the app, or a line on a TTY.

The events and their JSON form are `sscq_desktop.model.trainer_events` (the protocol's
one description); this module only writes them. Only rank 0 of a distributed run reports.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import replace
from typing import Any, Literal, TextIO

from sscq_desktop.model.trainer_events import (
    StepEvent,
    TrainerEvent,
    from_fields,
    to_fields,
    to_json_line,
)

ProgressMode = Literal["auto", "json", "bar"]


class ProgressReporter:
    """Write trainer events to a stream.

    Args:
        mode: ``json`` (the protocol, for the app), ``bar`` (one refreshed line), or
            ``auto`` (``bar`` when the stream is a terminal, else ``json``).
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
        """Write one event given as its kind and fields (see `report`).

        Raises:
            TrainerEventError: if the fields do not make an event of that kind.
        """
        self.report(from_fields({"event": event, **fields}))

    def report(self, event: TrainerEvent) -> None:
        """Write one event, stamped with the current time when it has none."""
        if not self.enabled:
            return
        if event.time is None:
            event = _stamped(event)
        if self.mode == "json":
            self.stream.write(to_json_line(event) + "\n")
        else:
            self._write_bar(event)
        self.stream.flush()

    def _write_bar(self, event: TrainerEvent) -> None:
        if isinstance(event, StepEvent):
            losses = " ".join(
                f"{k}={v:.3f}" for k, v in event.losses.items() if v is not None
            )
            eta_s = event.eta_s
            eta = int(eta_s) if eta_s is not None and math.isfinite(eta_s) else 0
            line = (
                f"\rstep {event.step}/{event.total_steps} ep {event.epoch} "
                f"| {losses} | lr {event.lr or 0.0:.2e} "
                f"| {event.images_per_s or 0.0:.0f} img/s "
                f"| eta {eta // 60}:{eta % 60:02d}   "
            )
            self.stream.write(line)
            self._bar_open = True
            return
        if self._bar_open:
            self.stream.write("\n")
            self._bar_open = False
        details = {
            k: v
            for k, v in to_fields(event).items()
            if k not in ("event", "time", "config")
        }
        self.stream.write(f"[{event.kind}] {json.dumps(details)}\n")


def _stamped(event: TrainerEvent) -> TrainerEvent:
    return replace(event, time=round(time.time(), 3))
