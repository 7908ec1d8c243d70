"""Product quantizer: soft -> hard as the temperature falls, gradients, init, hard codes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sscq_desktop.core import encode
from training.config import LossConfig
from training.losses.sscq_loss import SSCQLoss
from training.models.quantizer import ProductQuantizer


def make_pq(seed: int = 0) -> ProductQuantizer:
    torch.manual_seed(seed)
    return ProductQuantizer(n_codebooks=4, ksub=16, dsub=8)


def test_soft_assignment_approaches_hard_as_temperature_falls():
    pq = make_pq()
    f = torch.randn(32, 32)
    with torch.no_grad():
        hard = torch.nn.functional.one_hot(pq.hard_codes(f), 16).float()
        gaps = [
            float((pq.soft_assign(f, t) - hard).abs().mean())
            for t in (1.0, 0.1, 0.01, 1e-5)
        ]
    assert gaps == sorted(gaps, reverse=True)
    assert gaps[-1] < 1e-3


def test_soft_quantization_is_a_convex_mix_of_codewords():
    pq = make_pq()
    f = torch.randn(5, 32)
    a = pq.soft_assign(f)
    assert torch.allclose(a.sum(-1), torch.ones(5, 4))
    manual = torch.stack([a[:, m] @ pq.codebooks[m] for m in range(4)], dim=1).reshape(
        5, -1
    )
    assert torch.allclose(pq(f), manual, atol=1e-6)


def test_gradients_reach_codebooks_and_embedding():
    pq = make_pq()
    f = torch.randn(8, 32, requires_grad=True)
    pq(f).pow(2).sum().backward()
    assert pq.codebooks.grad is not None and pq.codebooks.grad.abs().sum() > 0
    assert f.grad is not None and f.grad.abs().sum() > 0


def test_sscq_loss_gradients_reach_codebooks():
    pq = make_pq()
    f1, f2 = (
        torch.randn(8, 32, requires_grad=True),
        torch.randn(8, 32, requires_grad=True),
    )
    loss, _ = SSCQLoss(LossConfig(k_pn=3), n_codebooks=4)(
        f1, pq(f1), f2, pq(f2), pq.codebooks
    )
    loss.backward()
    assert pq.codebooks.grad is not None and float(pq.codebooks.grad.abs().sum()) > 0


def test_xavier_init_spreads_images_over_codewords():
    pq = make_pq()
    bound = (6.0 / (16 + 8)) ** 0.5
    assert float(pq.codebooks.detach().abs().max()) <= bound
    codes = pq.hard_codes(torch.randn(256, 32) * 0.3)
    assert all(len(torch.unique(codes[:, m])) > 4 for m in range(4))


def test_hard_codes_match_core_encode():
    pq = make_pq()
    f = torch.randn(100, 32)
    expected = encode(f.numpy(), pq.codebooks.detach().numpy())
    np.testing.assert_array_equal(pq.hard_codes(f).numpy(), expected)


def test_quantizer_rejects_bad_sizes():
    with pytest.raises(ValueError, match="ksub"):
        ProductQuantizer(n_codebooks=2, ksub=300, dsub=4)
