"""Graded supervised contrastive loss (SupCon generalised to graded relevance levels) — Mine & Refine Stage 1."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from mrs.toolkit.losses.base import GradedPairLoss, check_pair_labels, first_row_per_group, gather_products

# Default weight per level, counted from the TOP level downwards: the top level is a full positive, the level
# just below it a weak positive, every lower level a negative. For ESCI that reads exact 1.0, substitute 0.2,
# complement 0.0, irrelevant 0.0 (see GradedSupConLoss for why).
DEFAULT_WEIGHTS_FROM_TOP: tuple[float, ...] = (1.0, 0.2)


def default_level_weights(num_levels: int) -> list[float]:
    """Default per-grade weights (index = grade, 0 = irrelevant): top 1.0, next 0.2, the rest 0.0."""
    weights = [0.0] * num_levels
    for i, w in enumerate(DEFAULT_WEIGHTS_FROM_TOP[: num_levels - 1]):
        weights[num_levels - 1 - i] = w
    return weights


class GradedSupConLoss(GradedPairLoss):
    """Label-aware supervised contrastive loss over one shared encoder (a Siamese two-tower model), with
    graded relevance: each query is an anchor, its top-level products are positives, lower levels are
    weighted positives or negatives, and every other product in the batch is a negative.

    For a batch of N (query, product) rows, let A be the distinct queries (anchors), s_aj = cos(q_a, p_j)/τ
    for every anchor a and every product j of the batch, g_aj the grade of product j for query a (only the
    rows of query a are judged for it; any other in-batch product counts as ungraded, g = -1, a negative),
    and w_aj = level_weights[g_aj] (0 for ungraded). The positives of a are P(a) = {j : w_aj > 0}. Each
    positive is contrasted against itself and everything NOT more relevant than it,
    D(a, j) = {k : g_ak <= g_aj}, so a weak positive (a substitute) is pulled above complements,
    irrelevant and in-batch products without being pushed above the exact products:

        L_a = - 1/Σ_{j∈P(a)} w_aj · Σ_{j∈P(a)} w_aj · log( exp(s_aj) / Σ_{k∈D(a,j)} exp(s_ak) )
        L   = mean of L_a over the anchors with at least one positive

    With only one level (weights top = 1, others 0) and one positive per anchor this is exactly
    MultipleNegativesRankingLoss (InfoNCE with in-batch negatives, scale = 1/τ) plus the query's labeled
    irrelevant products as hard negatives; with several top-level products per anchor it is SupCon's
    L_out (Khosla et al. 2020) with the query as the only anchor.

    Args:
        model: the SentenceTransformer being trained (queries and products share this one encoder).
        temperature: τ > 0. Default 0.05 (scale 20, the usual sentence-transformers scale for cosine
            logits); 0.05–0.1 works for MiniLM-sized models. Lower τ punishes hard negatives harder.
        level_weights: weight per grade, index = grade (0 = irrelevant). A weight > 0 makes that level a
            (weighted) positive, 0 a negative. Default (``default_level_weights``): top 1.0, next level
            0.2, lower levels 0.0 — for ESCI exact 1.0 / substitute 0.2 / complement 0.0 / irrelevant 0.0.
            Why: a substitute satisfies part of the intent (ESCI's own gain for it is 0.1 of exact) so it
            should sit above unrelated products, but weakly; a complement (a phone case for "iphone") is
            not what was asked for and irrelevant products are the hard negatives the recipe wants.
        num_levels: number of levels of the scheme; used only when level_weights is None.
        gather_across_devices: under distributed training (torchrun / accelerate), contrast every anchor with
            the products of every process's batch, not only its own (mrs.toolkit.losses.base.gather_products);
            a no-op in a single process.

    References:
        - Khosla et al., "Supervised Contrastive Learning", NeurIPS 2020. https://arxiv.org/abs/2004.11362
        - The graded generalisation (weighted positives, "not more relevant" denominators) follows the
          Mine & Refine Stage-1 recipe of label-aware contrastive training on graded judgments.

    Requirements:
        - Batches hold several judged products per query at different levels, and no duplicate product
          texts (an in-batch copy of a positive would be counted as a negative); see
          ``mrs.toolkit.batching.build_batches``.

    Inputs:
        (query, product) pairs with labels LongTensor [N, 2] of (query group, grade), the contract of
        mrs.toolkit.losses.base.

        Rows with the same query group share one query (the same labels as Stage 2's
        MultiClassCircleLoss, so both losses read the same batches).

    Relations:
        - :class:`MultipleNegativesRankingLoss` is the one-positive, ungraded special case (see above).
        - Stage 2's :class:`mrs.toolkit.losses.circle.MultiClassCircleLoss` sharpens the boundary between
          every pair of adjacent levels on mined hard samples; this loss shapes the space first.

    Example:
        ::

            from mrs.models import load_sentence_transformer
            from mrs.toolkit.losses.supcon import GradedSupConLoss

            model = load_sentence_transformer(None)          # packaged all-MiniLM-L6-v2
            loss = GradedSupConLoss(model, temperature=0.05, level_weights=[0.0, 0.0, 0.2, 1.0])
            queries = ["red shirt", "red shirt", "red shirt", "usb cable"]
            products = ["Red cotton shirt", "Pink shirt", "Shirt hanger", "USB-C cable 2m"]
            labels = torch.tensor([[0, 3], [0, 2], [0, 0], [1, 3]])
            features = [model.preprocess(queries), model.preprocess(products)]
            value = loss(features, labels)
            value.backward()
    """

    def __init__(
        self,
        model: Any,
        temperature: float = 0.05,
        level_weights: Sequence[float] | None = None,
        num_levels: int = 4,
        gather_across_devices: bool = False,
    ) -> None:
        super().__init__(model, gather_across_devices)
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        weights = list(level_weights) if level_weights is not None else default_level_weights(num_levels)
        if any(w < 0 for w in weights):
            raise ValueError(f"level weights must be >= 0, got {weights}")
        if not any(w > 0 for w in weights):
            raise ValueError("at least one level weight must be > 0 (the positives)")
        self.temperature = float(temperature)
        self.level_weights = [float(w) for w in weights]

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor) -> Tensor:
        """embeddings: [query_emb [N, d], product_emb [N, d]] (any norm; cosine is taken); rows of one query
        group carry the same query embedding (the first row's is used). labels: [N, 2] LongTensor of
        (query group, grade). Returns the scalar loss (0 with grad when no anchor has a positive)."""
        query_emb, product_emb = embeddings[0], embeddings[1]
        check_pair_labels(labels, query_emb.shape[0])
        groups, grades = labels[:, 0], labels[:, 1]
        if int(grades.max()) >= len(self.level_weights) or int(grades.min()) < 0:
            raise ValueError(f"grades must lie in 0..{len(self.level_weights) - 1}")
        first_rows = first_row_per_group(groups)
        anchors = F.normalize(query_emb[first_rows].float(), dim=-1)  # [A, d]
        anchor_groups = groups[first_rows]
        if self.gather_across_devices:  # products of every process's batch (N grows to the global batch)
            product_emb, labels = gather_products(product_emb, labels)
            groups, grades = labels[:, 0], labels[:, 1]
        products = F.normalize(product_emb.float(), dim=-1)  # [N, d]
        logits = anchors @ products.T / self.temperature  # [A, N]

        # grade_matrix[a, j]: grade of product j for anchor a, -1 when j belongs to another query.
        own = anchor_groups.unsqueeze(1) == groups.unsqueeze(0)  # [A, N]
        grade_matrix = torch.where(own, grades.unsqueeze(0).expand_as(own), torch.full_like(own, -1, dtype=grades.dtype))
        weight_table = torch.tensor(self.level_weights, dtype=logits.dtype, device=logits.device)
        weights = torch.where(grade_matrix >= 0, weight_table[grade_matrix.clamp_min(0)], torch.zeros_like(logits))

        # in_denominator[a, j, k]: product k is not more relevant than positive j for anchor a.
        in_denominator = grade_matrix.unsqueeze(1) <= grade_matrix.unsqueeze(2)  # [A, j, k]: g_ak <= g_aj
        masked = logits.unsqueeze(1).expand(-1, logits.shape[1], -1).masked_fill(~in_denominator, float("-inf"))
        log_prob = logits - torch.logsumexp(masked, dim=2)  # [A, N]: log p(j | a, D(a, j))

        weight_sum = weights.sum(dim=1)
        has_positive = weight_sum > 0
        if not bool(has_positive.any()):
            return logits.sum() * 0.0
        per_anchor = -(weights * log_prob).sum(dim=1)[has_positive] / weight_sum[has_positive]
        return per_anchor.mean()

    def get_config_dict(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "level_weights": self.level_weights,
                "gather_across_devices": self.gather_across_devices}

    @property
    def citation(self) -> str:
        return """
@inproceedings{khosla2020supervised,
    title={Supervised Contrastive Learning},
    author={Khosla, Prannay and Teterwak, Piotr and Wang, Chen and Sarna, Aaron and Tian, Yonglong and Isola, Phillip and Maschinot, Aaron and Liu, Ce and Krishnan, Dilip},
    booktitle={NeurIPS},
    year={2020}
}
"""

