"""Search codes fitted after training: OPQ, the model's search embedding, save and load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from training.builder import warm_start
from training.checkpoint import save_checkpoint
from training.config import TrainConfig
from training.evaluation.embed import codebook_of, embed_pixels
from training.evaluation.kmeans_pq import fit_opq, pq_reconstruct, train_pq_codebook
from training.models.sscq_model import build_model
from training.search_fit import fit_search_codes


def _correlated(n: int = 3000, dim: int = 16, seed: int = 0) -> np.ndarray:
    """Clustered data whose structure lies across subspaces (a random rotation of it)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(24, dim)) * np.linspace(
        3.0, 0.1, dim
    )  # energy in few axes
    x = centres[rng.integers(0, 24, n)] + 0.05 * rng.normal(size=(n, dim))
    q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    return (x @ q).astype(np.float32)


def test_opq_rotation_is_orthogonal_and_quantizes_better_than_plain_pq() -> None:
    x = _correlated()
    rotation, codebook = fit_opq(x, n_codebooks=4, ksub=8, iterations=6, seed=0)
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(16), atol=1e-4)
    assert codebook.shape == (4, 8, 4)
    plain = train_pq_codebook(x, n_codebooks=4, ksub=8, seed=0)
    err_plain = float(((x - pq_reconstruct(x, plain)) ** 2).sum(1).mean())
    rx = x @ rotation
    err_opq = float(((rx - pq_reconstruct(rx, codebook)) ** 2).sum(1).mean())
    assert err_opq < 0.8 * err_plain, (err_opq, err_plain)


def test_fit_opq_refuses_fewer_vectors_than_codewords() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        fit_opq(np.zeros((10, 8), np.float32), n_codebooks=2, ksub=16)


def _cfg(kind: str = "opq", images: int = 50_000) -> TrainConfig:
    cfg = TrainConfig()
    cfg.model.backbone, cfg.model.width = "convpool", 0.25
    cfg.model.n_codebooks, cfg.model.dsub = 4, 4
    cfg.model.search_codes, cfg.model.search_fit_images = kind, images
    cfg.model.search_fit_iterations = 2
    cfg.data.image_size = 32
    return cfg


def _pixels(n: int, size: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), np.uint8)


def test_fitted_codes_give_unit_length_search_embeddings_and_export_codebooks() -> None:
    cfg = _cfg()
    torch.manual_seed(0)
    model = build_model(cfg.model, image_size=32)
    cpu = torch.device("cpu")
    raw = embed_pixels(model, _pixels(8, 32, seed=1), device=cpu)
    learned = codebook_of(model)
    summary = fit_search_codes(
        model, _pixels(200, 40), cfg, device=cpu
    )  # stored at 40 px
    assert summary["kind"] == "opq" and summary["images"] == 200
    assert model.search is not None
    fitted = embed_pixels(model, _pixels(8, 32, seed=1), device=cpu)
    np.testing.assert_allclose(np.linalg.norm(fitted, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0, atol=1e-3)
    assert codebook_of(model).shape == learned.shape
    assert not np.allclose(codebook_of(model), learned)  # the fitted ones are exported
    rotation = model.search.rotation.numpy()
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(16), atol=1e-4)


def test_learned_or_too_few_photos_keep_the_learned_codebooks() -> None:
    cpu = torch.device("cpu")
    model = build_model(_cfg().model, image_size=32)
    learned = codebook_of(model).copy()
    assert (
        fit_search_codes(model, _pixels(200, 32), _cfg("learned"), device=cpu)["kind"]
        == "learned"
    )
    assert model.search is None
    few = fit_search_codes(model, _pixels(40, 32), _cfg(), device=cpu)  # < 4 x 16
    assert few["kind"] == "learned" and model.search is None
    np.testing.assert_array_equal(codebook_of(model), learned)
    with pytest.raises(ValueError, match="search_codes"):
        fit_search_codes(model, _pixels(200, 32), _cfg("kmeans"), device=cpu)


def test_search_codes_survive_a_checkpoint_and_a_warm_start_drops_them(
    tmp_path: Path,
) -> None:
    from training.builder import model_from_checkpoint

    cfg = _cfg()
    cpu = torch.device("cpu")
    model = build_model(cfg.model, image_size=32)
    fit_search_codes(model, _pixels(200, 32), cfg, device=cpu)
    path = save_checkpoint(
        tmp_path / "fitted.pt", {"model": model.state_dict(), "config": cfg.to_dict()}
    )
    loaded, _, _ = model_from_checkpoint(path)
    assert loaded.search is not None
    probe = _pixels(4, 32, seed=3)
    np.testing.assert_allclose(
        embed_pixels(loaded, probe, device=cpu),
        embed_pixels(model, probe, device=cpu),
        atol=1e-6,
    )
    np.testing.assert_array_equal(codebook_of(loaded), codebook_of(model))

    fresh = build_model(cfg.model, image_size=32)
    warm_start(fresh, path)
    assert fresh.search is None  # a new run fits its own at its end
    torch.testing.assert_close(
        fresh.quantizer.codebooks, model.quantizer.codebooks
    )  # the learned ones carry over


@pytest.mark.parametrize("books", [2, 8])
def test_one_network_exports_shorter_or_longer_codes(
    tmp_path: Path, books: int
) -> None:
    from sscq_desktop.model.artifact import read_artifact
    from sscq_desktop.model.encoder import OnnxEncoder
    from training.builder import model_from_checkpoint
    from training.export import check_parity, export_artifact

    cfg = _cfg()
    cfg.model.search_codebooks = books  # the network learned 4 codebooks
    cpu = torch.device("cpu")
    model = build_model(cfg.model, image_size=32)
    fit_search_codes(model, _pixels(200, 32), cfg, device=cpu)
    artifact = export_artifact(
        model, cfg, tmp_path / "m.onnx", model_id="x", training={}
    )
    meta = artifact.metadata
    assert (books, 16, 16 // books) == (meta.M, meta.K, meta.L)
    check_parity(model, artifact)
    codes = (
        OnnxEncoder(read_artifact(tmp_path / "m.onnx"), device="cpu")
        .encode(_pixels(5, 32, seed=4))
        .codes
    )
    assert codes.shape == (5, books)
    loaded, _, _ = model_from_checkpoint(tmp_path / "m.pt")  # the companion
    assert tuple(loaded.search_codebooks().shape) == (books, 16, 16 // books)
    with pytest.raises(ValueError, match="divide"):
        cfg.model.search_codebooks = 3
        fit_search_codes(model, _pixels(200, 32), cfg, device=cpu)
