"""Multi-class circle loss: one circle-loss term per adjacent relevance-level boundary (Mine & Refine Stage 2)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class MultiClassCircleLoss(nn.Module):
    def __init__(
        self,
        model: Any,
        num_levels: int,
        margins: float | Sequence[float] = 0.25,
        gamma: float = 32.0,
        boundary_weights: Sequence[float] | None = None,
    ) -> None:
        """Circle loss (Sun et al. 2020) generalised to graded relevance: it sharpens the cosine-similarity
        boundary between EVERY pair of adjacent levels, each with its own margin.

        For a query q and a boundary b (between grade b-1 and grade b, b = 1 .. num_levels-1), the query's
        products with grade >= b are the positives P and those with grade < b the negatives N. With
        s = cos(q, product) and the boundary's margin m:

            O_p = 1 + m,  O_n = -m,  Δ_p = 1 - m,  Δ_n = m
            α_p = [O_p - s_p]+,  α_n = [s_n - O_n]+        (detached: weights, not gradients, as in the paper)
            L_b(q) = softplus( logsumexp_{n∈N} γ α_n (s_n - Δ_n) + logsumexp_{p∈P} -γ α_p (s_p - Δ_p) )

        which equals log(1 + Σ_n Σ_p exp(γ(α_n(s_n-Δ_n) - α_p(s_p-Δ_p)))). The loss of a batch is

            L = Σ_b w_b · mean_{q with both P and N at b} L_b(q)

        A boundary with no query having both sides in the batch contributes 0.

        Args:
            model: the SentenceTransformer being trained (queries and products share this one encoder).
            num_levels: number of levels of the scheme (ESCI 4, WANDS / three-level 3).
            margins: m per boundary, from the LOWEST boundary (irrelevant|next) upwards; one float = the same
                for all. Each in (0, 0.5].
            gamma: scale γ (inverse temperature) of the similarities.
            boundary_weights: w_b per boundary (same order as margins); default 1.0 each.

        References:
            - Sun et al., "Circle Loss: A Unified Perspective of Pair Similarity Optimization", CVPR 2020.
              https://arxiv.org/abs/2002.10857
            - The multi-class extension follows the Mine & Refine recipe (one term per adjacent boundary).

        Requirements:
            - Each batch holds several labeled products per query (see the Stage-2 batcher), so both sides of a
              boundary can appear for the same query.

        Inputs:
            +----------------------------------------+--------------------------------------------+
            | Inputs                                 | Labels                                     |
            +========================================+============================================+
            | (query, product) pairs                 | LongTensor [N, 2]: (query group, grade)    |
            +----------------------------------------+--------------------------------------------+

            Pairs with the same query group share a query; grade is the integer level (0 = irrelevant).

        Relations:
            - Stage 1's graded SupCon (mrs.toolkit.losses.supcon) learns the space with in-batch negatives;
              this loss is added to it (``stage2 --circle-weight``) to separate adjacent levels.

        Example:
            ::

                loss = MultiClassCircleLoss(model, num_levels=4, margins=[0.25, 0.25, 0.25], gamma=32)
                q = torch.nn.functional.normalize(torch.randn(6, 8), dim=-1)
                p = torch.nn.functional.normalize(torch.randn(6, 8), dim=-1)
                labels = torch.tensor([[0, 3], [0, 2], [0, 0], [1, 3], [1, 1], [1, 0]])
                value = loss.compute_loss_from_embeddings([q, p], labels)
        """
        super().__init__()
        if num_levels < 2:
            raise ValueError("MultiClassCircleLoss needs a scheme with at least 2 levels")
        n_boundaries = num_levels - 1
        if isinstance(margins, (int, float)):
            margins = [float(margins)] * n_boundaries
        margins = [float(m) for m in margins]
        if len(margins) != n_boundaries:
            raise ValueError(f"expected {n_boundaries} margins (one per adjacent level boundary), got {len(margins)}")
        if boundary_weights is None:
            boundary_weights = [1.0] * n_boundaries
        boundary_weights = [float(w) for w in boundary_weights]
        if len(boundary_weights) != n_boundaries:
            raise ValueError(f"expected {n_boundaries} boundary weights, got {len(boundary_weights)}")
        self.model = model
        self.num_levels = num_levels
        self.margins = margins
        self.gamma = float(gamma)
        self.boundary_weights = boundary_weights

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor) -> Tensor:
        """sentence_features: [query features, product features] (N rows each); labels: [N, 2] (group, grade)."""
        embeddings = [self.model(f)["sentence_embedding"] for f in sentence_features]
        return self.compute_loss_from_embeddings(embeddings, labels)

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor) -> Tensor:
        """embeddings: [query_emb [N, d], product_emb [N, d]] (any norm; cosine is taken);
        labels: [N, 2] LongTensor of (query group, grade). Returns the scalar loss."""
        query_emb, product_emb = embeddings[0], embeddings[1]
        if labels.dim() != 2 or labels.shape[1] != 2 or labels.shape[0] != query_emb.shape[0]:
            raise ValueError("labels must be [N, 2] (query group, grade), one row per (query, product) pair")
        sims = F.cosine_similarity(query_emb.float(), product_emb.float(), dim=-1)
        groups, grades = labels[:, 0], labels[:, 1]
        total = sims.new_zeros(())
        for b in range(1, self.num_levels):
            per_query = []
            for g in torch.unique(groups):
                in_group = groups == g
                s_p = sims[in_group & (grades >= b)]
                s_n = sims[in_group & (grades < b)]
                if s_p.numel() == 0 or s_n.numel() == 0:
                    continue
                per_query.append(circle_term(s_p, s_n, self.margins[b - 1], self.gamma))
            if per_query:
                total = total + self.boundary_weights[b - 1] * torch.stack(per_query).mean()
        return total

    def get_config_dict(self) -> dict[str, Any]:
        return {
            "num_levels": self.num_levels,
            "margins": self.margins,
            "gamma": self.gamma,
            "boundary_weights": self.boundary_weights,
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
    """One circle-loss term for positive similarities s_p [P] vs negative similarities s_n [N] (cosines).

    softplus(logsumexp(γ α_n (s_n − m)) + logsumexp(−γ α_p (s_p − (1 − m)))), α_p = [1 + m − s_p]+,
    α_n = [s_n + m]+, both detached.
    """
    alpha_p = torch.clamp_min(1.0 + margin - s_p.detach(), 0.0)
    alpha_n = torch.clamp_min(s_n.detach() + margin, 0.0)
    logit_p = -gamma * alpha_p * (s_p - (1.0 - margin))
    logit_n = gamma * alpha_n * (s_n - margin)
    return F.softplus(torch.logsumexp(logit_n, dim=0) + torch.logsumexp(logit_p, dim=0))
