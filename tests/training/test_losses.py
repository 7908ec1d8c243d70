"""Each loss against an independent Python-loop reference (METHOD.md formulas)."""

from __future__ import annotations

import math

import pytest
import torch

from training.config import LossConfig
from training.losses.codeword_diversity_loss import CodewordDiversityLoss
from training.losses.consistent_contrastive_loss import ConsistentContrastiveLoss
from training.losses.cross_quantized_contrastive_loss import (
    CrossQuantizedContrastiveLoss,
)
from training.losses.ntxent_loss import NTXentLoss
from training.losses.part_neighbour_loss import PartNeighbourLoss
from training.losses.sscq_loss import SSCQLoss


def cos(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.dot(a, b) / (a.norm() * b.norm()))


def ref_ntxent(u1, u2, tau):
    u = torch.cat([u1, u2]).double()
    n, B = len(u), len(u1)
    total = 0.0
    for i in range(n):
        pos = (i + B) % n
        num = math.exp(cos(u[i], u[pos]) / tau)
        den = sum(math.exp(cos(u[i], u[j]) / tau) for j in range(n) if j != i)
        total += -math.log(num / den)
    return total / n


def others(i, B):
    return [j for j in range(2 * B) if j not in (i, i + B)]


def ref_consistent(v1, v2, tau):
    v = torch.cat([v1, v2]).double()
    B = len(v1)
    total = 0.0
    for i in range(B):
        cols = others(i, B)
        ra = torch.tensor([cos(v[i], v[j]) for j in cols]) / tau
        rb = torch.tensor([cos(v[i + B], v[j]) for j in cols]) / tau
        p, q = torch.softmax(ra, 0), torch.softmax(rb, 0)
        kl_qp = float((q * (q.log() - p.log())).sum())
        kl_pq = float((p * (p.log() - q.log())).sum())
        total += 0.5 * (kl_qp + kl_pq)
    return total / B


def ref_part_neighbour(z1, z2, M, k, tau):
    z = torch.cat([z1, z2]).double()
    n, B = len(z), len(z1)
    L = z.shape[1] // M
    total = 0.0
    for m in range(M):
        zm = z[:, m * L : (m + 1) * L]
        for i in range(n):
            o = [j for j in range(n) if j != i and j != (i + B) % n]
            sims = sorted((cos(zm[i], zm[j]) for j in o), reverse=True)
            num = sum(math.exp(s / tau) for s in sims[:k])
            den = sum(math.exp(s / tau) for s in sims)
            total += -math.log(num / den)
    return total / (M * n)


def ref_diversity(f, codebooks, tau, eps=1e-5):
    M, K, L = codebooks.shape
    total = 0.0
    for m in range(M):
        qbar = torch.zeros(K, dtype=torch.float64)
        for row in f.double():
            logits = torch.tensor(
                [
                    cos(row[m * L : (m + 1) * L], codebooks[m, k].double())
                    for k in range(K)
                ]
            )
            qbar += torch.softmax(logits / tau, 0)
        qbar /= len(f)
        total += float((qbar * torch.log(qbar + eps)).sum())
    return total / M


@pytest.fixture
def views():
    g = torch.Generator().manual_seed(0)
    return [torch.randn(6, 8, generator=g) for _ in range(4)]  # f1, z1, f2, z2


def test_ntxent_hand_checkable_two_images():
    # Orthogonal images, identical views: cos(pos) = 1, cos(other) = 0 for both others.
    u1 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    expected = -math.log(math.e**2 / (math.e**2 + 2 * math.e**0))
    assert float(NTXentLoss(0.5)(u1, u1.clone())) == pytest.approx(expected, rel=1e-6)


def test_ntxent_matches_loop_reference(views):
    f1, _, f2, _ = views
    assert float(NTXentLoss(0.5)(f1, f2)) == pytest.approx(
        ref_ntxent(f1, f2, 0.5), rel=1e-5
    )


def test_spq_loss_pairs_embedding_with_other_views_quantization(views):
    f1, z1, f2, z2 = views
    expected = ref_ntxent(f1, z2, 0.5) + ref_ntxent(f2, z1, 0.5)
    assert float(CrossQuantizedContrastiveLoss(0.5)(f1, z1, f2, z2)) == pytest.approx(
        expected, rel=1e-5
    )


def test_consistent_contrastive_matches_loop_reference(views):
    f1, z1, f2, z2 = views
    got = float(ConsistentContrastiveLoss(0.2)(f1 + z1, f2 + z2))
    assert got == pytest.approx(
        ref_consistent(f1 + z1, f2 + z2, 0.2), rel=1e-4, abs=1e-7
    )


def test_consistent_contrastive_is_zero_for_identical_views(views):
    f1 = views[0]
    assert float(ConsistentContrastiveLoss(0.2)(f1, f1.clone())) == pytest.approx(
        0.0, abs=1e-6
    )


@pytest.mark.parametrize("k", [1, 3, 20])
def test_part_neighbour_matches_loop_reference(views, k):
    _, z1, _, z2 = views
    got = float(PartNeighbourLoss(n_codebooks=2, k=k, temperature=0.5)(z1, z2))
    assert got == pytest.approx(
        ref_part_neighbour(z1, z2, 2, min(k, 10), 0.5), rel=1e-5, abs=1e-7
    )


def test_part_neighbour_with_all_others_as_neighbours_is_zero(views):
    _, z1, _, z2 = views
    assert float(PartNeighbourLoss(n_codebooks=2, k=10)(z1, z2)) == pytest.approx(
        0.0, abs=1e-6
    )


@pytest.mark.parametrize("tau", [1.0, 0.1])
def test_codeword_diversity_matches_loop_reference(views, tau):
    f = torch.cat([views[0], views[2]])
    codebooks = torch.randn(2, 5, 4, generator=torch.Generator().manual_seed(1))
    got = float(CodewordDiversityLoss(tau)(f, codebooks))
    assert got == pytest.approx(ref_diversity(f, codebooks, tau), rel=1e-5)


def test_codeword_diversity_uniform_usage_is_minus_log_k():
    # Rows spread evenly over K orthogonal codewords: qbar uniform, loss = -log K (approx).
    codebooks = torch.eye(4).unsqueeze(0)  # (1, 4, 4)
    f = torch.eye(4) * 3.0
    got = float(CodewordDiversityLoss(0.01)(f, codebooks))
    assert got == pytest.approx(-math.log(4), abs=1e-3)


def test_sscq_loss_weights_and_skips_zero_terms(views):
    f1, z1, f2, z2 = views
    codebooks = torch.randn(2, 5, 4)
    cfg = LossConfig(k_pn=3)
    total, parts = SSCQLoss(cfg, n_codebooks=2)(f1, z1, f2, z2, codebooks)
    expected = sum(
        getattr(cfg, w) * float(parts[p])
        for p, w in [
            ("ic_z", "w_ic_z"),
            ("ic_f", "w_ic_f"),
            ("cc", "w_cc"),
            ("pn", "w_pn"),
            ("cd", "w_cd"),
        ]
    )
    assert float(total) == pytest.approx(expected, rel=1e-6)
    _, parts0 = SSCQLoss(LossConfig(w_ic_z=0.0, w_ic_f=0.0, k_pn=3), n_codebooks=2)(
        f1, z1, f2, z2, codebooks
    )
    assert set(parts0) == {"cc", "pn", "cd"}
    _, parts_spq = SSCQLoss(LossConfig(kind="spq"), n_codebooks=2)(
        f1, z1, f2, z2, codebooks
    )
    assert set(parts_spq) == {"spq"}


def test_losses_refuse_bad_temperatures():
    with pytest.raises(ValueError, match="temperature"):
        NTXentLoss(0.0)
    with pytest.raises(ValueError, match="kind"):
        SSCQLoss(LossConfig(kind="other"), n_codebooks=2)
