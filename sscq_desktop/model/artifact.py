"""The model artifact: one ONNX file carrying the encoder, the codebooks and their metadata.

This module is the single definition of the format that passes from `training` to the app
(see ARCHITECTURE.md, "The model artifact"). It writes, reads and validates; it never runs
the model (that is `sscq_desktop.model.encoder`). Every field is checked before use, and a
bad file is refused with an `ArtifactError` that names the problem.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx

from sscq_desktop.core import Distance
from sscq_desktop.model.preprocessing import ResizePolicy, check_resize_policy

FORMAT_VERSION = 1
METADATA_KEY = "sscq"
INPUT_NAME = "images"
EMBEDDING_NAME = "embedding"
CODES_NAME = "codes"
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
    """What the encoder expects: S x S uint8 RGB pixels produced by `resize`."""

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
        """Serialise to the JSON stored in the ONNX file."""
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

        Raises:
            ArtifactError: on invalid JSON, a missing key or any malformed field.
        """
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
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
        """Field-by-field equality (numpy-aware), for tests and round-trip checks."""
        return self.to_json() == other.to_json()


@dataclass(frozen=True)
class ModelArtifact:
    """A validated model file on disk.

    Attributes:
        path: Where the ONNX file lives.
        metadata: Its validated metadata.
        input_batch_dynamic: Whether the batch axis of ``images`` is dynamic.
    """

    path: Path
    metadata: ArtifactMetadata
    input_batch_dynamic: bool = field(default=True)

    @property
    def model_id(self) -> str:
        """The model's identifier."""
        return self.metadata.model_id


def write_artifact(
    model: onnx.ModelProto | bytes,
    metadata: ArtifactMetadata,
    path: str | os.PathLike[str],
) -> ModelArtifact:
    """Attach `metadata` to an exported ONNX graph, validate and write it atomically.

    Args:
        model: The exported encoder graph (a ModelProto or its serialised bytes).
        metadata: Codebooks and description.
        path: Destination file; written through a temporary file and renamed, so a
            crash never leaves a half-written model.

    Returns:
        The artifact as `read_artifact` would load it.

    Raises:
        ArtifactError: if the graph does not match the metadata.
    """
    proto = _parse_model(model) if isinstance(model, bytes) else model
    keep = [p for p in proto.metadata_props if p.key != METADATA_KEY]
    del proto.metadata_props[:]
    proto.metadata_props.extend(keep)
    entry = proto.metadata_props.add()
    entry.key = METADATA_KEY
    entry.value = metadata.to_json()
    dynamic = _check_graph(proto, metadata)
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent
    )
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(proto.SerializeToString())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, dest)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return ModelArtifact(path=dest, metadata=metadata, input_batch_dynamic=dynamic)


def read_artifact(path: str | os.PathLike[str]) -> ModelArtifact:
    """Load and validate a model file.

    Checks that it is ONNX, that it keeps no external data outside its own folder, that the
    graph has the ``images`` input and the ``embedding`` and ``codes`` outputs with the
    dtypes and sizes the metadata implies, and every metadata field.

    Raises:
        ArtifactError: naming what is wrong with the file.
    """
    src = Path(path)
    if not src.is_file():
        raise ArtifactError(f"model file not found: {src}")
    try:
        data = src.read_bytes()
    except OSError as exc:
        raise ArtifactError(
            f"cannot read model file {src}: {exc.strerror or exc}"
        ) from exc
    proto = _parse_model(data, source=src)
    _check_external_data(proto, src.parent)
    props = {p.key: p.value for p in proto.metadata_props}
    if METADATA_KEY not in props:
        raise ArtifactError(
            f"{src.name} has no '{METADATA_KEY}' metadata: not an SSCQ model artifact"
        )
    metadata = ArtifactMetadata.from_json(props[METADATA_KEY])
    dynamic = _check_graph(proto, metadata)
    return ModelArtifact(path=src, metadata=metadata, input_batch_dynamic=dynamic)


def _parse_model(data: bytes, *, source: Path | None = None) -> onnx.ModelProto:
    name = source.name if source is not None else "model"
    if not data:
        raise ArtifactError(f"{name} is empty: not an ONNX model")
    proto = onnx.ModelProto()
    try:
        proto.ParseFromString(data)
    except Exception as exc:  # protobuf's DecodeError and friends: any parse failure
        raise ArtifactError(
            f"{name} is not a valid ONNX file (truncated or another format): {exc}"
        ) from exc
    if not proto.HasField("graph") or not proto.graph.node:
        raise ArtifactError(f"{name} is not a valid ONNX file: it holds no graph")
    return proto


def _check_external_data(proto: onnx.ModelProto, folder: Path) -> None:
    root = folder.resolve()
    for tensor in proto.graph.initializer:
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        info = {entry.key: entry.value for entry in tensor.external_data}
        location = info.get("location", "")
        target = (root / location).resolve()
        if Path(location).is_absolute() or not target.is_relative_to(root):
            raise ArtifactError(
                f"tensor {tensor.name!r} refers to external data outside the model's folder: {location!r}"
            )
        if not target.is_file():
            raise ArtifactError(
                f"tensor {tensor.name!r} refers to missing external data {location!r}"
            )


def _check_graph(proto: onnx.ModelProto, metadata: ArtifactMetadata) -> bool:
    """Check graph inputs and outputs against the metadata; return whether batch is dynamic."""
    inputs = {vi.name: vi for vi in proto.graph.input}
    initializers = {t.name for t in proto.graph.initializer}
    real_inputs = [name for name in inputs if name not in initializers]
    if real_inputs != [INPUT_NAME]:
        raise ArtifactError(
            f"graph must have exactly one input named {INPUT_NAME!r}, found {real_inputs}"
        )
    s = metadata.input.size
    in_dims = _tensor_dims(
        inputs[INPUT_NAME], onnx.TensorProto.UINT8, INPUT_NAME, rank=4
    )
    if in_dims[1:] != [s, s, 3]:
        raise ArtifactError(
            f"input {INPUT_NAME!r} has shape {in_dims}, expected [N, {s}, {s}, 3] (NHWC uint8 RGB)"
        )
    outputs = {vi.name: vi for vi in proto.graph.output}
    for name in (EMBEDDING_NAME, CODES_NAME):
        if name not in outputs:
            raise ArtifactError(
                f"graph has no output named {name!r} (outputs: {sorted(outputs)})"
            )
    emb_dims = _tensor_dims(
        outputs[EMBEDDING_NAME], onnx.TensorProto.FLOAT, EMBEDDING_NAME, rank=2
    )
    if emb_dims[1] != metadata.embed_dim:
        raise ArtifactError(
            f"output {EMBEDDING_NAME!r} has {emb_dims[1]} dimensions but M*L = "
            f"{metadata.M}*{metadata.L} = {metadata.embed_dim}"
        )
    code_dims = _tensor_dims(
        outputs[CODES_NAME], onnx.TensorProto.UINT8, CODES_NAME, rank=2
    )
    if code_dims[1] != metadata.M:
        raise ArtifactError(
            f"output {CODES_NAME!r} has {code_dims[1]} columns but M = {metadata.M}"
        )
    return in_dims[0] is None


def _tensor_dims(
    vi: onnx.ValueInfoProto, elem_type: int, name: str, *, rank: int
) -> list[int | None]:
    ttype = vi.type.tensor_type
    if ttype.elem_type != elem_type:
        got = onnx.TensorProto.DataType.Name(ttype.elem_type)
        want = onnx.TensorProto.DataType.Name(elem_type)
        raise ArtifactError(f"{name!r} has element type {got}, expected {want}")
    dims: list[int | None] = [
        d.dim_value if d.HasField("dim_value") else None for d in ttype.shape.dim
    ]
    if len(dims) != rank:
        raise ArtifactError(f"{name!r} has rank {len(dims)}, expected {rank}")
    return dims


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
