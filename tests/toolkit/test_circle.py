"""Multi-class circle loss: the paper's formula for two levels, hand-computed values, a minimum where every
level sits in its own band, gradient directions, validation, and target estimation."""

from __future__ import annotations

import math

import pytest
import torch

from mrs.toolkit.losses.circle import (
    MultiClassCircleLoss,
    circle_term,
    estimate_level_targets,
    spread_level_targets,
)


def _softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def _at_cosines(cosines, requires_grad: bool = False):
    """One query q = (1, 0) and products (c, sqrt(1 - c²)) whose cosine to q is c. Returns (q, p, c)."""
    c = torch.tensor(cosines, dtype=torch.float64, requires_grad=requires_grad)
    p = torch.stack([c, torch.sqrt(1 - c * c)], dim=1)
    q = torch.tensor([[1.0, 0.0]], dtype=torch.float64).expand(len(cosines), 2)
    return q, p, c


def _sun_2020(s_p: list[float], s_n: list[float], m: float, gamma: float) -> float:
    """Sun et al. 2020, Eq. 6 with Eq. 8's O_p = 1 + m, O_n = -m, Δ_p = 1 - m, Δ_n = m, written as the double sum."""
    total = 0.0
    for sn in s_n:
        for sp in s_p:
            a_n, a_p = max(sn + m, 0.0), max(1 + m - sp, 0.0)
            total += math.exp(gamma * (a_n * (sn - m) - a_p * (sp - (1 - m))))
    return math.log1p(total)


def test_two_levels_are_the_papers_loss():
    # non-negative embeddings: cosines in [0, 1], the range of the paper's targets
    g = torch.Generator().manual_seed(3)
    q = torch.nn.functional.normalize(torch.randn(10, 6, generator=g).abs(), dim=-1)
    p = torch.nn.functional.normalize(torch.randn(10, 6, generator=g).abs(), dim=-1)
    labels = torch.tensor([[0, 1], [0, 0], [0, 1], [0, 0], [0, 0], [1, 1], [1, 0], [1, 0], [1, 1], [1, 1]])
    loss = MultiClassCircleLoss(None, num_levels=2, margins=0.3, gamma=16.0)
    value = loss.compute_loss_from_embeddings([q, p], labels).item()
    cos = torch.nn.functional.cosine_similarity(q, p, dim=-1).tolist()
    per_query = []
    for group in (0, 1):
        rows = [i for i in range(10) if labels[i, 0] == group]
        per_query.append(_sun_2020([cos[i] for i in rows if labels[i, 1] == 1],
                                   [cos[i] for i in rows if labels[i, 1] == 0], 0.3, 16.0))
    assert value == pytest.approx(sum(per_query) / 2, rel=1e-6)


def test_three_levels_match_hand_computation():
    # targets 0, 0.5, 1 (spread); cosines: grade 2 → 0.8, grade 1 → 0.6, grade 0 → 0.0; m 0.25, γ 2
    q, p, _ = _at_cosines([0.8, 0.6, 0.0])
    labels = torch.tensor([[0, 2], [0, 1], [0, 0]])
    loss = MultiClassCircleLoss(None, num_levels=3, margins=0.25, gamma=2.0, boundary_weights=[1.0, 0.5])
    value = loss.compute_loss_from_embeddings([q, p], labels).item()
    # Boundary 1 (targets 0 → 0.5): t = s / 0.5 → positives 1.6, 1.2, both past the target: t_p ← 1;
    #   negative 0.  Every exponent: t_p 1: α_p 0.25, -2·0.25·(1 - 0.75) = -0.125; t_n 0: 2·0.25·(0 - 0.25) = -0.125
    #   L1 = softplus(-0.125 + ln(2 e^-0.125)) = softplus(ln 2 - 0.25) = softplus(0.443147) = 0.939070
    # Boundary 2 (targets 0.5 → 1): t = (s - 0.5) / 0.5 → positive 0.6; negatives 0.2 and -1 (t_n ← 0)
    #   t_p 0.6: α_p 0.65, -2·0.65·(0.6 - 0.75) = +0.195
    #   t_n 0.2: α_n 0.45, 2·0.45·(0.2 - 0.25) = -0.045;  t_n 0: -0.125
    #   L2 = softplus(0.195 + ln(e^-0.045 + e^-0.125)) = softplus(0.195 + 0.608947) = 1.173826
    # L = 0.939070 + 0.5 · 1.173826 = 1.525983
    l1 = _softplus(math.log(2) - 0.25)
    l2 = _softplus(0.195 + math.log(math.exp(-0.045) + math.exp(-0.125)))
    assert l1 == pytest.approx(0.939070, abs=1e-6)
    assert l2 == pytest.approx(1.173826, abs=1e-6)
    assert value == pytest.approx(1.525983, abs=1e-5)


def test_levels_at_their_targets_give_near_zero_loss_and_gradient():
    targets = [0.05, 0.35, 0.65, 0.95]  # inside (0, 1): the test's embedding (c, sqrt(1 - c²)) is smooth there
    q, p, c = _at_cosines([targets[3], targets[2], targets[1], targets[0]], requires_grad=True)
    labels = torch.tensor([[0, 3], [0, 2], [0, 1], [0, 0]])
    loss = MultiClassCircleLoss(None, num_levels=4, margins=0.25, gamma=64.0, level_targets=targets)
    value = loss.compute_loss_from_embeddings([q, p], labels)
    value.backward()
    # every pair's exponent is -2γm² = -8; boundary b has |P| = 4 - b, |N| = b
    expected = sum(math.log1p((4 - b) * b * math.exp(-8.0)) for b in (1, 2, 3))
    assert value.item() == pytest.approx(expected, rel=1e-4)
    assert value.item() < 5e-3
    assert c.grad.abs().max().item() < 0.1
    # the same levels out of their bands (middle levels swapped): a large loss and pull
    q2, p2, c2 = _at_cosines([targets[3], targets[1], targets[2], targets[0]], requires_grad=True)
    bad = loss.compute_loss_from_embeddings([q2, p2], labels)
    bad.backward()
    assert bad.item() > 100 * value.item()
    assert c2.grad.abs().max().item() > 50 * c.grad.abs().max().item()


def test_gradient_moves_each_level_toward_its_band():
    # three levels, targets 0, 0.5, 1: the middle level placed too high, then too low
    loss = MultiClassCircleLoss(None, num_levels=3, margins=0.25, gamma=32.0)
    labels = torch.tensor([[0, 2], [0, 1], [0, 0]])
    q, p, c = _at_cosines([0.95, 0.9, 0.05], requires_grad=True)
    loss.compute_loss_from_embeddings([q, p], labels).backward()
    assert c.grad[1] > 0  # descent lowers the too-high middle level
    assert c.grad[0] < 0  # and raises the top level above it
    q, p, c = _at_cosines([0.95, 0.1, 0.05], requires_grad=True)
    loss.compute_loss_from_embeddings([q, p], labels).backward()
    assert c.grad[1] < 0  # descent raises the too-low middle level
    assert c.grad[2] > 0  # and lowers the bottom level below it


def test_boundaries_average_over_queries_and_skip_one_sided_queries():
    q, p, _ = _at_cosines([0.8, 0.6, 0.0])
    labels = torch.tensor([[0, 2], [0, 1], [0, 0]])
    q2 = torch.cat([q, torch.tensor([[0.0, 1.0], [0.0, 1.0]], dtype=torch.float64)])
    p2 = torch.cat([p, torch.tensor([[1.0, 0.0], [0.6, 0.8]], dtype=torch.float64)])
    labels2 = torch.cat([labels, torch.tensor([[1, 2], [1, 2]])])
    loss = MultiClassCircleLoss(None, num_levels=3, margins=[0.25, 0.4], gamma=2.0, boundary_weights=[1.0, 0.5])
    one = loss.compute_loss_from_embeddings([q, p], labels).item()
    two = loss.compute_loss_from_embeddings([q2, p2], labels2).item()
    assert two == pytest.approx(one, abs=1e-6)


def test_embeddings_scale_does_not_matter_cosine_is_used():
    q, p, _ = _at_cosines([0.8, 0.6, 0.0])
    labels = torch.tensor([[0, 2], [0, 1], [0, 0]])
    loss = MultiClassCircleLoss(None, num_levels=3, margins=0.25, gamma=8.0)
    a = loss.compute_loss_from_embeddings([q, p], labels).item()
    b = loss.compute_loss_from_embeddings([q * 3.0, p * 0.5], labels).item()
    assert a == pytest.approx(b, rel=1e-6)


def test_alphas_are_detached_gradient_matches_weighted_pair_form():
    s_p = torch.tensor([0.5], requires_grad=True)
    s_n = torch.tensor([0.3])
    m, gamma = 0.25, 4.0
    out = circle_term(s_p, s_n, m, gamma)
    out.backward()
    alpha_p, alpha_n = 1.25 - 0.5, 0.3 + 0.25  # 0.75, 0.55
    z = gamma * alpha_n * (0.3 - 0.25) - gamma * alpha_p * (0.5 - 0.75)  # 0.11 + 0.75 = 0.86
    assert out.item() == pytest.approx(_softplus(z), abs=1e-6)
    assert s_p.grad.item() == pytest.approx(-(1 / (1 + math.exp(-z))) * gamma * alpha_p, abs=1e-5)


@pytest.mark.parametrize("kwargs, message", [
    ({"margins": [0.2, 0.3]}, "3 margins"),
    ({"margins": 0.0}, r"margins must lie in \(0, 0.5\)"),
    ({"margins": 0.5}, r"margins must lie in \(0, 0.5\)"),
    ({"gamma": 0.0}, "gamma must be > 0"),
    ({"boundary_weights": [1.0, -1.0, 1.0]}, "boundary weights must be >= 0"),
    ({"level_targets": [0.0, 0.5, 0.5, 1.0]}, "increase strictly"),
    ({"level_targets": [0.0, 1.0]}, "4 level targets"),
])
def test_bad_parameters_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MultiClassCircleLoss(None, num_levels=4, **kwargs)


def test_targets_are_spread_or_estimated_from_level_medians():
    assert spread_level_targets(3) == pytest.approx([0.0, 0.5, 1.0])
    # medians per grade: 0 → 0.2, 1 → 0.5, 2 → 0.45 (below grade 1: lifted to 0.5 + 0.05), 3 → 0.8
    cos = [0.1, 0.2, 0.3, 0.5, 0.5, 0.4, 0.45, 0.5, 0.8]
    grades = [0, 0, 0, 1, 1, 2, 2, 2, 3]
    assert estimate_level_targets(cos, grades, 4) == pytest.approx([0.2, 0.5, 0.55, 0.8])
    # a grade without pairs is interpolated between its neighbours
    assert estimate_level_targets([0.2, 0.8], [0, 2], 3) == pytest.approx([0.2, 0.5, 0.8])
    assert estimate_level_targets([0.2], [0], 3) == pytest.approx([0.0, 0.5, 1.0])
