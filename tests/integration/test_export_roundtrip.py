"""Train tiny -> export -> the app loads it -> torch and onnxruntime agree, top-k ids match."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from sscq_desktop.core import adc_search
from sscq_desktop.model.artifact import read_artifact
from sscq_desktop.model.encoder import OnnxEncoder
from training.config import apply_overrides, load_recipe
from training.evaluation.embed import codebook_of, embed_pixels
from training.export import PARITY_RTOL, check_parity
from training.export_run import export_checkpoint
from training.progress import ProgressReporter
from training.trainer import train


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    cfg = apply_overrides(
        load_recipe("debug_cpu"), ["optim.max_steps=3", "run.threads=1"]
    )
    result = train(
        cfg, out_dir=out, reporter=ProgressReporter("json", stream=io.StringIO())
    )
    return result, out


def test_exported_artifact_loads_and_matches_torch(trained, tmp_path):
    result, out = trained
    summary = export_checkpoint(
        out / "last.pt", tmp_path / "model.onnx", model_id="roundtrip-test"
    )
    artifact = read_artifact(tmp_path / "model.onnx")
    meta = artifact.metadata
    assert artifact.input_batch_dynamic and meta.model_id == "roundtrip-test"
    assert (meta.M, meta.K, meta.L, meta.input.size, meta.input.resize) == (
        4,
        16,
        8,
        32,
        "center_crop",
    )
    assert (
        meta.training["config"]["loss"]["kind"] == "sscq"
        and meta.training["code_version"]
    )
    assert meta.metrics is not None and "last" in meta.metrics
    np.testing.assert_array_equal(meta.codebooks, codebook_of(result.model))
    assert summary["parity"]["codes_agree"] == {"1": True, "64": True}

    pixels = np.random.default_rng(5).integers(0, 256, (64, 32, 32, 3), dtype=np.uint8)
    encoded = OnnxEncoder(artifact, device="cpu").encode(pixels)
    f_torch = embed_pixels(result.model, pixels, device=torch.device("cpu"))
    tol = PARITY_RTOL * max(1.0, float(np.abs(f_torch).max()))
    np.testing.assert_allclose(encoded.embedding, f_torch, atol=tol, rtol=0)
    # The same queries over the same database rank the same ids (codes from onnxruntime).
    _, i_onnx = adc_search(encoded.embedding[:8], meta.codebooks, encoded.codes, 10)
    _, i_torch = adc_search(f_torch[:8], meta.codebooks, encoded.codes, 10)
    np.testing.assert_array_equal(i_onnx, i_torch)


def test_parity_check_at_batch_1_and_64(trained, tmp_path):
    result, out = trained
    export_checkpoint(
        out / "last.pt", tmp_path / "m.onnx", model_id="parity", parity=False
    )
    report = check_parity(result.model, read_artifact(tmp_path / "m.onnx"))
    assert set(report.max_abs_diff) == {1, 64}
    assert all(d <= report.tolerance for d in report.max_abs_diff.values())
