"""Which ONNX graphs the app agrees to run: the exporter's operators, all data in the file.

A model file is untrusted input (issue 13): onnxruntime runs whatever graph it holds, so a
``Loop`` of 1e15 iterations hangs every encode, a custom-op domain fails to load, and
external data reads other files from disk. `check_graph_policy` admits only the operators
that ``training/export.py`` emits for every backbone, in the default ONNX domain, with every
tensor stored inside the file; ``tests/integration/test_export_op_allowlist.py`` exports each
backbone and keeps `ALLOWED_OPS` in step with the exporter. Never runs a model.
"""

from __future__ import annotations

from collections.abc import Iterator

import onnx

from sscq_desktop.model.artifact_metadata import ArtifactError

__all__ = ["ALLOWED_OPS", "check_graph_policy"]

ALLOWED_OPS = frozenset(
    {
        # uint8 NHWC in, scaled to [0, 1]: Cast, Transpose, Div
        "Cast",
        "Transpose",
        "Div",
        # backbones (cifar_resnet18, compact, convpool, depthwise); BatchNorm is folded
        "Conv",
        "Relu",
        "Add",
        "MaxPool",
        "GlobalAveragePool",
        "Flatten",
        "Identity",
        # projection head
        "Gemm",
        # hard PQ assignment: distances to the codewords, then argmin
        "Shape",
        "Gather",
        "Unsqueeze",
        "Concat",
        "Reshape",
        "Constant",
        "Sub",
        "Mul",
        "ReduceSum",
        "ArgMin",
        # fitted search codes: the embedding made unit length (Sqrt, Div), then rotated
        # (Gemm)
        "Sqrt",
    }
)
"""Operators of an exported artifact (``training.export.export_onnx``, opset 17)."""

_DEFAULT_DOMAINS = ("", "ai.onnx")


def check_graph_policy(proto: onnx.ModelProto) -> None:
    """Refuse a graph the app must not run, whatever its metadata says.

    Walks the main graph and every subgraph held in a node attribute. Refused: operators
    outside `ALLOWED_OPS` (``Loop``, ``Scan``, ``If``, anything else the exporter never
    writes), nodes or opset imports outside the default ONNX domain, model-local
    functions, and tensors whose data lives in another file (initializers, sparse
    initializers, ``Constant`` values and any other tensor attribute).

    Args:
        proto: The parsed model.

    Raises:
        ArtifactError: naming the first offending operator, domain or tensor.
    """
    for opset in proto.opset_import:
        if opset.domain not in _DEFAULT_DOMAINS:
            raise ArtifactError(
                f"the graph imports the operator domain {opset.domain!r}; SSCQ models "
                "use only the default ONNX domain"
            )
    if proto.functions:
        raise ArtifactError(
            f"the graph defines model-local functions ({proto.functions[0].name!r}); "
            "SSCQ models have none"
        )
    for graph in _graphs(proto.graph):
        for tensor in graph.initializer:
            _check_tensor(tensor)
        for sparse in graph.sparse_initializer:
            _check_tensor(sparse.values)
            _check_tensor(sparse.indices)
        for node in graph.node:
            _check_node(node)


def _graphs(root: onnx.GraphProto) -> Iterator[onnx.GraphProto]:
    """The graph and all its subgraphs, depth first, without recursion."""
    stack = [root]
    while stack:
        graph = stack.pop()
        yield graph
        for node in graph.node:
            for attr in node.attribute:
                if attr.HasField("g"):
                    stack.append(attr.g)
                stack.extend(attr.graphs)


def _check_node(node: onnx.NodeProto) -> None:
    name = f" ({node.name!r})" if node.name else ""
    if node.domain not in _DEFAULT_DOMAINS:
        raise ArtifactError(
            f"node{name} uses the custom operator {node.op_type!r} of domain "
            f"{node.domain!r}; SSCQ models use only the default ONNX domain"
        )
    if node.op_type not in ALLOWED_OPS:
        raise ArtifactError(
            f"node{name} uses the operator {node.op_type!r}, which exported SSCQ models "
            "never contain; refusing to run it"
        )
    for attr in node.attribute:
        tensors = list(attr.tensors)
        if attr.HasField("t"):
            tensors.append(attr.t)
        sparse = list(attr.sparse_tensors)
        if attr.HasField("sparse_tensor"):
            sparse.append(attr.sparse_tensor)
        for sp in sparse:
            tensors.extend((sp.values, sp.indices))
        for tensor in tensors:
            _check_tensor(tensor)


def _check_tensor(tensor: onnx.TensorProto) -> None:
    if tensor.data_location == onnx.TensorProto.EXTERNAL or tensor.external_data:
        location = next(
            (e.value for e in tensor.external_data if e.key == "location"), ""
        )
        raise ArtifactError(
            f"tensor {tensor.name!r} keeps its data in an external file ({location!r}); "
            "a model must be one self-contained file"
        )
