"""The model artifact's metadata: the ``sscq`` JSON of the ONNX file, parsed and validated.

Half of the one definition of the artifact format: `sscq_desktop.model.artifact` checks the
graph, reads and writes the file, and is the import point for both. Never touches ONNX.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from sscq_desktop.core import Distance
from sscq_desktop.model.preprocessing import ResizePolicy, check_resize_policy

FORMAT_VERSION = 1
MAX_CODEWORDS = 256
_MODEL_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_DISTANCES: tuple[Distance, ...] = ("subspace_l2", "squared_l2")
_REQUIRED_KEYS = (
    "format_version",
    "model_id",
    "M",
    "K",
    "L",
    "distance",
    "input",
    "codebooks",
    "training",
)


class ArtifactError(ValueError):
    """A model file that cannot be used, with a message naming the problem."""


@dataclass(frozen=True)
class InputSpec:
    """What the encoder expects: S x S uint8 RGB pixels produced by `resize`.

    Attributes:
        size: Side S of the square input, in pixels.
        resize: How a photo is brought to S x S.
    """

    size: int
    resize: ResizePolicy


@dataclass(frozen=True, eq=False)
class ArtifactMetadata:
    """The JSON stored under the ``sscq`` key of the ONNX metadata.

    Attributes:
        model_id: Stable identifier; codes of different ids never mix in one search.
        M: Number of codebooks (subspaces).
        K: Codewords per codebook (ksub), at most 256.
        L: Dimension of each codeword (dsub); the embedding has M * L dimensions.
        distance: The distance the codes are searched with.
        input: Input size and resize policy.
        codebooks: Codewords, float32 of shape (M, K, L).
        training: What the model was trained on and how (free-form, JSON-serialisable).
        metrics: Optional evaluation figures.
        format_version: Version of this format.
    """

    model_id: str
    M: int
    K: int
    L: int
    distance: Distance
    input: InputSpec
    codebooks: npt.NDArray[np.float32]
    training: Mapping[str, Any]
    metrics: Mapping[str, Any] | None = None
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        _check_model_id(self.model_id)
        for name in ("M", "K", "L"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ArtifactError(
                    f"metadata field {name!r} must be a positive integer, got {value!r}"
                )
        if self.K > MAX_CODEWORDS:
            raise ArtifactError(
                f"metadata field 'K' must be at most {MAX_CODEWORDS}, got {self.K}"
            )
        if self.distance not in _DISTANCES:
            raise ArtifactError(
                f"metadata field 'distance' must be one of {_DISTANCES}, got {self.distance!r}"
            )
        cb = self.codebooks
        if not isinstance(cb, np.ndarray) or cb.dtype != np.float32:
            raise ArtifactError("codebooks must be a float32 numpy array")
        if cb.shape != (self.M, self.K, self.L):
            raise ArtifactError(
                f"codebooks have shape {cb.shape}, expected (M, K, L) = {(self.M, self.K, self.L)}"
            )
        if not np.all(np.isfinite(cb)):
            raise ArtifactError("codebooks contain NaN or infinite values")
        if self.format_version != FORMAT_VERSION:
            raise ArtifactError(
                f"unsupported format_version {self.format_version!r}; this app reads {FORMAT_VERSION}"
            )

    @property
    def embed_dim(self) -> int:
        """Dimension of the continuous embedding, M * L."""
        return self.M * self.L

    @property
    def nbits(self) -> int:
        """Bits per code: M * log2(K)."""
        return int(round(self.M * np.log2(self.K)))

    def to_json(self) -> str:
        """Serialise to the JSON stored in the ONNX file.

        Returns:
            Compact JSON with sorted keys; codebooks as base64 of little-endian float32.

        Raises:
            ArtifactError: if `training` or `metrics` hold values JSON cannot represent.
        """
        payload: dict[str, Any] = {
            "format_version": self.format_version,
            "model_id": self.model_id,
            "M": self.M,
            "K": self.K,
            "L": self.L,
            "distance": self.distance,
            "input": {"size": self.input.size, "resize": self.input.resize},
            "codebooks": base64.b64encode(
                self.codebooks.astype("<f4", copy=False).tobytes()
            ).decode("ascii"),
            "training": dict(self.training),
        }
        if self.metrics is not None:
            payload["metrics"] = dict(self.metrics)
        try:
            return json.dumps(payload, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ArtifactError(f"metadata is not JSON-serialisable: {exc}") from exc

    @classmethod
    def from_json(cls, text: str) -> ArtifactMetadata:
        """Parse and validate the metadata JSON.

        Args:
            text: The JSON stored under the ``sscq`` key.

        Returns:
            The validated metadata.

        Raises:
            ArtifactError: on invalid JSON (nesting too deep for the parser included), a
                missing key or any malformed field.
        """
        try:
            raw = json.loads(text)
        except RecursionError:
            raise ArtifactError(
                "metadata is not valid JSON: it is nested too deeply"
            ) from None
        except ValueError as exc:  # JSONDecodeError, or an integer of 4,300+ digits
            raise ArtifactError(f"metadata is not valid JSON: {exc}") from exc
        if not isinstance(raw, dict):
            raise ArtifactError("metadata must be a JSON object")
        missing = [key for key in _REQUIRED_KEYS if key not in raw]
        if missing:
            raise ArtifactError(f"metadata is missing the key(s) {', '.join(missing)}")
        version = raw["format_version"]
        if version != FORMAT_VERSION:
            raise ArtifactError(
                f"unsupported format_version {version!r}; this app reads {FORMAT_VERSION}"
            )
        m, k, dsub = (_positive_int(raw, key) for key in ("M", "K", "L"))
        if k > MAX_CODEWORDS:
            raise ArtifactError(
                f"metadata field 'K' must be at most {MAX_CODEWORDS}, got {k}"
            )
        input_spec = _parse_input(raw["input"])
        distance = raw["distance"]
        if distance not in _DISTANCES:
            raise ArtifactError(
                f"metadata field 'distance' must be one of {_DISTANCES}, got {distance!r}"
            )
        codebooks = _decode_codebooks(raw["codebooks"], m=m, k=k, dsub=dsub)
        training = raw["training"]
        if not isinstance(training, dict):
            raise ArtifactError("metadata field 'training' must be a JSON object")
        metrics = raw.get("metrics")
        if metrics is not None and not isinstance(metrics, dict):
            raise ArtifactError("metadata field 'metrics' must be a JSON object")
        return cls(
            model_id=_check_model_id(raw["model_id"]),
            M=m,
            K=k,
            L=dsub,
            distance=distance,
            input=input_spec,
            codebooks=codebooks,
            training=training,
            metrics=metrics,
        )

    def same_as(self, other: ArtifactMetadata) -> bool:
        """Field-by-field equality (numpy-aware), for tests and round-trip checks.

        Args:
            other: The metadata to compare with.

        Returns:
            Whether both serialise to the same JSON.
        """
        return self.to_json() == other.to_json()


def _positive_int(raw: Mapping[str, Any], key: str) -> int:
    value = raw[key]
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ArtifactError(
            f"metadata field {key!r} must be a positive integer, got {value!r}"
        )
    return value


def _check_model_id(value: object) -> str:
    if not isinstance(value, str) or not _MODEL_ID_RE.match(value):
        raise ArtifactError(
            f"metadata field 'model_id' must be 1-128 characters of letters, digits, '.', '_' "
            f"or '-', got {value!r}"
        )
    return value


def _parse_input(raw: object) -> InputSpec:
    if not isinstance(raw, dict):
        raise ArtifactError(
            "metadata field 'input' must be a JSON object with 'size' and 'resize'"
        )
    size = raw.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or not 8 <= size <= 1024:
        raise ArtifactError(
            f"metadata field 'input.size' must be an integer in [8, 1024], got {size!r}"
        )
    try:
        policy = check_resize_policy(str(raw.get("resize")))
    except ValueError as exc:
        raise ArtifactError(f"metadata field 'input.resize': {exc}") from exc
    return InputSpec(size=size, resize=policy)


def _decode_codebooks(
    raw: object, *, m: int, k: int, dsub: int
) -> npt.NDArray[np.float32]:
    if not isinstance(raw, str):
        raise ArtifactError("metadata field 'codebooks' must be a base64 string")
    try:
        blob = base64.b64decode(raw.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ArtifactError(
            f"metadata field 'codebooks' is not valid base64: {exc}"
        ) from exc
    expected = m * k * dsub * 4
    if len(blob) != expected:
        raise ArtifactError(
            f"metadata field 'codebooks' holds {len(blob)} bytes, expected M*K*L*4 = "
            f"{m}*{k}*{dsub}*4 = {expected}"
        )
    codebooks = np.frombuffer(blob, dtype="<f4").reshape(m, k, dsub).astype(np.float32)
    if not np.all(np.isfinite(codebooks)):
        raise ArtifactError(
            "metadata field 'codebooks' contains NaN or infinite values"
        )
    return codebooks
