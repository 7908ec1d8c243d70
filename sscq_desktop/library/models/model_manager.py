"""Which model answers searches: registered models, the active and pending ones, switches.

`ModelManager` holds the library's model state on top of `ModelFiles` (which validates
and stores files): the active model, the pending one while the library is re-encoded,
the switch between them, and the loaded artifacts and encoders, kept warm. A model is
accepted (imported, switched to, loaded) only after its encoder ran one tiny batch with
valid outputs (`probe_encoder`, once per model: at import, or when first loaded). The
switch itself completes in `Catalog.complete_switch`; this module decides when to call
it. Thread-safe for reads; switches run on the writer lane.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from sscq_desktop.library.catalog.catalog import Catalog
from sscq_desktop.library.catalog.reader import ACTIVE_MODEL_KEY, PENDING_MODEL_KEY
from sscq_desktop.library.models.model_files import ModelFiles
from sscq_desktop.library.records import ModelRecord, ModelSource
from sscq_desktop.model.artifact import ArtifactError, ModelArtifact
from sscq_desktop.model.encoder import (
    Embedder,
    EncoderError,
    ModelOutputError,
    check_encoded,
)
from sscq_desktop.paths import AppPaths

logger = logging.getLogger(__name__)

EncoderFactory = Callable[[ModelArtifact], Embedder]
"""Builds the encoder of a model; the default runs it with onnxruntime (`OnnxEncoder`)."""


class NoModelError(RuntimeError):
    """No model is available: none is active and the shipped default model is missing."""


def default_encoder_factory(artifact: ModelArtifact) -> Embedder:
    """Run a model with onnxruntime (CUDA when it works, else the CPU)."""
    from sscq_desktop.model.encoder import OnnxEncoder

    return OnnxEncoder(artifact)


def probe_encoder(factory: EncoderFactory, artifact: ModelArtifact) -> Embedder:
    """Build a model's encoder and run one tiny batch through it, checking the outputs.

    The batch is two images, black and white, so a model that cannot load, cannot run
    or answers outside its contract (`check_encoded`) is refused before it is used.

    Args:
        factory: Builds the encoder.
        artifact: The validated model file.

    Returns:
        The encoder, ready for use.

    Raises:
        ArtifactError: naming the model and why it cannot be used.
    """
    s = artifact.metadata.input.size
    images = np.zeros((2, s, s, 3), dtype=np.uint8)  # (2, S, S, 3)
    images[1] = 255
    try:
        encoder = factory(artifact)
        out = encoder.encode(images)
        check_encoded(out.embedding, out.codes, metadata=artifact.metadata, n=2)
    except (EncoderError, ArtifactError) as exc:
        raise ArtifactError(
            f"model {artifact.model_id!r} ({artifact.path.name}) cannot be used: {exc}"
        ) from exc
    return encoder


class ModelManager:
    """The library's models: their files, active/pending state, loaded encoders.

    Registers the shipped default model and makes it active when nothing is.

    Args:
        catalog: The catalog writer (settings and registrations are writes).
        paths: The app's folders.
        encoder_factory: Builds a model's encoder.
        on_switch: Called after the active model changed (drops stale code indexes).
    """

    def __init__(
        self,
        catalog: Catalog,
        paths: AppPaths,
        *,
        encoder_factory: EncoderFactory = default_encoder_factory,
        on_switch: Callable[[], None] = lambda: None,
    ) -> None:
        self._catalog = catalog
        self._files = ModelFiles(catalog, paths)
        self._encoder_factory = encoder_factory
        self._on_switch = on_switch
        self._lock = threading.RLock()
        self._encoders: dict[str, Embedder] = {}
        self._artifacts: dict[str, ModelArtifact] = {}
        default = self._files.ensure_default()
        if default is not None and self._catalog.reader.active_model_id() is None:
            self._catalog.set_setting(ACTIVE_MODEL_KEY, default.model_id)

    def models(self) -> list[ModelRecord]:
        """Registered models."""
        return self._catalog.reader.models()

    def model(self, model_id: str) -> ModelRecord | None:
        """One registered model's record."""
        return self._catalog.reader.model(model_id)

    @property
    def active_model_id(self) -> str | None:
        """The model answering searches."""
        return self._catalog.reader.active_model_id()

    @property
    def pending_model_id(self) -> str | None:
        """The model being switched to, while the library is re-encoded."""
        return self._catalog.reader.pending_model_id()

    @property
    def default_model_id(self) -> str | None:
        """The shipped default model, when this installation has one."""
        return self._files.default_model_id()

    def require_active(self) -> str:
        """The active model's id.

        Raises:
            NoModelError: if no model is available.
        """
        model_id = self.active_model_id
        if model_id is None:
            raise NoModelError(
                "no model is available: import one (models import FILE) or install the default model"
            )
        return model_id

    def import_model(
        self, path: Path, *, origin: ModelSource = "imported"
    ) -> ModelRecord:
        """Validate, copy, probe and register a model artifact (it does not become active).

        The validated artifact and its probed encoder are kept: a switch to the model
        or a check of it right after uses them without validating the file again.

        Raises:
            ArtifactError: if the file is not a usable model (see `probe_encoder`).
        """
        probed: list[tuple[ModelArtifact, Embedder]] = []

        def verify(artifact: ModelArtifact) -> None:
            probed.append((artifact, probe_encoder(self._encoder_factory, artifact)))

        record = self._files.import_artifact(path, origin=origin, verify=verify)
        if probed:  # not when this very file was registered before
            artifact, encoder = probed[-1]
            with self._lock:
                self._artifacts[record.model_id] = artifact
                self._encoders[record.model_id] = encoder
        return record

    def switch_model(self, model_id: str) -> bool:
        """Make `model_id` the active model, now or once the library is re-encoded.

        With no active model, or when every photo already has its codes, the switch is
        immediate. Otherwise the model becomes pending: `Library.ingest` re-encodes the
        library with it while the old model keeps answering, then switches atomically.
        Completing a switch keeps the codes of the new and the old active model only
        (`Catalog.complete_switch`): going back further means re-encoding.

        Nothing changes unless the model's file is valid and its encoder loads and
        passes `probe_encoder` (checked once, when the library first loads or imports
        it): a refused model leaves the active (and any pending) model as it was.

        Returns:
            True if the switch is already done.

        Raises:
            ArtifactError: if the model is unknown, its file is invalid or its encoder
                fails the probe.
        """
        self.encoder(model_id)  # valid and probed before anything changes; kept warm
        if model_id == self.active_model_id:
            self._catalog.set_setting(PENDING_MODEL_KEY, None)
            return True
        if self.active_model_id is None:
            self._catalog.set_setting(ACTIVE_MODEL_KEY, model_id)
        if self.active_model_id == model_id or self._catalog.complete_switch(model_id):
            self._catalog.set_setting(PENDING_MODEL_KEY, None)
            self._on_switch()
            return True
        self._catalog.set_setting(PENDING_MODEL_KEY, model_id)
        return False

    def refuse_model(self, model_id: str) -> None:
        """Stop using a model that misbehaved: unload it and cancel a switch to it.

        The active model stays; a model that is itself active stays active (there is
        nothing safer to answer searches with), but is loaded and probed afresh.

        Args:
            model_id: The model that produced invalid output.
        """
        with self._lock:
            self._encoders.pop(model_id, None)
            self._artifacts.pop(model_id, None)
        if self.pending_model_id == model_id:
            self._catalog.set_setting(PENDING_MODEL_KEY, None)
            logger.error("the switch to model %s is cancelled", model_id)

    def ingest_encoders(self, active: str, pending: str | None) -> dict[str, Embedder]:
        """The probed encoders an ingest runs: the active model's, and a pending one's.

        A pending model that fails its probe is refused (`refuse_model`); a broken
        active model gives way to a pending one, which the ingest then completes.

        Raises:
            ArtifactError: if a model fails its probe and cannot be done without.
        """
        targets = [active] + ([pending] if pending and pending != active else [])
        encoders: dict[str, Embedder] = {}
        for model_id in targets:
            try:
                encoders[model_id] = self.encoder(model_id)
            except ArtifactError as exc:
                self.refuse_model(model_id)
                if model_id != active:
                    raise ArtifactError(
                        f"{exc}; the switch to it is cancelled and {active!r} stays active"
                    ) from exc
                if len(targets) == 1:
                    raise
                logger.error("%s; indexing with %s alone", exc, targets[1])
        return encoders

    def drop_misbehaving(
        self, exc: ModelOutputError, encoders: dict[str, Embedder], *, active: str
    ) -> dict[str, Embedder]:
        """After invalid output: the encoders to go on with, or an error saying why not.

        The misbehaving model is refused (`refuse_model`). Only a broken active model
        with a pending one beside it is done without: the ingest goes on with the
        pending model alone and switches to it.

        Args:
            exc: What the model produced.
            encoders: The encoders of the ingest, by model id.
            active: The active model.

        Returns:
            The encoders left.

        Raises:
            ModelOutputError: saying that the batch's photos stay pending and what
                became of the model.
        """
        self.refuse_model(exc.model_id)
        rest = {m: e for m, e in encoders.items() if m != exc.model_id}
        stored = "nothing of that batch was stored (its photos stay pending)"
        if exc.model_id == active and rest:
            logger.error("%s; %s; indexing with %s alone", exc, stored, ", ".join(rest))
            return rest
        if exc.model_id == active:
            what = "choose another model to index with"
        else:
            what = f"the switch to it is cancelled and {active!r} stays active"
        raise ModelOutputError(
            exc.model_id, f"{exc.problem}; {stored}; {what}"
        ) from exc

    def complete_pending(self, model_id: str) -> bool:
        """Switch to the pending `model_id` if all its codes are there (after ingest).

        Returns:
            True if it is now the active model.
        """
        if not self._catalog.complete_switch(model_id):
            return False
        self._on_switch()
        return True

    def use_default_model(self) -> bool:
        """Go back to the shipped default model (see `switch_model`).

        Raises:
            NoModelError: if this installation has no default model.
        """
        default = self._files.ensure_default()
        if default is None:
            raise NoModelError("this installation has no default model")
        return self.switch_model(default.model_id)

    def artifact(self, model_id: str) -> ModelArtifact:
        """The validated artifact of a registered model (cached)."""
        with self._lock:
            if model_id not in self._artifacts:
                self._artifacts[model_id] = self._files.load(model_id)
            return self._artifacts[model_id]

    def encoder(self, model_id: str) -> Embedder:
        """The loaded encoder of a registered model; kept warm for the library's life.

        Raises:
            ArtifactError: if the model's file is invalid or its encoder fails
                `probe_encoder` (the first time it is loaded).
        """
        with self._lock:
            if model_id not in self._encoders:
                self._encoders[model_id] = probe_encoder(
                    self._encoder_factory, self.artifact(model_id)
                )
            return self._encoders[model_id]

    def companion_checkpoint(self, model_id: str) -> Path | None:
        """The model's warm-start checkpoint (``<artifact>.pt`` beside it), if any.

        Training writes one next to every export; the app never opens it, it only hands
        its path to the trainer (``--init-from``).
        """
        record = self._catalog.reader.model(model_id)
        if record is None:
            return None
        companion = record.path.with_suffix(".pt")
        return companion if companion.is_file() and not companion.is_symlink() else None
