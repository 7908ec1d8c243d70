"""The model artifact: round trip, and every malformed field refused with a clear message."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from tiny_model import build_tiny_graph, make_tiny_metadata

from sscq_desktop.model.artifact import (
    METADATA_KEY,
    ArtifactError,
    ArtifactMetadata,
    InputSpec,
    read_artifact,
    write_artifact,
)


def _write_with_raw_metadata(path: Path, mutate: Any) -> Path:
    """Write a valid tiny artifact, then rewrite its metadata JSON through `mutate`."""
    meta, projection = make_tiny_metadata()
    graph = build_tiny_graph(size=32, codebooks=meta.codebooks, projection=projection)
    write_artifact(graph, meta, path)
    proto = onnx.load(str(path))
    for prop in proto.metadata_props:
        if prop.key == METADATA_KEY:
            raw = json.loads(prop.value)
            mutate(raw)
            prop.value = json.dumps(raw)
    path.write_bytes(proto.SerializeToString())
    return path


def test_artifact_round_trips_every_field(tmp_path: Path) -> None:
    meta, projection = make_tiny_metadata(M=4, K=256, L=8)
    meta = ArtifactMetadata(
        model_id=meta.model_id,
        M=meta.M,
        K=meta.K,
        L=meta.L,
        distance="squared_l2",
        input=InputSpec(size=32, resize="squash"),
        codebooks=meta.codebooks,
        training={
            "data": "x",
            "images": 12,
            "epochs": 3,
            "final_losses": {"total": 1.5},
        },
        metrics={"map@100": 0.5},
    )
    graph = build_tiny_graph(size=32, codebooks=meta.codebooks, projection=projection)
    write_artifact(graph, meta, tmp_path / "m.onnx")
    loaded = read_artifact(tmp_path / "m.onnx").metadata
    assert loaded.model_id == meta.model_id
    assert (loaded.M, loaded.K, loaded.L) == (4, 256, 8)
    assert loaded.distance == "squared_l2"
    assert loaded.input == InputSpec(size=32, resize="squash")
    assert loaded.codebooks.dtype == np.float32
    np.testing.assert_array_equal(loaded.codebooks, meta.codebooks)
    assert dict(loaded.training) == dict(meta.training)
    assert loaded.metrics == {"map@100": 0.5}
    assert loaded.format_version == 1
    assert loaded.same_as(meta)
    assert loaded.nbits == 32 and loaded.embed_dim == 32
    if os.name == "posix":  # a file to share, readable by others like any export
        assert stat.S_IMODE((tmp_path / "m.onnx").stat().st_mode) == 0o644


def test_write_is_atomic_and_leaves_no_temporary_files(
    tmp_path: Path, tiny_artifact: Any
) -> None:
    leftovers = [
        p.name for p in tiny_artifact.path.parent.iterdir() if p.name.endswith(".tmp")
    ]
    assert leftovers == []
    assert read_artifact(tiny_artifact.path).model_id == "tiny-test-model"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda raw: raw.pop("M"), "missing the key(s) M"),
        (lambda raw: raw.pop("codebooks"), "missing the key(s) codebooks"),
        (lambda raw: raw.pop("training"), "missing the key(s) training"),
        (lambda raw: raw.update(M="8"), "'M' must be a positive integer"),
        (lambda raw: raw.update(K=0), "'K' must be a positive integer"),
        (lambda raw: raw.update(K=512), "'K' must be at most 256"),
        (lambda raw: raw.update(L=True), "'L' must be a positive integer"),
        (lambda raw: raw.update(format_version=99), "unsupported format_version 99"),
        (lambda raw: raw.update(distance="cosine"), "'distance' must be one of"),
        (lambda raw: raw.update(model_id="../evil"), "'model_id'"),
        (lambda raw: raw.update(input={"size": 32}), "input.resize"),
        (lambda raw: raw.update(input={"size": 2, "resize": "squash"}), "input.size"),
        (lambda raw: raw.update(input=[32]), "'input' must be a JSON object"),
        (lambda raw: raw.update(codebooks="%%%"), "not valid base64"),
        (
            # wrong shape: one codebook's worth of bytes missing
            lambda raw: raw.update(
                codebooks=base64.b64encode(
                    np.zeros((7, 16, 4), "<f4").tobytes()
                ).decode()
            ),
            "expected M*K*L*4",
        ),
        (
            # wrong dtype: float64 bytes are twice as long as float32 ones
            lambda raw: raw.update(
                codebooks=base64.b64encode(
                    np.zeros((8, 16, 4), "<f8").tobytes()
                ).decode()
            ),
            "expected M*K*L*4",
        ),
        (
            lambda raw: raw.update(
                codebooks=base64.b64encode(
                    np.full((8, 16, 4), np.nan, "<f4").tobytes()
                ).decode()
            ),
            "NaN or infinite",
        ),
        (lambda raw: raw.update(training="yes"), "'training' must be a JSON object"),
        (lambda raw: raw.update(metrics=[1]), "'metrics' must be a JSON object"),
    ],
)
def test_malformed_metadata_is_refused_with_its_reason(
    tmp_path: Path, mutate: Any, message: str
) -> None:
    path = _write_with_raw_metadata(tmp_path / "bad.onnx", mutate)
    with pytest.raises(
        ArtifactError,
        match=message.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*"),
    ):
        read_artifact(path)


def test_metadata_l_that_does_not_match_the_embedding_is_refused(
    tmp_path: Path,
) -> None:
    # M*L mismatch: the codebooks say L = 8 but the graph's embedding has 8*4 = 32 dims.
    meta, projection = make_tiny_metadata()
    graph = build_tiny_graph(size=32, codebooks=meta.codebooks, projection=projection)
    wrong = ArtifactMetadata(
        model_id="x",
        M=8,
        K=16,
        L=8,
        distance="subspace_l2",
        input=meta.input,
        codebooks=np.zeros((8, 16, 8), np.float32),
        training={},
    )
    with pytest.raises(ArtifactError, match=r"32 dimensions but M\*L = 8\*8 = 64"):
        write_artifact(graph, wrong, tmp_path / "m.onnx")


def test_input_size_that_does_not_match_the_graph_is_refused(tmp_path: Path) -> None:
    meta, projection = make_tiny_metadata(size=32)
    graph = build_tiny_graph(size=64, codebooks=meta.codebooks, projection=projection)
    with pytest.raises(ArtifactError, match=r"expected \[N, 32, 32, 3\]"):
        write_artifact(graph, meta, tmp_path / "m.onnx")


def test_codebooks_of_the_wrong_shape_or_dtype_are_refused_at_construction() -> None:
    meta, _ = make_tiny_metadata()
    kwargs = dict(
        model_id="x",
        M=8,
        K=16,
        L=4,
        distance="subspace_l2",
        input=meta.input,
        training={},
    )
    with pytest.raises(ArtifactError, match="float32"):
        ArtifactMetadata(codebooks=meta.codebooks.astype(np.float64), **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ArtifactError, match=r"shape \(8, 16, 5\)"):
        ArtifactMetadata(codebooks=np.zeros((8, 16, 5), np.float32), **kwargs)  # type: ignore[arg-type]


def test_graph_with_wrong_output_dtype_is_refused(tmp_path: Path) -> None:
    meta, projection = make_tiny_metadata()
    graph = build_tiny_graph(size=32, codebooks=meta.codebooks, projection=projection)
    graph.graph.output[1].type.tensor_type.elem_type = onnx.TensorProto.INT64
    with pytest.raises(
        ArtifactError, match="'codes' has element type INT64, expected UINT8"
    ):
        write_artifact(graph, meta, tmp_path / "m.onnx")


def test_graph_without_codes_output_is_refused(tmp_path: Path) -> None:
    meta, projection = make_tiny_metadata()
    graph = build_tiny_graph(size=32, codebooks=meta.codebooks, projection=projection)
    del graph.graph.output[1]
    with pytest.raises(ArtifactError, match="no output named 'codes'"):
        write_artifact(graph, meta, tmp_path / "m.onnx")


def test_truncated_file_is_refused(tmp_path: Path, tiny_artifact: Any) -> None:
    data = tiny_artifact.path.read_bytes()
    bad = tmp_path / "truncated.onnx"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match="not a valid ONNX file"):
        read_artifact(bad)


@pytest.mark.parametrize(
    "content",
    [b"", b"this is a text file, not a model\n", b"\x89PNG\r\n\x1a\n" + bytes(200)],
)
def test_file_that_is_not_onnx_at_all_is_refused(
    tmp_path: Path, content: bytes
) -> None:
    bad = tmp_path / "notamodel.onnx"
    bad.write_bytes(content)
    with pytest.raises(ArtifactError, match="ONNX"):
        read_artifact(bad)


def test_onnx_file_without_sscq_metadata_is_refused(
    tmp_path: Path, tiny_artifact: Any
) -> None:
    proto = onnx.load(str(tiny_artifact.path))
    del proto.metadata_props[:]
    bare = tmp_path / "bare.onnx"
    bare.write_bytes(proto.SerializeToString())
    with pytest.raises(ArtifactError, match="no 'sscq' metadata"):
        read_artifact(bare)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="model file not found"):
        read_artifact(tmp_path / "nope.onnx")


def test_external_data_outside_the_model_folder_is_refused(
    tmp_path: Path, tiny_artifact: Any
) -> None:
    proto = onnx.load(str(tiny_artifact.path))
    tensor = next(t for t in proto.graph.initializer if t.name == "W")
    tensor.data_location = onnx.TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "../../etc/passwd"
    tensor.ClearField("raw_data")
    bad = tmp_path / "ext.onnx"
    bad.write_bytes(proto.SerializeToString())
    with pytest.raises(ArtifactError, match="'W' keeps its data in an external file"):
        read_artifact(bad)


def test_metadata_with_unserialisable_training_is_refused() -> None:
    meta, _ = make_tiny_metadata()
    bad = ArtifactMetadata(
        model_id="x",
        M=8,
        K=16,
        L=4,
        distance="subspace_l2",
        input=meta.input,
        codebooks=meta.codebooks,
        training={"when": object()},
    )
    with pytest.raises(ArtifactError, match="not JSON-serialisable"):
        bad.to_json()


def _write_with_metadata_bytes(path: Path, text: bytes) -> Path:
    """A valid tiny artifact whose ``sscq`` metadata holds exactly these bytes."""
    placeholder = "\x01" * len(text)  # same length: no protobuf length prefix changes
    meta, projection = make_tiny_metadata()
    graph = build_tiny_graph(size=32, codebooks=meta.codebooks, projection=projection)
    write_artifact(graph, meta, path)
    proto = onnx.load(str(path))
    for prop in proto.metadata_props:
        if prop.key == METADATA_KEY:
            prop.value = placeholder
    data = proto.SerializeToString()
    assert data.count(placeholder.encode()) == 1
    path.write_bytes(data.replace(placeholder.encode(), text))
    return path


def _deep_json_model(path: Path, depth: int) -> Path:
    meta, projection = make_tiny_metadata()
    graph = build_tiny_graph(size=32, codebooks=meta.codebooks, projection=projection)
    write_artifact(graph, meta, path)
    proto = onnx.load(str(path))
    for prop in proto.metadata_props:
        if prop.key == METADATA_KEY:
            raw = json.loads(prop.value)
            prop.value = (
                prop.value[:-1] + ', "deep": ' + "[" * depth + "]" * depth + "}"
            )
            assert "deep" not in raw
    path.write_bytes(proto.SerializeToString())
    return path


@pytest.mark.parametrize(
    "text",
    [b'\xff\xfe{"model_id": "x"}', b'{"model_id": "caf\xe9"}'],
    ids=["utf16-looking", "latin1-inside-a-string"],
)
def test_metadata_that_is_not_utf8_is_refused_naming_the_file(
    tmp_path: Path, text: bytes
) -> None:
    path = _write_with_metadata_bytes(tmp_path / "latin1.onnx", text)
    with pytest.raises(
        ArtifactError,
        match=r"model file .*latin1\.onnx is invalid: its 'sscq' metadata is not "
        r"valid UTF-8 text \(byte 0x(ff|e9) at position \d+\)",
    ):
        read_artifact(path)


def test_metadata_nested_100k_deep_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = _deep_json_model(tmp_path / "deep.onnx", 100_000)
    with pytest.raises(
        ArtifactError,
        match=r"model file .*deep\.onnx is invalid: metadata is not valid JSON: "
        r"it is nested too deeply",
    ):
        read_artifact(path)


def test_metadata_with_an_integer_too_long_to_parse_is_refused(tmp_path: Path) -> None:
    path = _write_with_raw_metadata(tmp_path / "big.onnx", lambda raw: None)
    proto = onnx.load(str(path))
    for prop in proto.metadata_props:
        if prop.key == METADATA_KEY:
            prop.value = prop.value.replace('"M": 8', '"M": ' + "9" * 5000)
    path.write_bytes(proto.SerializeToString())
    with pytest.raises(ArtifactError, match="metadata is not valid JSON"):
        read_artifact(path)
