"""The onnxruntime encoder on a tiny model generated in the test."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hostile_models import BadOutput, tiny_graph, with_bad_output, with_loop, write_raw

from sscq_desktop.core import encode
from sscq_desktop.model.artifact import ModelArtifact, read_artifact
from sscq_desktop.model.encoder import (
    CPU_PROVIDER,
    EncoderError,
    ModelOutputError,
    OnnxEncoder,
    available_devices,
)


def _images(n: int, size: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(
        0, 256, (n, size, size, 3), dtype=np.uint8
    )


def test_encoder_returns_embeddings_and_codes_of_the_model(tiny_artifact: Any) -> None:
    encoder = OnnxEncoder(tiny_artifact, device="cpu")
    out = encoder.encode(_images(5))
    assert out.embedding.shape == (5, 32) and out.embedding.dtype == np.float32
    assert out.codes.shape == (5, 8) and out.codes.dtype == np.uint8
    # The graph's codes are the hard PQ assignment of its own embedding.
    np.testing.assert_array_equal(
        out.codes, encode(out.embedding, tiny_artifact.metadata.codebooks)
    )


def test_encoder_splits_large_batches_without_changing_results(
    tiny_artifact: Any,
) -> None:
    images = _images(23)
    whole = OnnxEncoder(tiny_artifact, device="cpu", max_batch=64).encode(images)
    split = OnnxEncoder(tiny_artifact, device="cpu", max_batch=4).encode(images)
    np.testing.assert_allclose(split.embedding, whole.embedding, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(split.codes, whole.codes)


def test_encoder_handles_a_fixed_batch_model(tiny_artifact_factory: Any) -> None:
    artifact = tiny_artifact_factory(dynamic_batch=False)
    assert not artifact.input_batch_dynamic
    out = OnnxEncoder(artifact, device="cpu").encode(_images(3))
    assert out.codes.shape == (3, 8)


def test_encoder_accepts_an_empty_batch(tiny_artifact: Any) -> None:
    out = OnnxEncoder(tiny_artifact, device="cpu").encode(_images(0))
    assert out.embedding.shape == (0, 32) and out.codes.shape == (0, 8)


def test_encoder_rejects_wrong_dtype_and_shape(tiny_artifact: Any) -> None:
    encoder = OnnxEncoder(tiny_artifact, device="cpu")
    with pytest.raises(TypeError, match="uint8"):
        encoder.encode(_images(2).astype(np.float32))
    with pytest.raises(ValueError, match=r"\(N, 32, 32, 3\), got \(2, 16, 16, 3\)"):
        encoder.encode(_images(2, size=16))
    with pytest.raises(ValueError, match="shape"):
        encoder.encode(_images(2)[0])
    with pytest.raises(TypeError, match="numpy array"):
        encoder.encode([[1, 2, 3]])  # type: ignore[arg-type]


def test_auto_device_probes_quietly_and_reports_the_provider(
    tiny_artifact: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    encoder = OnnxEncoder(tiny_artifact, device="auto")
    captured = capfd.readouterr()
    # onnxruntime-gpu on a machine without CUDA logs "Failed to load library ..." when asked
    # for the CUDA provider; the encoder must keep that off the user's terminal.
    assert "Failed" not in captured.err and "onnxruntime" not in captured.err
    assert encoder.provider in available_devices()
    assert encoder.provider_name in ("CPU", "CUDA")
    if "CUDAExecutionProvider" not in available_devices():
        assert encoder.provider == CPU_PROVIDER


def test_encoder_rejects_bad_arguments(tiny_artifact: Any) -> None:
    with pytest.raises(ValueError, match="device"):
        OnnxEncoder(tiny_artifact, device="tpu")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_batch"):
        OnnxEncoder(tiny_artifact, max_batch=0)


def test_resized_copies_get_nearby_embeddings(
    tiny_artifact: Any, tmp_path: Path
) -> None:
    # Sanity of the tiny test model that other tests rely on.
    from PIL import Image

    from sscq_desktop.model.preprocessing import to_model_input

    rng = np.random.default_rng(3)
    base = Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).resize(
        (200, 160)
    )
    other = Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).resize(
        (200, 160)
    )
    batch = np.stack(
        [
            to_model_input(im, size=32, policy="center_crop")
            for im in (base, base.resize((100, 80)), other)
        ]
    )
    emb = OnnxEncoder(tiny_artifact, device="cpu").encode(batch).embedding
    assert np.linalg.norm(emb[0] - emb[1]) < np.linalg.norm(emb[0] - emb[2])


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("codes", r"codes must be in \[0, 16\), got (1[6-9]|2\d|3[01])"),
        ("nan", "NaN or infinite"),
        (
            "wide",
            r"'embedding' has shape \(3, 33\) for a batch of 3, expected \(3, 32\)",
        ),
    ],
)
def test_outputs_outside_the_contract_are_refused(
    kind: BadOutput, message: str, tmp_path: Path
) -> None:
    """Codes >= K, NaN and a wider embedding than declared never reach the caller."""
    graph, meta = tiny_graph()
    proto = with_bad_output(graph, kind)
    artifact = read_artifact(write_raw(proto, meta, tmp_path / f"{kind}.onnx"))
    encoder = OnnxEncoder(artifact, device="cpu")
    with pytest.raises(ModelOutputError, match=message) as caught:
        encoder.encode(_images(3))
    assert caught.value.model_id == meta.model_id
    assert f"model {meta.model_id!r} produced invalid output" in str(caught.value)


def test_a_batch_that_runs_too_long_is_stopped(tmp_path: Path) -> None:
    """Defence in depth behind the operator allowlist: a 1e15-iteration Loop ends."""
    graph, meta = tiny_graph()
    path = write_raw(with_loop(graph), meta, tmp_path / "loop.onnx")
    artifact = ModelArtifact(path=path, metadata=meta)  # past read_artifact's refusal
    encoder = OnnxEncoder(artifact, device="cpu", run_timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(EncoderError, match=r"ran longer than 0\.5 s on a batch of 1"):
        encoder.encode(_images(1))
    assert time.monotonic() - started < 30
