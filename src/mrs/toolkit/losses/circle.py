"""Multi-class circle loss: one circle-loss term per adjacent relevance-level boundary, each boundary with its
own target similarities, so that a space where every level sits in its own band is a minimum (Stage 2)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from mrs.toolkit.losses.base import GradedPairLoss, check_pair_labels

DEFAULT_SIMILARITY_RANGE = (0.0, 1.0)
"""Targets of the lowest and the top level when they are spread evenly (Sun et al.'s s_n → 0, s_p → 1)."""


class MultiClassCircleLoss(GradedPairLoss):
    """Circle loss (Sun et al. 2020) generalised to graded relevance: every boundary between adjacent levels
    is a two-class circle loss on its own stretch of the similarity axis.

    Two classes (the paper). With s = cos(q, x), positives P, negatives N, scale γ and relaxation m:

        O_p = 1 + m,  O_n = −m,  Δ_p = 1 − m,  Δ_n = m,  α_p = [O_p − s_p]+,  α_n = [s_n − O_n]+
        L = log(1 + Σ_{n∈N} Σ_{p∈P} exp(γ (α_n (s_n − Δ_n) − α_p (s_p − Δ_p))))

    (α detached: weights, not gradients, as in the paper's implementation). With α attached, the pair's
    exponent is γ ((s_n − 0)² + (s_p − 1)² − 2m²): the decision boundary is a circle around the targets
    s_n = 0, s_p = 1, and the loss is smallest when positives sit at 1 and negatives at 0.

    Graded levels (what is new). Give each level g a target similarity μ_g, increasing with the grade
    (``level_targets``; default spread evenly over [0, 1], or estimated from the Stage-1 score
    distribution by ``estimate_level_targets``). The boundary b between grade b−1 and b (b = 1..K−1) has
    positives P_b = the query's products with grade ≥ b and negatives N_b = grade < b, and measures
    similarity on its own stretch, t = (s − μ_{b−1}) / (μ_b − μ_{b−1}), so that its targets are t = 0 and
    t = 1. A positive above its target (t_p > 1: a higher level, already past this boundary) counts as
    sitting at it, t_p ← min(t_p, 1), and so does a negative below its target, t_n ← max(t_n, 0); without
    this a pair past its optimum gets α = 0 and adds exp(0) = 1 to the sum, so the loss of a well
    separated space would grow with the number of levels. Its term is the paper's loss in t:

        L_b(q) = log(1 + Σ_{n∈N_b} Σ_{p∈P_b} exp(γ (α_n (t_n − m_b) − α_p (t_p − (1 − m_b)))))
        α_p = [1 + m_b − t_p]+,  α_n = [t_n + m_b]+
        L = Σ_b w_b · mean_{q with both P_b and N_b} L_b(q)

    In cosine units boundary b pushes its positives above μ_b − m_b (μ_b − μ_{b−1}) and its negatives below
    μ_{b−1} + m_b (μ_b − μ_{b−1}): level g's band is [μ_g − m_g δ_g, μ_g + m_{g+1} δ_{g+1}] (δ: the gaps).
    A middle level g is a positive of boundary g and a negative of boundary g+1, and both terms have their
    optimum at the same point μ_g (t = 1 of boundary g is t = 0 of boundary g+1): the upward pull of
    boundary g weakens as the level rises past μ_g (α_p shrinks) while the downward push of boundary g+1
    grows (α_n grows), so the pulls balance near μ_g. With every level at its target each pair's exponent
    is −2γ m_b², the loss is Σ_b w_b log(1 + |P_b||N_b| e^{−2γ m_b²}) and every gradient is scaled by
    σ of that exponent: both ≈ 0 once γ m² ≳ 3 (e.g. γ 64, m 0.25). Earlier multi-class versions gave every
    boundary the paper's own targets 0 and 1, so a middle level was pulled above 1 − m at one boundary and
    pushed below m at the next (at cosines 0.9 / 0.5 / 0.1 and m 0.25, equal and opposite pulls of
    γ·0.135): no configuration with three or more levels had a small loss.

    Special case: two levels with the default targets (0, 1) give t = s, exactly the paper's loss for
    similarities in [0, 1] (a negative with a negative cosine counts as sitting at 0).

    Args:
        model: the SentenceTransformer being trained (queries and products share this one encoder).
        num_levels: number of levels of the scheme (ESCI 4, WANDS / three-level 3).
        margins: m_b per boundary, from the LOWEST boundary (irrelevant|next) upwards, as a fraction of the
            boundary's gap μ_b − μ_{b−1}; one float = the same for all. Each in (0, 0.5).
        gamma: scale γ (> 0) of the boundary-local similarities t.
        boundary_weights: w_b ≥ 0 per boundary (same order as margins); default 1.0 each.
        level_targets: μ_g per grade, lowest grade first, strictly increasing; default
            ``spread_level_targets(num_levels)`` (0, 1/(K−1), …, 1).

    References:
        - Sun et al., "Circle Loss: A Unified Perspective of Pair Similarity Optimization", CVPR 2020,
          Eq. 4 and 6–9. https://arxiv.org/abs/2002.10857
        - The multi-class extension follows the Mine & Refine recipe (one term per adjacent boundary).

    Requirements:
        - Each batch holds several labeled products per query (see the Stage-2 batcher), so both sides of a
          boundary can appear for the same query.

    Inputs:
        (query, product) pairs with labels LongTensor [N, 2] of (query group, grade), the contract of
        mrs.toolkit.losses.base.

        Pairs with the same query group share a query; grade is the integer level (0 = irrelevant).

    Relations:
        - Stage 1's graded SupCon (mrs.toolkit.losses.supcon) learns the space with in-batch negatives;
          this loss is added to it (``stage2 --circle-weight``) to separate adjacent levels.

    Example:
        ::

            loss = MultiClassCircleLoss(model, num_levels=4, margins=0.25, gamma=32)
            q = torch.nn.functional.normalize(torch.randn(6, 8), dim=-1)
            p = torch.nn.functional.normalize(torch.randn(6, 8), dim=-1)
            labels = torch.tensor([[0, 3], [0, 2], [0, 0], [1, 3], [1, 1], [1, 0]])
            value = loss.compute_loss_from_embeddings([q, p], labels)
    """

    def __init__(
        self,
        model: Any,
        num_levels: int,
        margins: float | Sequence[float] = 0.25,
        gamma: float = 32.0,
        boundary_weights: Sequence[float] | None = None,
        level_targets: Sequence[float] | None = None,
    ) -> None:
        super().__init__(model)
        if num_levels < 2:
            raise ValueError("MultiClassCircleLoss needs a scheme with at least 2 levels")
        n_boundaries = num_levels - 1
        margins = _per_boundary(margins, n_boundaries, "margins")
        if any(not 0.0 < m < 0.5 for m in margins):
            raise ValueError(f"circle margins must lie in (0, 0.5) (a fraction of each boundary's gap), got {margins}")
        if not gamma > 0:
            raise ValueError(f"circle gamma must be > 0, got {gamma}")
        weights = _per_boundary(1.0 if boundary_weights is None else boundary_weights, n_boundaries,
                                "boundary weights")
        if any(w < 0 for w in weights):
            raise ValueError(f"boundary weights must be >= 0, got {weights}")
        targets = spread_level_targets(num_levels) if level_targets is None else [float(t) for t in level_targets]
        if len(targets) != num_levels:
            raise ValueError(f"expected {num_levels} level targets (one per level), got {len(targets)}")
        if any(b <= a for a, b in zip(targets, targets[1:], strict=False)):
            raise ValueError(f"level targets must increase strictly with the grade, got {targets}")
        self.num_levels = num_levels
        self.margins = margins
        self.gamma = float(gamma)
        self.boundary_weights = weights
        self.level_targets = targets

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor) -> Tensor:
        """embeddings: [query_emb [N, d], product_emb [N, d]] (any norm; cosine is taken);
        labels: [N, 2] LongTensor of (query group, grade). Returns the scalar loss."""
        query_emb, product_emb = embeddings[0], embeddings[1]
        check_pair_labels(labels, query_emb.shape[0])
        sims = F.cosine_similarity(query_emb.float(), product_emb.float(), dim=-1)
        groups, grades = labels[:, 0], labels[:, 1]
        total = sims.new_zeros(())
        for b in range(1, self.num_levels):
            low, high = self.level_targets[b - 1], self.level_targets[b]
            t = (sims - low) / (high - low)
            per_query = []
            for g in torch.unique(groups):
                in_group = groups == g
                t_p = torch.clamp(t[in_group & (grades >= b)], max=1.0)
                t_n = torch.clamp(t[in_group & (grades < b)], min=0.0)
                if t_p.numel() == 0 or t_n.numel() == 0:
                    continue
                per_query.append(circle_term(t_p, t_n, self.margins[b - 1], self.gamma))
            if per_query:
                total = total + self.boundary_weights[b - 1] * torch.stack(per_query).mean()
        return total

    def get_config_dict(self) -> dict[str, Any]:
        return {
            "num_levels": self.num_levels,
            "margins": self.margins,
            "gamma": self.gamma,
            "boundary_weights": self.boundary_weights,
            "level_targets": self.level_targets,
        }

    @property
    def citation(self) -> str:
        return """
@inproceedings{sun2020circle,
    title={Circle Loss: A Unified Perspective of Pair Similarity Optimization},
    author={Sun, Yifan and Cheng, Changmao and Zhang, Yuhan and Zhang, Chi and Zheng, Liang and Wang, Zhongdao and Wei, Yichen},
    booktitle={CVPR},
    year={2020}
}
"""


def circle_term(s_p: Tensor, s_n: Tensor, margin: float, gamma: float) -> Tensor:
    """The paper's two-class circle loss for positive similarities s_p [P] vs negative similarities s_n [N]:

    softplus(logsumexp(γ α_n (s_n − m)) + logsumexp(−γ α_p (s_p − (1 − m)))), α_p = [1 + m − s_p]+,
    α_n = [s_n + m]+, both detached — equal to log(1 + Σ_n Σ_p exp(γ(α_n(s_n − m) − α_p(s_p − 1 + m)))).
    """
    alpha_p = torch.clamp_min(1.0 + margin - s_p.detach(), 0.0)
    alpha_n = torch.clamp_min(s_n.detach() + margin, 0.0)
    logit_p = -gamma * alpha_p * (s_p - (1.0 - margin))
    logit_n = gamma * alpha_n * (s_n - margin)
    return F.softplus(torch.logsumexp(logit_n, dim=0) + torch.logsumexp(logit_p, dim=0))


def spread_level_targets(num_levels: int, similarity_range: tuple[float, float] = DEFAULT_SIMILARITY_RANGE
                         ) -> list[float]:
    """μ_g evenly spread over ``similarity_range`` (cosines), lowest grade first: 4 levels → 0, 1/3, 2/3, 1."""
    low, high = similarity_range
    return [float(v) for v in np.linspace(low, high, num_levels)]


def estimate_level_targets(cosines: Sequence[float], grades: Sequence[int], num_levels: int,
                           min_gap: float = 0.05) -> list[float]:
    """μ_g from a model's score distribution: the median cosine of the judged pairs of each grade.

    cosines / grades: parallel, one judged (query, product) pair each (e.g. Stage-1 cosines of the training
    pairs). A grade without pairs is interpolated between its neighbours (or spread over [0, 1] when fewer
    than two grades have pairs). The medians are then made strictly increasing from the lowest grade up:
    μ_g = max(μ_g, μ_{g−1} + min_gap) — the loss needs each boundary's gap > 0, and a level whose median lies
    below the next lower one is exactly what Stage 2 has to move. Returns num_levels floats.
    """
    c = np.asarray(cosines, dtype=np.float64)
    g = np.asarray(grades)
    medians = [float(np.median(c[g == k])) if np.any(g == k) else np.nan for k in range(num_levels)]
    known = [k for k, v in enumerate(medians) if not np.isnan(v)]
    if len(known) < 2:
        return spread_level_targets(num_levels)
    filled = np.interp(range(num_levels), known, [medians[k] for k in known])
    out = [float(filled[0])]
    for value in filled[1:]:
        out.append(max(float(value), out[-1] + min_gap))
    return out


def _per_boundary(value: float | Sequence[float], n: int, what: str) -> list[float]:
    if isinstance(value, (int, float)):
        return [float(value)] * n
    values = [float(v) for v in value]
    if len(values) != n:
        raise ValueError(f"expected {n} {what} (one per adjacent level boundary), got {len(values)}")
    return values
