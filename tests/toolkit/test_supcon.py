"""GradedSupConLoss against hand computations on hand-built embeddings."""

from __future__ import annotations

import math

import pytest
import torch

from mrs.toolkit.losses.supcon import GradedSupConLoss, default_level_weights

# Two queries, four product rows (2-d unit vectors so cosines are easy to read):
#   row 0: query group 0, grade 3 (exact),      p0 = (1, 0)
#   row 1: query group 0, grade 2 (substitute), p1 = (0.6, 0.8)
#   row 2: query group 0, grade 0 (irrelevant), p2 = (0.8, -0.6)
#   row 3: query group 1, grade 3 (exact),      p3 = (0, 1)
# q0 = (1, 0), q1 = (0, 1).
Q = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
P = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.8, -0.6], [0.0, 1.0]])
LABELS = torch.tensor([[0, 3], [0, 2], [0, 0], [1, 3]])


def lse(*xs: float) -> float:
    return math.log(sum(math.exp(x) for x in xs))


def loss_of(temperature: float, weights: list[float]) -> float:
    return float(GradedSupConLoss(None, temperature=temperature, level_weights=weights)
                 .compute_loss_from_embeddings([Q, P], LABELS))


def test_graded_loss_matches_hand_computation():
    # τ = 0.5, weights irrelevant 0, complement 0, substitute 0.5, exact 1.
    # Anchor q0: cosines (1, 0.6, 0.8, 0) → logits /0.5 = (2, 1.2, 1.6, 0); grades (3, 2, 0, -1 in-batch).
    #   exact p0, denominator = everything (all grades <= 3): lp0 = 2 - ln(e^2 + e^1.2 + e^1.6 + e^0)
    #   substitute p1, denominator = grades <= 2 (p1, p2, p3; the exact p0 is left out):
    #       lp1 = 1.2 - ln(e^1.2 + e^1.6 + e^0)
    #   L0 = -(1 * lp0 + 0.5 * lp1) / 1.5
    # Anchor q1: cosines (0, 0.8, -0.6, 1) → logits (0, 1.6, -1.2, 2); only p3 is its (exact) product.
    #   L1 = -(2 - ln(e^0 + e^1.6 + e^-1.2 + e^2))
    # Loss = (L0 + L1) / 2
    # Numbers: e^2 = 7.389, e^1.2 = 3.320, e^1.6 = 4.953, e^-1.2 = 0.301
    #   lp0 = 2 - ln(16.662) = -0.8131; lp1 = 1.2 - ln(9.273) = -1.0271; L0 = (0.8131 + 0.5136) / 1.5 = 0.8845
    #   L1 = -(2 - ln(13.643)) = 0.6133; Loss = (0.8845 + 0.6133) / 2 = 0.7489
    lp0 = 2 - lse(2, 1.2, 1.6, 0)
    lp1 = 1.2 - lse(1.2, 1.6, 0)
    l0 = -(1 * lp0 + 0.5 * lp1) / 1.5
    l1 = -(2 - lse(0, 1.6, -1.2, 2))
    expected = (l0 + l1) / 2
    assert expected == pytest.approx(0.7489, abs=1e-4)  # the arithmetic above, evaluated
    assert loss_of(0.5, [0.0, 0.0, 0.5, 1.0]) == pytest.approx(expected, rel=1e-5)


def test_zero_weight_turns_a_level_into_a_negative():
    # Substitute weight 0: q0 keeps only p0 as positive: L0 = -(2 - ln(e^2 + e^1.2 + e^1.6 + e^0)).
    l0 = -(2 - lse(2, 1.2, 1.6, 0))
    l1 = -(2 - lse(0, 1.6, -1.2, 2))
    assert loss_of(0.5, [0.0, 0.0, 0.0, 1.0]) == pytest.approx((l0 + l1) / 2, rel=1e-5)


def test_temperature_scales_the_logits():
    # τ = 1: logits equal the cosines. q0: lp0 = 1 - ln(e^1 + e^0.6 + e^0.8 + e^0), lp1 = 0.6 - ln(e^0.6 + e^0.8 + e^0)
    # q1: lp3 = 1 - ln(e^0 + e^0.8 + e^-0.6 + e^1)
    lp0 = 1 - lse(1, 0.6, 0.8, 0)
    lp1 = 0.6 - lse(0.6, 0.8, 0)
    l0 = -(lp0 + 0.5 * lp1) / 1.5
    l1 = -(1 - lse(0, 0.8, -0.6, 1))
    assert loss_of(1.0, [0.0, 0.0, 0.5, 1.0]) == pytest.approx((l0 + l1) / 2, rel=1e-5)
    # A lower temperature makes the well-separated batch cheaper (positives already win).
    assert loss_of(0.05, [0.0, 0.0, 0.5, 1.0]) < loss_of(1.0, [0.0, 0.0, 0.5, 1.0])


def test_single_level_one_positive_is_in_batch_cross_entropy():
    # Each query has exactly one exact product and no other judged rows: the loss is InfoNCE with in-batch
    # negatives, i.e. cross-entropy over the similarity matrix (MultipleNegativesRankingLoss, scale 1/τ).
    torch.manual_seed(0)
    q = torch.nn.functional.normalize(torch.randn(5, 8), dim=-1)
    p = torch.nn.functional.normalize(torch.randn(5, 8), dim=-1)
    labels = torch.tensor([[i, 3] for i in range(5)])
    ours = GradedSupConLoss(None, temperature=0.1).compute_loss_from_embeddings([q, p], labels)
    reference = torch.nn.functional.cross_entropy(q @ p.T / 0.1, torch.arange(5))
    assert float(ours) == pytest.approx(float(reference), rel=1e-5)


def test_default_weights_and_validation():
    assert default_level_weights(4) == [0.0, 0.0, 0.2, 1.0]  # esci: irrelevant, complement, substitute, exact
    assert default_level_weights(3) == [0.0, 0.2, 1.0]
    with pytest.raises(ValueError):
        GradedSupConLoss(None, temperature=0.0)
    with pytest.raises(ValueError):
        GradedSupConLoss(None, level_weights=[0.0, 0.0, 0.0, 0.0])
    with pytest.raises(ValueError):  # grade 4 does not exist in a 4-level scheme
        GradedSupConLoss(None).compute_loss_from_embeddings([Q, P], torch.tensor([[0, 4]] * 4))


def test_gradient_pulls_positive_closer():
    q = torch.tensor([[1.0, 0.0], [1.0, 0.0]], requires_grad=True)
    p = torch.tensor([[0.6, 0.8], [0.8, -0.6]], requires_grad=True)
    labels = torch.tensor([[0, 3], [0, 0]])
    loss = GradedSupConLoss(None, temperature=0.1).compute_loss_from_embeddings([q, p], labels)
    loss.backward()
    # Moving the query against the gradient must raise its cosine to the exact product (0.6, 0.8).
    step = q.detach()[0] - 0.1 * q.grad[0]
    cos_after = float(torch.nn.functional.cosine_similarity(step, torch.tensor([0.6, 0.8]), dim=0))
    assert cos_after > 0.6


def test_forward_embeds_each_query_once(minilm):
    loss = GradedSupConLoss(minilm, temperature=0.05)
    queries = ["red shirt", "red shirt", "usb cable"]
    products = ["Red cotton shirt", "Shirt hanger", "USB-C cable 2m"]
    labels = torch.tensor([[0, 3], [0, 0], [1, 3]])
    value = loss([minilm.preprocess(queries), minilm.preprocess(products)], labels)
    q = minilm.encode(queries, convert_to_tensor=True)
    p = minilm.encode(products, convert_to_tensor=True)
    expected = loss.compute_loss_from_embeddings([q, p], labels)
    assert float(value) == pytest.approx(float(expected), rel=1e-4)
