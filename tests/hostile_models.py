"""Hostile variants of the tiny model (issue 13): each one a real ONNX file a user could import.

Every builder takes the tiny model's graph (`tiny_model.build_tiny_graph`) and edits a copy
with the onnx helper API: a custom-op node, a ``Loop`` of 1e15 iterations, external data in
a ``Constant`` node or a sparse initializer, or outputs that break the artifact contract
(codes >= K, NaN embeddings, a wider embedding than declared). `write_raw` writes such a
graph with the ``sscq`` metadata but without `write_artifact`'s checks, as an attacker would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from tiny_model import build_tiny_graph, make_tiny_metadata

from sscq_desktop.model.artifact import METADATA_KEY, ArtifactMetadata

BadOutput = Literal["codes", "nan", "wide"]


def tiny_graph(
    *, model_id: str = "tiny-test-model"
) -> tuple[onnx.ModelProto, ArtifactMetadata]:
    """The tiny model's graph and metadata (see `tiny_model.make_tiny_metadata`)."""
    meta, projection = make_tiny_metadata(model_id=model_id)
    graph = build_tiny_graph(
        size=meta.input.size, codebooks=meta.codebooks, projection=projection
    )
    return graph, meta


def write_raw(proto: onnx.ModelProto, meta: ArtifactMetadata, path: Path) -> Path:
    """Write `proto` with `meta` as its ``sscq`` metadata, skipping every check."""
    del proto.metadata_props[:]
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, meta.to_json()
    path.write_bytes(proto.SerializeToString())
    return path


def with_custom_op(proto: onnx.ModelProto) -> onnx.ModelProto:
    """Route the embedding through a node of a custom-op domain onnxruntime lacks."""
    out = _copy(proto)
    _rename_output(out, "embedding", "emb_raw")
    out.graph.node.append(
        helper.make_node(
            "Evil", ["emb_raw"], ["embedding"], domain="com.example.custom"
        )
    )
    out.opset_import.append(helper.make_opsetid("com.example.custom", 1))
    return out


def with_loop(proto: onnx.ModelProto, *, trips: int = 10**15) -> onnx.ModelProto:
    """Add a ``Loop`` of `trips` iterations on the embedding's path (it never finishes).

    The loop's start value depends on the pixels, so onnxruntime cannot fold it away.
    """
    out = _copy(proto)
    _rename_output(out, "embedding", "emb_raw")
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Add", ["v_in", "one"], ["v_out"]),
        ],
        "spin",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("v_in", TensorProto.FLOAT, []),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("v_out", TensorProto.FLOAT, []),
        ],
        [numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one")],
    )
    out.graph.initializer.extend(
        [
            numpy_helper.from_array(np.array(trips, dtype=np.int64), "trips"),
            numpy_helper.from_array(np.array(True), "keep_going"),
            numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"),
        ]
    )
    out.graph.node.extend(
        [
            helper.make_node("ReduceSum", ["x_n"], ["start"], keepdims=0),
            helper.make_node(
                "Loop", ["trips", "keep_going", "start"], ["spun"], body=body
            ),
            helper.make_node("Mul", ["spun", "zero"], ["nothing"]),
            helper.make_node("Add", ["emb_raw", "nothing"], ["embedding"]),
        ]
    )
    return out


def with_hidden_loop(proto: onnx.ModelProto) -> onnx.ModelProto:
    """Smuggle a ``Loop`` into a subgraph attribute of an allowed node."""
    out = _copy(proto)
    looped = with_loop(proto)
    loop = next(n for n in looped.graph.node if n.op_type == "Loop")
    inner = helper.make_graph([loop], "hidden", [], [])
    node = next(n for n in out.graph.node if n.op_type == "Transpose")
    node.attribute.append(helper.make_attribute("smuggled", inner))
    return out


def with_external_constant(
    proto: onnx.ModelProto, location: str = "scale.bin"
) -> onnx.ModelProto:
    """Replace the ``scale`` initializer by a ``Constant`` node whose data is external."""
    out = _copy(proto)
    scale = next(t for t in out.graph.initializer if t.name == "scale")
    out.graph.initializer.remove(scale)
    tensor = onnx.TensorProto()
    tensor.CopyFrom(scale)
    _make_external(tensor, location)
    out.graph.node.insert(0, helper.make_node("Constant", [], ["scale"], value=tensor))
    return out


def with_external_sparse_initializer(
    proto: onnx.ModelProto, location: str = "scale.bin"
) -> onnx.ModelProto:
    """Store the ``scale`` initializer as a sparse tensor whose values are external."""
    out = _copy(proto)
    scale = next(t for t in out.graph.initializer if t.name == "scale")
    out.graph.initializer.remove(scale)
    values = numpy_helper.from_array(np.array([255.0], dtype=np.float32), "scale")
    _make_external(values, location)
    indices = numpy_helper.from_array(np.array([0], dtype=np.int64), "scale_idx")
    out.graph.sparse_initializer.append(helper.make_sparse_tensor(values, indices, [1]))
    return out


def with_bad_output(
    proto: onnx.ModelProto, kind: BadOutput, *, only_on_photos: bool = False
) -> onnx.ModelProto:
    """Break the output contract: codes >= K, a NaN embedding or one column too many.

    Args:
        proto: The tiny graph.
        kind: ``codes`` adds K to every code, ``nan`` adds NaN to the embedding,
            ``wide`` appends a column to the embedding (the declared shape stays).
        only_on_photos: Break it only for images that are not pure black or white, so
            a probe with black and white images passes and real photos do not
            (``codes`` and ``nan`` only).
    """
    out = _copy(proto)
    k = int(
        numpy_helper.to_array(
            next(t for t in out.graph.initializer if t.name == "C")
        ).shape[2]
    )
    nodes = [  # flag: (N, 1) 1.0 for photos, 0.0 for pure black or white images
        helper.make_node("Sub", ["one_f", "x_n"], ["x_inv"]),
        helper.make_node("Mul", ["x_n", "x_inv"], ["mid"]),
        helper.make_node("ReduceSum", ["mid", "all_axes"], ["mid_sum"], keepdims=1),
        helper.make_node("Reshape", ["mid_sum", "col_shape"], ["mid_col"]),
        helper.make_node("Cast", ["mid_col"], ["mid_bool"], to=TensorProto.BOOL),
        helper.make_node("Cast", ["mid_bool"], ["flag"], to=TensorProto.FLOAT),
    ]
    out.graph.initializer.extend(
        [
            numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one_f"),
            numpy_helper.from_array(np.array([1, 2, 3], dtype=np.int64), "all_axes"),
            numpy_helper.from_array(np.array([-1, 1], dtype=np.int64), "col_shape"),
            numpy_helper.from_array(np.array(k, dtype=np.int64), "k_i"),
            numpy_helper.from_array(np.array(3e38, dtype=np.float32), "huge"),
            numpy_helper.from_array(np.array([0], dtype=np.int64), "first"),
        ]
    )
    if not only_on_photos:
        nodes = [helper.make_node("Identity", ["one_f"], ["flag"])]
    if kind == "codes":
        cast = next(n for n in out.graph.node if n.output[0] == "codes")
        cast.input[0] = "idx_bad"
        nodes += [
            helper.make_node("Cast", ["flag"], ["flag_i"], to=TensorProto.INT64),
            helper.make_node("Mul", ["flag_i", "k_i"], ["shift"]),
            helper.make_node("Add", ["idx", "shift"], ["idx_bad"]),
        ]
    elif kind == "nan":  # huge * huge = inf, inf - inf = NaN; 0 stays 0
        _rename_output(out, "embedding", "emb_raw")
        nodes += [
            helper.make_node("Mul", ["flag", "huge"], ["big"]),
            helper.make_node("Mul", ["big", "big"], ["inf"]),
            helper.make_node("Sub", ["inf", "inf"], ["nan"]),
            helper.make_node("Add", ["emb_raw", "nan"], ["embedding"]),
        ]
    else:
        _rename_output(out, "embedding", "emb_raw")
        nodes = [
            helper.make_node("Gather", ["emb_raw", "first"], ["extra"], axis=1),
            helper.make_node("Concat", ["emb_raw", "extra"], ["embedding"], axis=1),
        ]
    out.graph.node.extend(nodes)
    return out


def _copy(proto: onnx.ModelProto) -> onnx.ModelProto:
    out = onnx.ModelProto()
    out.CopyFrom(proto)
    return out


def _rename_output(proto: onnx.ModelProto, old: str, new: str) -> None:
    """Let the node producing `old` produce `new`, and its readers read `new`."""
    for node in proto.graph.node:
        for i, name in enumerate(node.output):
            if name == old:
                node.output[i] = new
        for i, name in enumerate(node.input):
            if name == old:
                node.input[i] = new


def _make_external(tensor: onnx.TensorProto, location: str) -> None:
    tensor.ClearField("raw_data")
    tensor.ClearField("float_data")
    tensor.data_location = onnx.TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", location
