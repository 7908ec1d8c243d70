"""`Retrainer`: "Retrain on my photos" from the library's side.

Lists the library's indexed, readable photos, chooses between a warm start (the active
model's companion checkpoint, same code length) and training from scratch, lays out the
run's files, builds the trainer's argument list from a `RetrainRequest`
(`trainer_command`, the one place that does), runs it (`run_trainer`) and registers
the exported model once (`ModelManager.import_model` validates and probes it; the
check and the switch reuse that). Layout: the run folder is ``<data dir>/runs/<model id>/`` (image
list, checkpoints, metrics) and the model ``<models dir>/<model id>.onnx`` with its
companion ``.pt``. On failure or cancel nothing is registered, the active model is
untouched and the run's files are removed.

A sample of the photos is held out of training (`check_photo_count` of them, chosen by
`hold_out`); once the new model is registered, `compare_models` scores it and the active
model on that sample (decoded by the library's `Renderer`, with ingest's safety), and
the library switches only to a model that is measurably better (`ModelCheck.better`).
A model that is not, or whose check is cancelled, stays registered: the user can still
switch to it by hand.
"""

from __future__ import annotations

import hashlib
import logging
import math
import shutil
import threading
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from PIL import Image

from sscq_desktop.library.catalog.thread_readers import ThreadReaders
from sscq_desktop.library.images.image_loader import ImageLoadError
from sscq_desktop.library.images.renderer import Renderer
from sscq_desktop.library.models.model_manager import ModelManager
from sscq_desktop.library.progress import Progress
from sscq_desktop.library.records import ModelRecord, PhotoRecord
from sscq_desktop.library.retrain.model_check import (
    MIN_CHECKED_LIBRARY,
    ModelCheck,
    check_photo_count,
    compare_models,
    no_check,
)
from sscq_desktop.library.retrain.quality_estimate import WORKING_SIDE
from sscq_desktop.library.retrain.retrain_request import (
    MIN_PHOTOS,
    NBITS,
    RetrainRequest,
    TrainerJob,
    trainer_command,
)
from sscq_desktop.library.retrain.trainer_process import RetrainError, run_trainer
from sscq_desktop.paths import AppPaths

logger = logging.getLogger(__name__)

T = TypeVar("T")

TrainerCommand = Callable[[TrainerJob], Sequence[str]]
"""Builds the trainer's argument list for a job; default `trainer_command`."""

RUNS_DIRNAME = "runs"
"""Folder of the data dir holding one run folder per retrain."""
CHECK_SAMPLE_SEED = 2026
"""Seed of the held-out photo sample (`hold_out`: the same photos give the same sample)."""


@dataclass(frozen=True)
class RetrainOutcome:
    """What a retrain produced: the registered model, its check, and whether it is in use.

    ``switched`` is True when the library started switching to the new model (it was
    asked to and the check found the model better). Asked not to switch (the GUI, which
    switches as one of its writes), ``check.better`` is the library's decision.
    ``previous_model_id`` is the model in use when the new one was checked (None: there
    was none, and the new model is better by default).
    """

    record: ModelRecord
    check: ModelCheck
    switched: bool
    previous_model_id: str | None = None


class Retrainer:
    """Runs retrains of one library.

    Args:
        readers: Per-thread catalog readers (the photo list).
        models: The library's models (warm start, registration, switch).
        paths: The app's folders.
        renderer: Decodes the held-out photos for the check (`Renderer.render`: pixel
            cap, in a worker process killed past its timeout).
    """

    def __init__(
        self,
        readers: ThreadReaders,
        models: ModelManager,
        paths: AppPaths,
        renderer: Renderer,
    ) -> None:
        self._readers = readers
        self._models = models
        self._paths = paths
        self._renderer = renderer

    @property
    def runs_dir(self) -> Path:
        """Where run folders go."""
        return self._paths.data_dir / RUNS_DIRNAME

    def retrain(
        self,
        request: RetrainRequest,
        *,
        command: TrainerCommand | None = None,
        cancel: threading.Event | None = None,
        switch: bool = True,
    ) -> Generator[Progress, None, RetrainOutcome]:
        """Train a model on the library's photos in a child process, register and check it.

        Args:
            request: Code length, time budget, device, warm start, step cap.
            command: Builds the argument list from the job; default `trainer_command`
                (tests wrap it or pass a fake trainer).
            cancel: Stops the trainer, or the check of the new model (the active model
                is untouched; a model already registered stays registered).
            switch: Start switching to the new model once it is registered, if the
                check finds it better than the active model.

        Yields:
            Two first `Progress` notes: how it trains (warm start or from scratch and
            why), and how many photos it holds out to check the new model (or that the
            library is too small for the check); then one per trainer event
            (`Progress.event` carries it), then a note that the new model is being
            checked (at the trainer's last position).

        Returns:
            The registered model, the check's figures and decision, and whether the
            switch started.

        Raises:
            RetrainError: if the library has too few photos, or the trainer fails, or
                it or the check is cancelled.
            ArtifactError: if the trainer produced an invalid model.
        """
        if not isinstance(request, RetrainRequest):
            raise TypeError(f"expected a RetrainRequest, got {request!r}")
        photos, held_out, n_listed = self._photos(request.max_photos)
        if len(photos) < MIN_PHOTOS:
            raise RetrainError(
                f"retraining needs at least {MIN_PHOTOS} indexed photos; "
                f"the library has {len(photos)}"
            )
        model_id = self._new_model_id(request)
        run_dir = self.runs_dir / model_id
        model_path = self._paths.models_dir / f"{model_id}.onnx"
        init_from, how = self._warm_start(request)
        job = TrainerJob(
            request=request,
            image_list=run_dir / "images.txt",
            n_images=len(photos),
            run_dir=run_dir,
            model_path=model_path,
            model_id=model_id,
            init_from=init_from,
            cache_dir=self._paths.cache_dir / "training",
        )
        logger.info(
            "retrain %s on %d photos (%d held out to check it): %s",
            model_id, len(photos), len(held_out), how,
        )  # fmt: skip
        try:
            run_dir.mkdir(mode=0o700, parents=True, exist_ok=False)
            _write_image_list(job.image_list, photos)
            yield Progress(phase="retrain", done=0, total=0, message=how)
            yield Progress(
                phase="retrain", done=0, total=0,
                message=self._check_note(n_listed, len(held_out)),
            )  # fmt: skip
            argv = list((command or trainer_command)(job))
            last: list[Progress] = []
            produced = yield from _remembering(
                run_trainer(
                    argv,
                    output=model_path,
                    cancel=cancel,
                    log_path=self._paths.log_dir / "retrain.log",
                ),
                last,
            )
            record = self._models.import_model(produced, origin="trained")
        except BaseException:
            _remove_model_files(model_path)
            shutil.rmtree(run_dir, ignore_errors=True)
            raise
        if record.path.resolve() != model_path.resolve():
            _remove_model_files(model_path)  # a trainer that wrote elsewhere was copied
        for checkpoint in run_dir.glob("*.pt"):  # the companion .pt is the warm start
            checkpoint.unlink(missing_ok=True)
        if held_out:
            at = last[-1] if last else Progress(phase="retrain", done=0, total=0)
            yield Progress(
                phase="retrain", done=at.done, total=at.total,
                message=f"checking the new model on {len(held_out)} photos it did not "
                "train on",
            )  # fmt: skip
        previous = self._models.active_model_id
        check = self._check(record, held_out, cancel)
        logger.info("retrain %s check: %s; %s", model_id, check.summary(), check.reason)
        _stop_if_cancelled(cancel, record)
        switched = switch and check.better
        if switched:
            self._models.switch_model(record.model_id)
        return RetrainOutcome(record, check, switched, previous)

    def _check_note(self, n_photos: int, n_held_out: int) -> str:
        """Said before training: how the new model will be checked, or why it cannot."""
        if n_held_out:
            return (
                f"holding out {n_held_out} of {n_photos} photos to check the new model "
                "before switching"
            )
        too_few = (
            f"the library has only {n_photos} photos: too few to check the new model "
            f"({MIN_CHECKED_LIBRARY} needed)"
        )
        if self._models.active_model_id is None:
            return f"{too_few}; there is no model in use, so it will be used"
        return f"{too_few}, so it will be kept aside, not switched to"

    def _check(
        self,
        record: ModelRecord,
        held_out: Sequence[PhotoRecord],
        cancel: threading.Event | None,
    ) -> ModelCheck:
        """`compare_models` on the held-out photos that still decode.

        Raises:
            RetrainError: if `cancel` is set while the photos are decoded.
        """
        active_id = self._models.active_model_id
        active = None
        if active_id is not None and active_id != record.model_id:
            try:
                active = self._models.encoder(active_id)
            except Exception as exc:  # a broken active model loses to any new one
                logger.warning("the active model %s cannot encode: %s", active_id, exc)
        if not held_out:
            too_few = no_check(
                "the library has too few photos to keep some out of training and "
                f"check it ({MIN_CHECKED_LIBRARY} are needed)"
            )
            return replace(too_few, better=active is None)
        images: list[Image.Image] = []
        for photo in held_out:
            _stop_if_cancelled(cancel, record)
            try:
                rendered = self._renderer.render(photo.path, max_side=WORKING_SIDE)
            except ImageLoadError as exc:
                logger.info("check: skipping %s: %s", photo.path, exc)
                continue
            images.append(Image.fromarray(rendered.pixels, "RGB"))
        return compare_models(active, self._models.encoder(record.model_id), images)

    def _photos(
        self, max_photos: int | None
    ) -> tuple[list[PhotoRecord], list[PhotoRecord], int]:
        """The photos to train on, those held out to check, and how many there are.

        Only indexed, readable photos whose names can be listed count. The held-out sample is `hold_out`'s (`check_photo_count` of them); the training
        photos are an even sample of the rest when capped.
        """
        photos = []
        for photo in self._readers.get().photos(status="ok"):
            text = str(photo.path)
            if "\n" in text or "\r" in text or not _utf8(text):
                # The list is UTF-8, one path a line: such a name cannot be written.
                logger.warning("not training on %r: its name cannot be listed", text)
                continue
            photos.append(photo)
        n_listed = len(photos)
        photos, held_out = hold_out(photos, check_photo_count(n_listed))
        if max_photos is not None and len(photos) > max_photos:
            step = len(photos) / max_photos
            photos = [photos[math.floor(i * step)] for i in range(max_photos)]
        return photos, held_out, n_listed

    def _new_model_id(self, request: RetrainRequest) -> str:
        base = f"retrained-{request.bits}bit-{time.strftime('%Y%m%d-%H%M%S')}"
        model_id, n = base, 1
        while (
            self._models.model(model_id) is not None
            or (self.runs_dir / model_id).exists()
            or (self._paths.models_dir / f"{model_id}.onnx").exists()
        ):
            n += 1
            model_id = f"{base}-{n}"
        return model_id

    def _warm_start(self, request: RetrainRequest) -> tuple[Path | None, str]:
        """The checkpoint to start from (None: from scratch) and a sentence saying so."""
        if not request.warm_start:
            return None, "training from scratch, as asked"
        active = self._models.active_model_id
        record = None if active is None else self._models.model(active)
        if record is None:
            return None, "training from scratch: there is no active model to start from"
        companion = self._models.companion_checkpoint(record.model_id)
        if companion is None:
            return None, (
                f"training from scratch: the active model {record.model_id} has no "
                f"warm-start checkpoint ({record.path.with_suffix('.pt').name})"
            )
        if request.n_codebooks != record.M or record.K != 2**NBITS:
            return None, (
                f"training from scratch: the active model {record.model_id} makes "
                f"{record.nbits}-bit codes, not {request.bits}"
            )
        return companion, f"warm start from the active model {record.model_id}"


def hold_out(
    photos: Sequence[PhotoRecord], n: int, *, seed: int = CHECK_SAMPLE_SEED
) -> tuple[list[PhotoRecord], list[PhotoRecord]]:
    """Split photos into those to train on and `n` held out to check the new model.

    Each photo is ranked by a key of its own, a seeded hash of its file name (then of its
    full path), and the first
    `n` are held out: the sample does not depend on the photos' order, and adding or
    removing photos changes it little, so the model of the previous retrain mostly did
    not train on the next retrain's held-out photos either.

    Args:
        photos: The library's photos to split.
        n: How many to hold out (`check_photo_count`).
        seed: Seeds the ranking.

    Returns:
        The photos to train on, in their order, and the held-out ones.
    """
    ranked = sorted(photos, key=lambda p: _sample_key(seed, p))
    held = ranked[:n]
    held_paths = {p.path for p in held}
    return [p for p in photos if p.path not in held_paths], held


def _sample_key(seed: int, photo: PhotoRecord) -> tuple[bytes, bytes]:
    # The file name first: the sample stays put when the whole library moves (another
    # drive, a renamed parent folder); the full path breaks ties between equal names.
    def digest(text: str) -> bytes:
        data = f"{seed}:{text}".encode("utf-8", "surrogateescape")
        return hashlib.sha1(data, usedforsecurity=False).digest()

    return digest(photo.path.name), digest(str(photo.path))


def _remembering(
    job: Generator[Progress, None, T], last: list[Progress]
) -> Generator[Progress, None, T]:
    """Pass a job's progress on, keeping the latest snapshot in `last`."""
    while True:
        try:
            progress = next(job)
        except StopIteration as stop:
            result: T = stop.value
            return result
        last[:] = [progress]
        yield progress


def _stop_if_cancelled(cancel: threading.Event | None, record: ModelRecord) -> None:
    """Stop the check (or the switch after it) of a registered model on cancel."""
    if cancel is not None and cancel.is_set():
        raise RetrainError(
            f"the check of the new model was cancelled; {record.model_id} stays "
            "registered: switch to it by hand if you want it"
        )


def _write_image_list(path: Path, photos: Sequence[PhotoRecord]) -> None:
    """One absolute path per line, UTF-8 (``training --image-list``)."""
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for photo in photos:
            handle.write(f"{photo.path}\n")


def _remove_model_files(model_path: Path) -> None:
    for path in (model_path, model_path.with_suffix(".pt")):
        path.unlink(missing_ok=True)


def _utf8(text: str) -> bool:
    """False for names holding undecodable bytes (surrogate escapes on POSIX)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
