"""`ModelFiles`: the model files of the library, the shipped default, imported and trained.

Imported and trained artifacts are validated (`read_artifact`) and copied into the app's
``models/`` folder under their model id (with the companion ``<artifact>.pt`` that the
trainer's ``--init-from`` reads, when there is one; the app never opens it), checked by
the caller's `verify` (a run of the model), then registered in the catalog; the default
model stays where it ships. Copies never follow a link: a model file or companion that
is a symbolic link is refused, so no other file's bytes end up in the library. A model
id names one model: importing a *different* file under an id already registered is
refused, so codes of different models never mix. Which model is active is a catalog
setting changed only through `Library.switch_model`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from sscq_desktop.library.catalog.catalog import Catalog
from sscq_desktop.library.records import ModelRecord, ModelSource
from sscq_desktop.model.artifact import ArtifactError, ModelArtifact, read_artifact
from sscq_desktop.paths import AppPaths, default_model_path

logger = logging.getLogger(__name__)


class ModelFiles:
    """The library's model files: validates, copies, registers and loads artifacts.

    Args:
        catalog: The catalog writer (registration is a write).
        paths: The app's folders (``models/`` receives copies of imported artifacts).
    """

    def __init__(self, catalog: Catalog, paths: AppPaths) -> None:
        self._catalog = catalog
        self._paths = paths

    def ensure_default(self) -> ModelRecord | None:
        """Register the shipped default model if it exists and is valid.

        Returns:
            Its record, or None when this installation has no (valid) default model.
        """
        path = default_model_path()
        if not path.is_file():
            return None
        try:
            artifact = read_artifact(path)
        except ArtifactError as exc:
            logger.error("the shipped default model is unusable: %s", exc)
            return None
        existing = self._catalog.reader.model(artifact.model_id)
        if existing is not None and existing.path == path:
            return existing
        return self._register(artifact, path, "default")

    def default_model_id(self) -> str | None:
        """Model id of the registered default model, if any."""
        return next(
            (
                m.model_id
                for m in self._catalog.reader.models()
                if m.source == "default"
            ),
            None,
        )

    def import_artifact(
        self,
        source: Path,
        *,
        origin: ModelSource = "imported",
        verify: Callable[[ModelArtifact], object] = lambda artifact: None,
    ) -> ModelRecord:
        """Validate a model file, copy it into ``models/``, verify and register it.

        Args:
            source: The ONNX artifact to import.
            origin: ``imported`` (by the user) or ``trained`` (by the retrain job).
            verify: Called with the copied artifact before it is registered; raises
                `ArtifactError` to refuse it (the copies are then removed).

        Returns:
            The registered model (the existing record if this very file was imported before).

        Raises:
            ArtifactError: if the file is not a valid model, it or its companion is a
                symbolic link, `verify` refuses it, or another file is already
                registered under the same model id.
        """
        companion = source.with_suffix(".pt")  # the warm-start checkpoint, if any
        for path in (source, companion):
            if path.is_symlink():
                raise ArtifactError(
                    f"{path} is a symbolic link; copy the model file itself "
                    "(links are never followed when importing)"
                )
        artifact = read_artifact(source)
        existing = self._catalog.reader.model(artifact.model_id)
        if existing is not None:
            if existing.path.is_file() and _digest(existing.path) == _digest(source):
                return existing
            if existing.path.is_file():
                raise ArtifactError(
                    f"a different model with id {artifact.model_id!r} is already registered "
                    f"({existing.path}); give the new model another id"
                )
        dest = self._paths.models_dir / f"{artifact.model_id}.onnx"
        copied_here = source.resolve() != dest.resolve()
        try:
            if copied_here:
                _copy_atomic(source, dest)
            # Validate what will actually be loaded: the copy, unless the file was
            # already there (a trained model is exported straight into models/).
            copied = read_artifact(dest) if copied_here else artifact
            verify(copied)
            # The companion only once the model is accepted: a refused import leaves
            # a checkpoint already in models/ (a registered model's) as it was.
            if copied_here and companion.is_file():  # not a link: refused above
                _copy_atomic(companion, dest.with_suffix(".pt"))
        except BaseException:
            if copied_here:  # the model file written here, never a companion
                dest.unlink(missing_ok=True)
            raise
        return self._register(copied, dest, origin)

    def load(self, model_id: str) -> ModelArtifact:
        """Read and validate a registered model's file.

        Raises:
            ArtifactError: if the model is unknown or its file is missing or invalid.
        """
        record = self._catalog.reader.model(model_id)
        if record is None:
            raise ArtifactError(f"model {model_id!r} is not registered")
        artifact = read_artifact(record.path)
        if artifact.model_id != model_id:
            raise ArtifactError(
                f"{record.path} now holds model {artifact.model_id!r}, not {model_id!r}"
            )
        return artifact

    def _register(
        self, artifact: ModelArtifact, path: Path, source: ModelSource
    ) -> ModelRecord:
        meta = artifact.metadata
        return self._catalog.register_model(
            model_id=meta.model_id,
            path=path,
            source=source,
            M=meta.M,
            K=meta.K,
            L=meta.L,
        )


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _copy_atomic(source: Path, dest: Path) -> None:
    """Copy a regular file without following a link, through a temporary file.

    Raises:
        ArtifactError: if `source` is a symbolic link or not a regular file.
    """
    try:
        fd = os.open(source, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        if source.is_symlink():
            raise ArtifactError(
                f"{source} is a symbolic link; links are never followed when importing"
            ) from None
        raise ArtifactError(f"cannot read {source}: {exc.strerror or exc}") from exc
    with os.fdopen(fd, "rb") as src:
        if not stat.S_ISREG(os.fstat(src.fileno()).st_mode):
            raise ArtifactError(f"{source} is not a regular file")
        dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp_fd, tmp = tempfile.mkstemp(
            prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent
        )
        try:
            with os.fdopen(tmp_fd, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
