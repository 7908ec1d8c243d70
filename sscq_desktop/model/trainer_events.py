"""The trainer's progress protocol: one `TrainerEvent` type that training writes and the app reads.

``python -m training train --progress json`` prints one JSON object per line on stdout:
``{"event": KIND, ...fields, "time": UNIX_S}``. The kinds and their fields are the
dataclasses below (one per kind; ``time`` is optional on every one), and this module
is the protocol's only description: `training.progress.ProgressReporter` writes lines
with `to_json_line`, `sscq_desktop.library.retrain.trainer_process` reads them with `parse_line`.

Reading is strict: a line is one known kind with exactly its fields, of their types.
Anything else (a stray print of the child, an unknown kind, a missing, extra or
mistyped field) is logged and skipped, never guessed at. Non-finite floats are written
as ``null`` (JSON has no NaN), so the float fields that can be non-finite accept null.
Standard library only: `training` imports it, and it knows nothing of torch or the app.
"""

from __future__ import annotations

import json
import logging
import math
import types
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, Union, get_args, get_origin, get_type_hints

logger = logging.getLogger(__name__)


class TrainerEventError(ValueError):
    """A trainer event of an unknown kind, or whose fields do not match its kind."""


@dataclass(frozen=True, kw_only=True)
class StartEvent:
    """Training begins, or resumes from a checkpoint.

    Attributes:
        total_steps: Steps the run plans (a time budget may re-size it: each
            `StepEvent` carries the current plan).
        step: Steps already done (non-zero when resumed).
        n_images: Images it trains on.
        data: What it trains on, in words.
        device: The torch device, e.g. ``cpu`` or ``cuda``.
        world_size: Processes of a distributed run.
        code_version: The training code's version (git SHA).
        resumed: Whether it resumed from a checkpoint.
        config: The resolved training configuration.
        time: Unix time of the report; None when the writer gave none.
    """

    kind: ClassVar[str] = "start"
    total_steps: int
    step: int = 0
    n_images: int = 0
    data: str = ""
    device: str = ""
    world_size: int = 1
    code_version: str = ""
    resumed: bool = False
    config: Mapping[str, Any] = field(default_factory=dict)
    time: float | None = None


@dataclass(frozen=True, kw_only=True)
class StepEvent:
    """A training step was taken (reported for a run's first steps, then periodically).

    Sent for each of a run's first ``run.log_every_steps`` steps (so a live plot starts at
    once), then every ``run.log_every_steps`` steps, and for the last.

    Attributes:
        step: Steps done so far.
        total_steps: Steps the run plans now.
        epoch: The epoch (0-based).
        losses: The loss terms by name (``total`` and the parts); null if non-finite.
        lr: The learning rate.
        images_per_s: Throughput since the previous step report.
        eta_s: Estimated seconds left.
        codeword_usage: Per codebook, the fraction of codewords the batch used.
        time: Unix time of the report; None when the writer gave none.
    """

    kind: ClassVar[str] = "step"
    step: int
    total_steps: int
    epoch: int = 0
    losses: Mapping[str, float | None] = field(default_factory=dict)
    lr: float | None = None
    images_per_s: float | None = None
    eta_s: float | None = None
    codeword_usage: Sequence[float] = ()
    time: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "codeword_usage", tuple(self.codeword_usage))


@dataclass(frozen=True, kw_only=True)
class EpochEndEvent:
    """An epoch ended.

    Attributes:
        epoch: The epoch that ended (0-based).
        step: Steps done so far.
        losses: The last reported loss terms.
        time: Unix time of the report; None when the writer gave none.
    """

    kind: ClassVar[str] = "epoch_end"
    epoch: int
    step: int
    losses: Mapping[str, float | None] = field(default_factory=dict)
    time: float | None = None


@dataclass(frozen=True, kw_only=True)
class EvalEvent:
    """An evaluation on labeled query sets (runs with no labels never send one).

    On the wire the metrics are top-level fields beside ``step`` and ``epoch``
    (``map``, ``precision``, ``corpora``...), as ``metrics.jsonl`` holds them.

    Attributes:
        step: Steps done so far.
        epoch: The epoch (0-based).
        metrics: The evaluation's figures by name.
        time: Unix time of the report; None when the writer gave none.

    Raises:
        TrainerEventError: if a metric is named like a field of the line.
    """

    kind: ClassVar[str] = "eval"
    step: int
    epoch: int
    metrics: Mapping[str, Any] = field(default_factory=dict)
    time: float | None = None

    def __post_init__(self) -> None:
        clash = sorted(set(self.metrics) & {"event", "step", "epoch", "time"})
        if clash:
            raise TrainerEventError(f"an eval event's metrics cannot be named {clash}")


@dataclass(frozen=True, kw_only=True)
class CheckpointEvent:
    """A checkpoint was written.

    Attributes:
        path: The checkpoint file.
        step: Steps done so far.
        time: Unix time of the report; None when the writer gave none.
    """

    kind: ClassVar[str] = "checkpoint"
    path: str
    step: int
    time: float | None = None


@dataclass(frozen=True, kw_only=True)
class SearchCodesEvent:
    """The schedule is over and the codes the model exports were fitted to it.

    Attributes:
        step: Steps done.
        codes: ``"opq"`` (normalised embedding, rotation, fitted codebooks) or
            ``"learned"`` (the codebooks trained with the network).
        images: Training photos the fit used (0 for ``"learned"``).
        seconds: How long the fit took.
        codewords_used: Codewords the fitted codes use, e.g. ``"128 of 128"``.
        reason: Why the learned codebooks were kept, when the recipe asked for a fit.
        time: Unix time of the report; None when the writer gave none.
    """

    kind: ClassVar[str] = "search_codes"
    step: int
    codes: str
    images: int = 0
    seconds: float = 0.0
    codewords_used: str = ""
    reason: str = ""
    time: float | None = None


@dataclass(frozen=True, kw_only=True)
class DoneEvent:
    """Training finished (and the model was exported, when asked).

    Attributes:
        steps: Steps done.
        out_dir: The run folder (checkpoints, metrics).
        elapsed_s: Training time, seconds.
        last_eval: The last evaluation's record, if any.
        best_map: The best evaluated mAP, if any.
        export: The export's summary when ``--export`` was given: ``artifact`` (the
            model file; required), ``model_id``, ``bits`` and ``parity``.
        time: Unix time of the report; None when the writer gave none.

    Raises:
        TrainerEventError: if `export` names no artifact.
    """

    kind: ClassVar[str] = "done"
    steps: int = 0
    out_dir: str = ""
    elapsed_s: float | None = None
    last_eval: Mapping[str, Any] | None = None
    best_map: float | None = None
    export: Mapping[str, Any] | None = None
    time: float | None = None

    def __post_init__(self) -> None:
        if self.export is not None and not (
            isinstance(self.export.get("artifact"), str) and self.export["artifact"]
        ):
            raise TrainerEventError(
                f"a done event's export must name its artifact, got {self.export!r}"
            )

    @property
    def artifact(self) -> Path | None:
        """The exported model file; None when the run exported nothing."""
        return None if self.export is None else Path(self.export["artifact"])


@dataclass(frozen=True, kw_only=True)
class ErrorEvent:
    """Training failed; the process exits with a non-zero code after it.

    Attributes:
        message: What went wrong, e.g. ``"RuntimeError: CUDA out of memory"``.
        time: Unix time of the report; None when the writer gave none.
    """

    kind: ClassVar[str] = "error"
    message: str
    time: float | None = None


TrainerEvent = (
    StartEvent
    | StepEvent
    | EpochEndEvent
    | EvalEvent
    | CheckpointEvent
    | SearchCodesEvent
    | DoneEvent
    | ErrorEvent
)
"""One line of the protocol."""

EVENT_TYPES: Mapping[str, type[TrainerEvent]] = types.MappingProxyType(
    {
        cls.kind: cls
        for cls in (
            StartEvent,
            StepEvent,
            EpochEndEvent,
            EvalEvent,
            CheckpointEvent,
            SearchCodesEvent,
            DoneEvent,
            ErrorEvent,
        )
    }
)
"""The event classes by kind (the ``event`` field of a line)."""

_FIELD_TYPES: Mapping[str, Mapping[str, Any]] = {
    kind: {f.name: get_type_hints(cls)[f.name] for f in fields(cls)}
    for kind, cls in EVENT_TYPES.items()
}


def to_fields(event: TrainerEvent) -> dict[str, Any]:
    """The JSON object of an event: ``{"event": kind, ...fields}``.

    ``time`` is left out when None; `EvalEvent`'s metrics become top-level fields;
    non-finite floats become None, at any depth.
    """
    record: dict[str, Any] = {"event": event.kind}
    for f in fields(event):
        value = getattr(event, f.name)
        if isinstance(event, EvalEvent) and f.name == "metrics":
            record.update(value)
        elif not (f.name == "time" and value is None):
            record[f.name] = value
    return {k: _finite(v) for k, v in record.items()}


def to_json_line(event: TrainerEvent) -> str:
    """One line of the protocol (no line break): the JSON text of `to_fields`."""
    return json.dumps(to_fields(event), allow_nan=False)


def from_fields(record: Mapping[str, Any]) -> TrainerEvent:
    """Build the event a JSON object describes.

    Args:
        record: ``{"event": kind, ...fields}``.

    Returns:
        The event.

    Raises:
        TrainerEventError: if the kind is unknown, or a field is missing, unknown (an
            `EvalEvent` takes any extra field as a metric) or of the wrong type.
    """
    kind = record.get("event")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise TrainerEventError(f"unknown trainer event kind {kind!r}")
    hints = _FIELD_TYPES[cls.kind]
    values = {k: v for k, v in record.items() if k != "event"}
    if cls is EvalEvent:
        known = {"step", "epoch", "time"}
        values = {k: v for k, v in values.items() if k in known} | {
            "metrics": {k: v for k, v in values.items() if k not in known}
        }
    unknown = sorted(set(values) - set(hints))
    if unknown:
        raise TrainerEventError(f"{kind} event: unknown fields {unknown}")
    missing = [
        f.name
        for f in fields(cls)
        if f.name not in values
        and f.default is MISSING
        and f.default_factory is MISSING
    ]
    if missing:
        raise TrainerEventError(f"{kind} event: missing fields {missing}")
    for name, value in values.items():
        if not _conforms(value, hints[name]):
            raise TrainerEventError(
                f"{kind} event: {name} must be {_describe(hints[name])}, got {value!r}"
            )
    return cls(**values)


def parse_line(line: str) -> TrainerEvent | None:
    """Read one line of the trainer's stdout.

    Args:
        line: The line, with or without its line break.

    Returns:
        The event, or None for a line that is not one (blank, a stray print, an
        unknown kind, a malformed event); all but blank lines are logged.
    """
    text = line.strip()
    if not text:
        return None
    try:
        record = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested absurdly deep
        record = None
    if not isinstance(record, dict):
        logger.info("trainer: %s", text)
        return None
    try:
        return from_fields(record)
    except TrainerEventError as exc:
        logger.warning("skipped a trainer event: %s: %s", exc, text[:500])
        return None


def _conforms(value: object, hint: Any) -> bool:
    """Whether a JSON value fits a field's type (bool is not a number here)."""
    origin = get_origin(hint)
    if hint is Any:
        return True
    if origin in (Union, types.UnionType):
        return any(_conforms(value, h) for h in get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin is Sequence:
        (item,) = get_args(hint)
        return isinstance(value, list | tuple) and all(
            _conforms(v, item) for v in value
        )
    if origin is Mapping:
        _key, item = get_args(hint)
        return isinstance(value, dict) and all(
            isinstance(k, str) and _conforms(v, item) for k, v in value.items()
        )
    raise TypeError(f"no check for the field type {hint!r}")  # a bug in this module


def _describe(hint: Any) -> str:
    if isinstance(hint, type):
        return hint.__name__
    return str(hint).replace("typing.", "").replace("collections.abc.", "")


def _finite(value: Any) -> Any:
    """Replace NaN/inf by None, recursively (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
