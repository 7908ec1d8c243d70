"""The model artifact: one ONNX file carrying the encoder, the codebooks and their metadata.

The one definition of the format (ARCHITECTURE.md) and its import point: this module checks
the graph's inputs and outputs and reads and writes the file; the metadata JSON lives in
`artifact_metadata` and is re-exported here, and which operators a graph may hold is
`graph_policy`'s. It never runs the model (`encoder` does); bad files raise `ArtifactError`.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import onnx

from sscq_desktop.model.artifact_metadata import (
    FORMAT_VERSION,
    MAX_CODEWORDS,
    ArtifactError,
    ArtifactMetadata,
    InputSpec,
)
from sscq_desktop.model.graph_policy import check_graph_policy

__all__ = [
    "CODES_NAME",
    "EMBEDDING_NAME",
    "FORMAT_VERSION",
    "INPUT_NAME",
    "MAX_CODEWORDS",
    "METADATA_KEY",
    "ArtifactError",
    "ArtifactMetadata",
    "InputSpec",
    "ModelArtifact",
    "read_artifact",
    "write_artifact",
]

METADATA_KEY = "sscq"
INPUT_NAME = "images"
EMBEDDING_NAME = "embedding"
CODES_NAME = "codes"


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
        ArtifactError: if the graph does not match the metadata, or holds operators or
            external data that `read_artifact` would refuse.
    """
    proto = _parse_model(model) if isinstance(model, bytes) else model
    check_graph_policy(proto)
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
        os.chmod(tmp_name, 0o644)  # a model file to share, not mkstemp's private 0600
        os.replace(tmp_name, dest)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return ModelArtifact(path=dest, metadata=metadata, input_batch_dynamic=dynamic)


def read_artifact(path: str | os.PathLike[str]) -> ModelArtifact:
    """Load and validate a model file.

    Checks that it is ONNX, every metadata field, that the graph passes
    `check_graph_policy` (only the exporter's operators, no external data anywhere) and
    that it has the ``images`` input and the ``embedding`` and ``codes`` outputs with the
    dtypes and sizes the metadata implies.

    Args:
        path: The ONNX file.

    Returns:
        The validated artifact.

    Raises:
        ArtifactError: naming the file and what is wrong with it.
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
    try:
        metadata = _read_metadata(proto, src)
        check_graph_policy(proto)
        dynamic = _check_graph(proto, metadata)
    except ArtifactError as exc:
        raise ArtifactError(f"model file {src} is invalid: {exc}") from exc
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


def _read_metadata(proto: onnx.ModelProto, src: Path) -> ArtifactMetadata:
    props: dict[str, str | bytes] = {p.key: p.value for p in proto.metadata_props}
    if METADATA_KEY not in props:
        raise ArtifactError(
            f"{src.name} has no '{METADATA_KEY}' metadata: not an SSCQ model artifact"
        )
    text = props[METADATA_KEY]
    if isinstance(text, bytes):  # protobuf's answer for a string that is not UTF-8
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ArtifactError(
                f"its '{METADATA_KEY}' metadata is not valid UTF-8 text "
                f"(byte {text[exc.start]:#04x} at position {exc.start})"
            ) from None
    return ArtifactMetadata.from_json(text)


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
