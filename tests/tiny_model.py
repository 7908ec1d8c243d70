"""A tiny, deterministic SSCQ-format model built directly as an ONNX graph (no torch).

Embedding = fixed random projection of a 4 x 4 grid of average colours, so resized or
re-encoded copies of a photo land next to each other, as a real model's would. Codes are
the hard PQ assignment of that embedding to the metadata's codebooks, computed in the graph.
Only operators an exported artifact uses (`graph_policy.ALLOWED_OPS`): the grid average is
a depthwise `Conv` with a constant kernel, the projection a `Gemm`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from sscq_desktop.model.artifact import (
    ArtifactMetadata,
    InputSpec,
    ModelArtifact,
    write_artifact,
)

GRID = 4


def build_tiny_graph(
    *,
    size: int,
    codebooks: np.ndarray,
    projection: np.ndarray,
    dynamic_batch: bool = True,
) -> onnx.ModelProto:
    m, k, dsub = codebooks.shape
    d = m * dsub
    batch: str | int = "N" if dynamic_batch else 1
    images = helper.make_tensor_value_info(
        "images", TensorProto.UINT8, [batch, size, size, 3]
    )
    embedding = helper.make_tensor_value_info(
        "embedding", TensorProto.FLOAT, [batch, d]
    )
    codes = helper.make_tensor_value_info("codes", TensorProto.UINT8, [batch, m])
    pool = size // GRID
    inits = [
        numpy_helper.from_array(np.array(255.0, dtype=np.float32), "scale"),
        numpy_helper.from_array(
            np.full((3, 1, pool, pool), 1.0 / (pool * pool), dtype=np.float32),
            "avg_kernel",
        ),
        numpy_helper.from_array(projection.astype(np.float32), "W"),
        numpy_helper.from_array(
            np.array([-1, m, 1, dsub], dtype=np.int64), "split_shape"
        ),
        numpy_helper.from_array(codebooks.astype(np.float32)[None], "C"),
        numpy_helper.from_array(np.array([3], dtype=np.int64), "last_axis"),
    ]
    nodes = [
        helper.make_node("Cast", ["images"], ["x_f"], to=TensorProto.FLOAT),
        helper.make_node("Div", ["x_f", "scale"], ["x_n"]),
        helper.make_node("Transpose", ["x_n"], ["x_nchw"], perm=[0, 3, 1, 2]),
        helper.make_node(  # per-channel average over pool x pool cells
            "Conv",
            ["x_nchw", "avg_kernel"],
            ["pooled"],
            kernel_shape=[pool, pool],
            strides=[pool, pool],
            group=3,
        ),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "W"], ["embedding"]),
        helper.make_node(
            "Reshape", ["embedding", "split_shape"], ["sub"]
        ),  # (N, M, 1, L)
        helper.make_node("Sub", ["sub", "C"], ["diff"]),  # (N, M, K, L)
        helper.make_node("Mul", ["diff", "diff"], ["sq"]),
        helper.make_node(
            "ReduceSum", ["sq", "last_axis"], ["dist"], keepdims=0
        ),  # (N, M, K)
        helper.make_node(
            "ArgMin", ["dist"], ["idx"], axis=2, keepdims=0
        ),  # (N, M) int64
        helper.make_node("Cast", ["idx"], ["codes"], to=TensorProto.UINT8),
    ]
    graph = helper.make_graph(nodes, "tiny_sscq", [images], [embedding, codes], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def make_tiny_metadata(
    *,
    model_id: str = "tiny-test-model",
    M: int = 8,
    K: int = 16,
    L: int = 4,
    size: int = 32,
    seed: int = 0,
) -> tuple[ArtifactMetadata, np.ndarray]:
    rng = np.random.default_rng(seed)
    projection = rng.standard_normal((3 * GRID * GRID, M * L)).astype(np.float32)
    # Codebooks from the embeddings of random colour grids, so codes are spread out.
    samples = rng.random((4096, 3 * GRID * GRID)).astype(np.float32) @ projection
    sub = samples.reshape(-1, M, L)
    picks = rng.choice(len(sub), size=K, replace=False)
    codebooks = np.ascontiguousarray(sub[picks].transpose(1, 0, 2)).astype(np.float32)
    meta = ArtifactMetadata(
        model_id=model_id,
        M=M,
        K=K,
        L=L,
        distance="subspace_l2",
        input=InputSpec(size=size, resize="center_crop"),
        codebooks=codebooks,
        training={"data": "none (generated test model)", "images": 0, "epochs": 0},
    )
    return meta, projection


def make_tiny_artifact(
    path: Path,
    *,
    model_id: str = "tiny-test-model",
    M: int = 8,
    K: int = 16,
    L: int = 4,
    size: int = 32,
    seed: int = 0,
    dynamic_batch: bool = True,
    collapsed: bool = False,
) -> ModelArtifact:
    """Write a tiny model; ``collapsed`` zeroes its projection (one embedding for all)."""
    meta, projection = make_tiny_metadata(
        model_id=model_id, M=M, K=K, L=L, size=size, seed=seed
    )
    graph = build_tiny_graph(
        size=size,
        codebooks=meta.codebooks,
        projection=np.zeros_like(projection) if collapsed else projection,
        dynamic_batch=dynamic_batch,
    )
    return write_artifact(graph, meta, path)
