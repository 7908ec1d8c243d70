"""`Retrainer`: "Retrain on my photos" from the library's side.

Lists the library's indexed, readable photos, chooses between a warm start (the active
model's companion checkpoint, same code length) and training from scratch, lays out the
run's files, builds the trainer's argument list from a `RetrainRequest`
(`trainer_command`, the one place that does), runs it (`run_trainer`) and registers
the exported model. Layout: the run folder is ``<data dir>/runs/<model id>/`` (image
list, checkpoints, metrics) and the model ``<models dir>/<model id>.onnx`` with its
companion ``.pt``. On failure or cancel nothing is registered, the active model is
untouched and the run's files are removed.
"""

from __future__ import annotations

import logging
import math
import shutil
import threading
import time
from collections.abc import Callable, Generator, Sequence
from pathlib import Path

from sscq_desktop.library.model_manager import ModelManager
from sscq_desktop.library.progress import Progress
from sscq_desktop.library.records import ModelRecord, PhotoRecord
from sscq_desktop.library.retrain import RetrainError, run_trainer
from sscq_desktop.library.retrain_request import (
    MIN_PHOTOS,
    NBITS,
    RetrainRequest,
    TrainerJob,
    trainer_command,
)
from sscq_desktop.library.thread_readers import ThreadReaders
from sscq_desktop.paths import AppPaths

logger = logging.getLogger(__name__)

TrainerCommand = Callable[[TrainerJob], Sequence[str]]
"""Builds the trainer's argument list for a job; default `trainer_command`."""

RUNS_DIRNAME = "runs"
"""Folder of the data dir holding one run folder per retrain."""


class Retrainer:
    """Runs retrains of one library.

    Args:
        readers: Per-thread catalog readers (the photo list).
        models: The library's models (warm start, registration, switch).
        paths: The app's folders.
    """

    def __init__(
        self, readers: ThreadReaders, models: ModelManager, paths: AppPaths
    ) -> None:
        self._readers = readers
        self._models = models
        self._paths = paths

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
    ) -> Generator[Progress, None, ModelRecord]:
        """Train a model on the library's photos in a child process and register it.

        Args:
            request: Code length, time budget, device, warm start, step cap.
            command: Builds the argument list from the job; default `trainer_command`
                (tests wrap it or pass a fake trainer).
            cancel: Stops the trainer (the active model is untouched).
            switch: Start switching to the new model once it is registered.

        Yields:
            A first `Progress` that says how it trains (warm start or from scratch and
            why), then one per trainer event (`Progress.event` carries it).

        Returns:
            The registered model.

        Raises:
            RetrainError: if the library has too few photos, or the trainer fails or
                is cancelled.
            ArtifactError: if the trainer produced an invalid model.
        """
        if not isinstance(request, RetrainRequest):
            raise TypeError(f"expected a RetrainRequest, got {request!r}")
        photos = self._photos(request.max_photos)
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
        logger.info("retrain %s on %d photos: %s", model_id, len(photos), how)
        try:
            run_dir.mkdir(mode=0o700, parents=True, exist_ok=False)
            _write_image_list(job.image_list, photos)
            yield Progress(phase="retrain", done=0, total=0, message=how)
            argv = list((command or trainer_command)(job))
            produced = yield from run_trainer(
                argv,
                output=model_path,
                cancel=cancel,
                log_path=self._paths.log_dir / "retrain.log",
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
        if switch:
            self._models.switch_model(record.model_id)
        return record

    def _photos(self, max_photos: int | None) -> list[PhotoRecord]:
        """The indexed, readable photos; an even sample when capped."""
        photos = []
        for photo in self._readers.get().photos(status="ok"):
            text = str(photo.path)
            if "\n" in text or "\r" in text or not _utf8(text):
                # The list is UTF-8, one path a line: such a name cannot be written.
                logger.warning("not training on %r: its name cannot be listed", text)
                continue
            photos.append(photo)
        if max_photos is not None and len(photos) > max_photos:
            step = len(photos) / max_photos
            photos = [photos[math.floor(i * step)] for i in range(max_photos)]
        return photos

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
            bits = round(record.M * math.log2(record.K)) if record.K > 1 else 0
            return None, (
                f"training from scratch: the active model {record.model_id} makes "
                f"{bits}-bit codes, not {request.bits}"
            )
        return companion, f"warm start from the active model {record.model_id}"


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
