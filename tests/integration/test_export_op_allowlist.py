"""The app's operator allowlist is exactly what the exporter writes, for every backbone.

`sscq_desktop.model.graph_policy.ALLOWED_OPS` refuses every other operator (issue 13), so
an exporter change or a new backbone must fail here rather than in a user's import.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from sscq_desktop.model.artifact import read_artifact
from sscq_desktop.model.encoder import OnnxEncoder
from sscq_desktop.model.graph_policy import ALLOWED_OPS
from training.config import TrainConfig
from training.export import export_artifact
from training.models.sscq_model import BACKBONES, build_model
from training.search_fit import fit_search_codes


def _operators(graph: onnx.GraphProto) -> Iterator[tuple[str, str]]:
    for node in graph.node:
        yield node.domain, node.op_type
        for attr in node.attribute:
            for sub in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
                yield from _operators(sub)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each backbone exported at a tiny width through `export_artifact`."""
    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("export")
    paths = {}
    for backbone in BACKBONES:
        cfg = TrainConfig()
        cfg.model.backbone = backbone
        cfg.model.width = 0.25
        cfg.model.n_codebooks, cfg.model.nbits, cfg.model.dsub = 2, 2, 2
        cfg.data.image_size = 32
        model = build_model(cfg.model, image_size=cfg.data.image_size)
        path = out / f"{backbone}.onnx"
        export_artifact(
            model, cfg, path, model_id=f"allow-{backbone}", training={}, companion=False
        )
        paths[backbone] = path
    # Search codes fitted after training add their own operators (normalise, rotate).
    cfg.model.search_fit_iterations = 1
    pixels = np.random.default_rng(0).integers(0, 256, (32, 32, 32, 3), dtype=np.uint8)
    fitted = fit_search_codes(model, pixels, cfg, device=torch.device("cpu"))
    assert fitted["kind"] == "opq"
    path = out / f"{cfg.model.backbone}-search-codes.onnx"
    export_artifact(
        model, cfg, path, model_id="allow-search-codes", training={}, companion=False
    )
    paths["search-codes"] = path
    return paths


@pytest.mark.parametrize("backbone", [*BACKBONES, "search-codes"])
def test_every_backbone_exports_a_model_the_app_accepts_and_runs(
    backbone: str, exported: dict[str, Path]
) -> None:
    artifact = read_artifact(exported[backbone])
    images = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    out = OnnxEncoder(artifact, device="cpu").encode(images)
    assert out.codes.shape == (3, 2) and int(out.codes.max()) < 4


def test_the_allowlist_is_exactly_the_exporters_operators(
    exported: dict[str, Path],
) -> None:
    used: set[tuple[str, str]] = set()
    for path in exported.values():
        used |= set(_operators(onnx.load(str(path)).graph))
    assert {domain for domain, _ in used} == {""}
    assert {op for _, op in used} == ALLOWED_OPS
    # The backbones that exist to differ: max-pooling and grouped (depthwise) convolution.
    convpool = {op for _, op in _operators(onnx.load(str(exported["convpool"])).graph)}
    assert "MaxPool" in convpool
    depthwise = onnx.load(str(exported["depthwise"])).graph
    groups = [
        a.i
        for n in depthwise.node
        if n.op_type == "Conv"
        for a in n.attribute
        if a.name == "group"
    ]
    assert max(groups, default=1) > 1
