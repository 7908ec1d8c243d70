"""Graph policy (issue 13): only the exporter's operators, default domain, no external data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from hostile_models import (
    tiny_graph,
    with_custom_op,
    with_external_constant,
    with_external_sparse_initializer,
    with_hidden_loop,
    with_loop,
    write_raw,
)

from sscq_desktop.model.artifact import ArtifactError, read_artifact, write_artifact
from sscq_desktop.model.graph_policy import ALLOWED_OPS


def test_the_tiny_test_model_uses_only_allowed_operators() -> None:
    graph, _ = tiny_graph()
    assert {n.op_type for n in graph.graph.node} <= ALLOWED_OPS


def test_a_custom_op_domain_is_refused(tmp_path: Path) -> None:
    graph, meta = tiny_graph()
    path = write_raw(with_custom_op(graph), meta, tmp_path / "custom.onnx")
    with pytest.raises(ArtifactError, match=r"operator domain 'com\.example\.custom'"):
        read_artifact(path)


def test_a_custom_op_node_is_refused_even_without_its_opset_import(
    tmp_path: Path,
) -> None:
    graph, meta = tiny_graph()
    proto = with_custom_op(graph)
    keep = [o for o in proto.opset_import if o.domain == ""]
    del proto.opset_import[:]
    proto.opset_import.extend(keep)
    path = write_raw(proto, meta, tmp_path / "custom.onnx")
    with pytest.raises(ArtifactError, match="custom operator 'Evil'"):
        read_artifact(path)


def test_a_loop_is_refused_before_anything_runs(tmp_path: Path) -> None:
    graph, meta = tiny_graph()
    path = write_raw(with_loop(graph), meta, tmp_path / "loop.onnx")
    with pytest.raises(
        ArtifactError, match=r"model file .*loop\.onnx is invalid: .*'Loop'"
    ):
        read_artifact(path)


def test_a_loop_hidden_in_a_subgraph_is_refused(tmp_path: Path) -> None:
    graph, meta = tiny_graph()
    path = write_raw(with_hidden_loop(graph), meta, tmp_path / "hidden.onnx")
    with pytest.raises(ArtifactError, match="'Loop'"):
        read_artifact(path)


def test_write_artifact_refuses_what_read_artifact_would(tmp_path: Path) -> None:
    graph, meta = tiny_graph()
    with pytest.raises(ArtifactError, match="'Loop'"):
        write_artifact(with_loop(graph), meta, tmp_path / "loop.onnx")
    assert not (tmp_path / "loop.onnx").exists()


def _data_file(folder: Path) -> None:
    """The external data a hostile model points at, present beside it."""
    (folder / "scale.bin").write_bytes(np.array([255.0], dtype="<f4").tobytes())


def test_external_data_in_a_constant_node_is_refused(tmp_path: Path) -> None:
    _data_file(tmp_path)
    graph, meta = tiny_graph()
    path = write_raw(with_external_constant(graph), meta, tmp_path / "const.onnx")
    with pytest.raises(
        ArtifactError, match="'scale' keeps its data in an external file"
    ):
        read_artifact(path)


def test_external_data_in_a_sparse_initializer_is_refused(tmp_path: Path) -> None:
    _data_file(tmp_path)
    graph, meta = tiny_graph()
    proto = with_external_sparse_initializer(graph)
    path = write_raw(proto, meta, tmp_path / "sparse.onnx")
    with pytest.raises(
        ArtifactError, match="'scale' keeps its data in an external file"
    ):
        read_artifact(path)


def test_external_data_in_a_subgraph_is_refused(tmp_path: Path) -> None:
    _data_file(tmp_path)
    graph, meta = tiny_graph()
    constant = with_external_constant(graph).graph.node[0]
    inner = onnx.helper.make_graph([constant], "hidden", [], [])
    node = next(n for n in graph.graph.node if n.op_type == "Transpose")
    node.attribute.append(onnx.helper.make_attribute("smuggled", inner))
    path = write_raw(graph, meta, tmp_path / "hidden.onnx")
    with pytest.raises(
        ArtifactError, match="'scale' keeps its data in an external file"
    ):
        read_artifact(path)


def test_external_initializer_inside_the_model_folder_is_refused_too(
    tmp_path: Path,
) -> None:
    """Import copies only the .onnx (and .pt): external data would never come along."""
    _data_file(tmp_path)
    graph, meta = tiny_graph()
    scale = next(t for t in graph.graph.initializer if t.name == "scale")
    scale.ClearField("raw_data")
    scale.ClearField("float_data")
    scale.data_location = onnx.TensorProto.EXTERNAL
    entry = scale.external_data.add()
    entry.key, entry.value = "location", "scale.bin"
    path = write_raw(graph, meta, tmp_path / "ext.onnx")
    with pytest.raises(
        ArtifactError, match="'scale' keeps its data in an external file"
    ):
        read_artifact(path)
