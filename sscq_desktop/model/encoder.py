"""Run a model artifact with onnxruntime: uint8 images in, embeddings and PQ codes out.

Chooses CUDA only when a session on it really builds and runs, otherwise the CPU, without
letting onnxruntime print its provider-probe errors, and says which one runs. It keeps the
session loaded for the life of the object (a warm model answers the next query at once).
A model file is untrusted: every batch's outputs are checked (`check_encoded`) and a run
that outlasts its time limit is stopped. It does no file decoding and no other threading.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from sscq_desktop.model.artifact import (
    CODES_NAME,
    EMBEDDING_NAME,
    INPUT_NAME,
    ArtifactError,
    ModelArtifact,
)

if TYPE_CHECKING:
    from sscq_desktop.model.artifact import ArtifactMetadata

logger = logging.getLogger(__name__)

Device = Literal["auto", "cpu", "cuda"]
CPU_PROVIDER = "CPUExecutionProvider"
CUDA_PROVIDER = "CUDAExecutionProvider"
_ORT_QUIET = (
    4  # onnxruntime log severity "fatal": silences the CUDA probe's error lines
)
_ORT_DEFAULT = 2  # "warning", onnxruntime's own default
_ort_log_lock = threading.Lock()
DEFAULT_RUN_TIMEOUT_S = 300.0
"""A batch running longer is stopped: far above any exported model's time per batch."""


@dataclass(frozen=True)
class EncodedBatch:
    """What the encoder returns for a batch of N images.

    Shape:
        embedding: (N, M*L) float32, continuous (queries, re-ranking).
        codes: (N, M) uint8, hard PQ assignment (what the catalog stores).
    """

    embedding: npt.NDArray[np.float32]
    codes: npt.NDArray[np.uint8]


class Embedder(Protocol):
    """The seam the ingest pipeline depends on; a fake implements it in unit tests."""

    @property
    def metadata(self) -> ArtifactMetadata:
        """Metadata of the model (id, input size and policy, codebooks)."""
        ...

    def encode(self, images: npt.NDArray[np.uint8]) -> EncodedBatch:
        """Encode a (N, S, S, 3) uint8 batch."""
        ...


class EncoderError(RuntimeError):
    """onnxruntime could not load or run the model."""


class ModelOutputError(EncoderError):
    """A model returned outputs that break the artifact's contract (see `check_encoded`).

    Nothing of the batch may be stored: its photos stay pending.

    Attributes:
        model_id: The model that produced them.
        problem: What is wrong with them.
    """

    def __init__(self, model_id: str, problem: str) -> None:
        super().__init__(f"model {model_id!r} produced invalid output: {problem}")
        self.model_id = model_id
        self.problem = problem


def check_encoded(
    embedding: npt.NDArray[Any],
    codes: npt.NDArray[Any],
    *,
    metadata: ArtifactMetadata,
    n: int,
) -> None:
    """Check one batch's outputs against the model's metadata.

    Args:
        embedding: The ``embedding`` output.
        codes: The ``codes`` output.
        metadata: The model's metadata (id, M, K, L).
        n: Images in the batch.

    Shape:
        embedding: (n, M*L) float32, all finite. codes: (n, M) uint8, all in [0, K).

    Raises:
        ModelOutputError: naming the first broken rule.
    """
    model_id = metadata.model_id
    for name, array, dtype, shape in (
        (EMBEDDING_NAME, embedding, np.float32, (n, metadata.embed_dim)),
        (CODES_NAME, codes, np.uint8, (n, metadata.M)),
    ):
        if not isinstance(array, np.ndarray) or array.dtype != dtype:
            got = getattr(array, "dtype", type(array).__name__)
            raise ModelOutputError(
                model_id, f"{name!r} is {got}, expected {np.dtype(dtype)}"
            )
        if array.shape != shape:
            raise ModelOutputError(
                model_id,
                f"{name!r} has shape {array.shape} for a batch of {n}, expected {shape}",
            )
    if n and int(codes.max()) >= metadata.K:
        raise ModelOutputError(
            model_id,
            f"codes must be in [0, {metadata.K}), got {int(codes.max())}",
        )
    if not np.all(np.isfinite(embedding)):
        raise ModelOutputError(model_id, "the embedding holds NaN or infinite values")


class OnnxEncoder:
    """An onnxruntime session over a validated `ModelArtifact`.

    Args:
        artifact: The validated model file.
        device: ``auto`` (CUDA when it really works, else CPU), ``cpu`` or ``cuda``
            (``cuda`` still falls back to the CPU, with a warning, when CUDA fails).
        max_batch: Largest batch handed to onnxruntime at once; larger inputs are split.
        intra_op_threads: onnxruntime CPU threads; None lets onnxruntime choose.
        run_timeout_s: A batch running longer is stopped with `EncoderError`; None never
            stops one. A defence in depth: `graph_policy` already refuses loops.

    Raises:
        EncoderError: if onnxruntime cannot load the model on any provider.
    """

    def __init__(
        self,
        artifact: ModelArtifact,
        *,
        device: Device = "auto",
        max_batch: int = 64,
        intra_op_threads: int | None = None,
        run_timeout_s: float | None = DEFAULT_RUN_TIMEOUT_S,
    ) -> None:
        if device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        if run_timeout_s is not None and not run_timeout_s > 0:
            raise ValueError(f"run_timeout_s must be > 0 or None, got {run_timeout_s}")
        self._artifact = artifact
        self._run_timeout_s = run_timeout_s
        self._max_batch = max_batch if artifact.input_batch_dynamic else 1
        self._session, self._provider = _open_session(
            artifact, device=device, intra_op_threads=intra_op_threads
        )
        logger.info("model %s runs on %s", artifact.model_id, self.provider_name)

    @property
    def artifact(self) -> ModelArtifact:
        """The model file this encoder runs."""
        return self._artifact

    @property
    def metadata(self) -> ArtifactMetadata:
        """Metadata of the model."""
        return self._artifact.metadata

    @property
    def provider(self) -> str:
        """The onnxruntime execution provider in use, e.g. ``CPUExecutionProvider``."""
        return self._provider

    @property
    def provider_name(self) -> str:
        """Short name for display: ``CUDA`` or ``CPU``."""
        return "CUDA" if self._provider == CUDA_PROVIDER else "CPU"

    def encode(self, images: npt.NDArray[np.uint8]) -> EncodedBatch:
        """Encode a batch of model-sized images.

        Args:
            images: RGB pixels from `sscq_desktop.model.preprocessing.to_model_input`.

        Returns:
            Embeddings and codes, one row per image.

        Shape:
            images: (N, S, S, 3) uint8 -> embedding (N, M*L), codes (N, M).

        Raises:
            TypeError: if `images` is not a uint8 numpy array.
            ValueError: if its shape is not (N, S, S, 3) for this model's S.
            ModelOutputError: if the model's outputs fail `check_encoded`.
            EncoderError: if onnxruntime fails to run or a batch outlasts the time limit.
        """
        meta = self._artifact.metadata
        if not isinstance(images, np.ndarray):
            raise TypeError(
                f"images must be a numpy array, got {type(images).__name__}"
            )
        if images.dtype != np.uint8:
            raise TypeError(f"images must be uint8, got {images.dtype}")
        s = meta.input.size
        if images.ndim != 4 or images.shape[1:] != (s, s, 3):
            raise ValueError(
                f"images must have shape (N, {s}, {s}, 3), got {images.shape}"
            )
        n = images.shape[0]
        embedding = np.empty((n, meta.embed_dim), dtype=np.float32)
        codes = np.empty((n, meta.M), dtype=np.uint8)
        for start in range(0, n, self._max_batch):
            chunk = np.ascontiguousarray(images[start : start + self._max_batch])
            emb, cod = self._run(chunk)
            embedding[start : start + len(chunk)] = emb
            codes[start : start + len(chunk)] = cod
        return EncodedBatch(embedding=embedding, codes=codes)

    def _run(
        self, chunk: npt.NDArray[np.uint8]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.uint8]]:
        import onnxruntime as ort

        options = ort.RunOptions()
        options.log_severity_level = _ORT_QUIET
        timer = None
        if self._run_timeout_s is not None:

            def stop() -> None:
                options.terminate = True

            timer = threading.Timer(self._run_timeout_s, stop)
            timer.daemon = True
            timer.start()
        try:
            emb, cod = self._session.run(
                [EMBEDDING_NAME, CODES_NAME], {INPUT_NAME: chunk}, options
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            if options.terminate:
                raise EncoderError(
                    f"model {self._artifact.model_id!r} ran longer than "
                    f"{self._run_timeout_s:g} s on a batch of {len(chunk)}; stopped"
                ) from exc
            raise EncoderError(
                f"onnxruntime failed on a batch of {len(chunk)}: {exc}"
            ) from exc
        finally:
            if timer is not None:
                timer.cancel()
        check_encoded(emb, cod, metadata=self._artifact.metadata, n=len(chunk))
        return emb, cod


def available_devices() -> list[str]:
    """Execution providers this onnxruntime build offers (not a promise that they work)."""
    import onnxruntime as ort

    return list(ort.get_available_providers())


@contextmanager
def _quiet_onnxruntime() -> Iterator[None]:
    """Silence onnxruntime's default logger while providers are probed."""
    import onnxruntime as ort

    with _ort_log_lock:
        ort.set_default_logger_severity(_ORT_QUIET)
        try:
            yield
        finally:
            ort.set_default_logger_severity(_ORT_DEFAULT)


def _open_session(
    artifact: ModelArtifact, *, device: Device, intra_op_threads: int | None
) -> tuple[Any, str]:
    import onnxruntime as ort

    def options() -> Any:
        opts = ort.SessionOptions()
        opts.log_severity_level = _ORT_QUIET
        if intra_op_threads is not None:
            opts.intra_op_num_threads = intra_op_threads
        return opts

    path = str(artifact.path)
    if device != "cpu" and CUDA_PROVIDER in ort.get_available_providers():
        session = None
        try:
            with _quiet_onnxruntime():
                session = ort.InferenceSession(
                    path,
                    sess_options=options(),
                    providers=[CUDA_PROVIDER, CPU_PROVIDER],
                )
                if session.get_providers()[0] == CUDA_PROVIDER:
                    _smoke_run(session, artifact)
                    return session, CUDA_PROVIDER
        except Exception as exc:  # any CUDA failure means: use the CPU
            logger.debug("CUDA provider unusable: %s", exc)
        if device == "cuda":
            logger.warning("CUDA was requested but does not work here; using the CPU")
    try:
        with _quiet_onnxruntime():
            session = ort.InferenceSession(
                path, sess_options=options(), providers=[CPU_PROVIDER]
            )
    except Exception as exc:
        raise EncoderError(
            f"onnxruntime cannot load {artifact.path.name}: {exc}"
        ) from exc
    return session, CPU_PROVIDER


def _smoke_run(session: Any, artifact: ModelArtifact) -> None:
    s = artifact.metadata.input.size
    out = session.run(
        [CODES_NAME], {INPUT_NAME: np.zeros((1, s, s, 3), dtype=np.uint8)}
    )
    if out[0].shape != (1, artifact.metadata.M):
        raise ArtifactError(
            f"model returned codes of shape {out[0].shape} on a smoke run"
        )
