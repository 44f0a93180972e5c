"""Multi-class circle loss against a hand computation (two boundaries, own margins, γ)."""

from __future__ import annotations

import math

import pytest
import torch

from mrs.toolkit.losses.circle import MultiClassCircleLoss, circle_term


def _softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def _three_products():
    # One query q = (1, 0) and three products whose cosines to q are chosen by hand:
    # grade 2: (0.8, 0.6) → cos 0.8; grade 1: (0.6, 0.8) → cos 0.6; grade 0: (0, 1) → cos 0.0
    q = torch.tensor([[1.0, 0.0]] * 3)
    p = torch.tensor([[0.8, 0.6], [0.6, 0.8], [0.0, 1.0]])
    labels = torch.tensor([[0, 2], [0, 1], [0, 0]])
    return q, p, labels


def test_two_boundaries_match_hand_computation():
    q, p, labels = _three_products()
    loss = MultiClassCircleLoss(None, num_levels=3, margins=[0.25, 0.4], gamma=2.0, boundary_weights=[1.0, 0.5])
    value = loss.compute_loss_from_embeddings([q, p], labels).item()
    # Boundary 1 (grade >= 1 vs grade 0), m = 0.25, γ = 2: O_p = 1.25, Δ_p = 0.75, O_n = -0.25, Δ_n = 0.25
    #   s_p = 0.8: α_p = 0.45, -γ α_p (s_p - Δ_p) = -2 * 0.45 * 0.05 = -0.045
    #   s_p = 0.6: α_p = 0.65, -2 * 0.65 * (-0.15) = +0.195
    #   s_n = 0.0: α_n = 0.25,  γ α_n (s_n - Δ_n) = 2 * 0.25 * (-0.25) = -0.125
    #   L1 = softplus(-0.125 + ln(e^-0.045 + e^0.195)) = softplus(-0.125 + 0.775330) = 1.070272
    # Boundary 2 (grade 2 vs grades 1, 0), m = 0.4: O_p = 1.4, Δ_p = 0.6, O_n = -0.4, Δ_n = 0.4
    #   s_p = 0.8: α_p = 0.6, -2 * 0.6 * 0.2 = -0.24
    #   s_n = 0.6: α_n = 1.0, 2 * 1.0 * 0.2 = +0.4;  s_n = 0.0: α_n = 0.4, 2 * 0.4 * (-0.4) = -0.32
    #   L2 = softplus(ln(e^0.4 + e^-0.32) - 0.24) = softplus(0.796594 - 0.24) = 1.009679
    # L = 1.0 * L1 + 0.5 * L2 = 1.575112
    l1 = _softplus(-0.125 + math.log(math.exp(-0.045) + math.exp(0.195)))
    l2 = _softplus(math.log(math.exp(0.4) + math.exp(-0.32)) - 0.24)
    assert l1 == pytest.approx(1.070272, abs=1e-6)
    assert l2 == pytest.approx(1.009679, abs=1e-6)
    assert value == pytest.approx(1.575112, abs=1e-5)


def test_boundaries_average_over_queries_and_skip_one_sided_queries():
    q, p, labels = _three_products()
    # A second query (group 1) whose products are all grade 2: no negatives at any boundary → contributes
    # nothing, so the loss equals the single-query loss.
    q2 = torch.cat([q, torch.tensor([[0.0, 1.0], [0.0, 1.0]])])
    p2 = torch.cat([p, torch.tensor([[1.0, 0.0], [0.6, 0.8]])])
    labels2 = torch.cat([labels, torch.tensor([[1, 2], [1, 2]])])
    loss = MultiClassCircleLoss(None, num_levels=3, margins=[0.25, 0.4], gamma=2.0, boundary_weights=[1.0, 0.5])
    one = loss.compute_loss_from_embeddings([q, p], labels).item()
    two = loss.compute_loss_from_embeddings([q2, p2], labels2).item()
    assert two == pytest.approx(one, abs=1e-6)


def test_embeddings_scale_does_not_matter_cosine_is_used():
    q, p, labels = _three_products()
    loss = MultiClassCircleLoss(None, num_levels=3, margins=0.25, gamma=8.0)
    a = loss.compute_loss_from_embeddings([q, p], labels).item()
    b = loss.compute_loss_from_embeddings([q * 3.0, p * 0.5], labels).item()
    assert a == pytest.approx(b, rel=1e-6)


def test_alphas_are_detached_gradient_matches_weighted_pair_form():
    # d/ds_p of softplus(z_n - γ α_p (s_p - Δ_p)) with α_p held constant = -σ(z) γ α_p
    s_p = torch.tensor([0.5], requires_grad=True)
    s_n = torch.tensor([0.3])
    m, gamma = 0.25, 4.0
    out = circle_term(s_p, s_n, m, gamma)
    out.backward()
    alpha_p, alpha_n = 1.25 - 0.5, 0.3 + 0.25  # 0.75, 0.55
    z = gamma * alpha_n * (0.3 - 0.25) - gamma * alpha_p * (0.5 - 0.75)  # 0.11 + 0.75 = 0.86
    assert out.item() == pytest.approx(_softplus(z), abs=1e-6)
    expected_grad = -(1 / (1 + math.exp(-z))) * gamma * alpha_p
    assert s_p.grad.item() == pytest.approx(expected_grad, abs=1e-5)


def test_separated_levels_give_lower_loss_than_inverted():
    loss = MultiClassCircleLoss(None, num_levels=4, margins=[0.25, 0.25, 0.25], gamma=16.0)
    labels = torch.tensor([[0, 3], [0, 2], [0, 1], [0, 0]])
    q = torch.tensor([[1.0, 0.0]] * 4)
    good = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.6, 0.8], [0.0, 1.0]])
    bad = good.flip(0)
    assert loss.compute_loss_from_embeddings([q, good], labels) < loss.compute_loss_from_embeddings([q, bad], labels)


def test_wrong_margin_count_is_rejected():
    with pytest.raises(ValueError, match="3 margins"):
        MultiClassCircleLoss(None, num_levels=4, margins=[0.2, 0.3])
