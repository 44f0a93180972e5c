"""What the graded losses share: (query, product) rows with (query group, grade) labels, each distinct query
embedded once, and in-batch products gathered across devices under distributed training.

A graded loss is an ``nn.Module`` built as ``Loss(model, ...)`` and called as sentence-transformers losses
are, ``loss([query_features, product_features], labels)``, with labels a LongTensor [N, 2] of (query group,
grade): rows with the same group number share one query. ``SentenceTransformerTrainer`` calls it that way
with the features its data collator tokenised and the dataset's ``label`` column.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor, nn


class GradedPairLoss(nn.Module, ABC):
    """Base of GradedSupConLoss and MultiClassCircleLoss: holds the model, embeds the rows (each distinct
    query once), checks the labels and leaves the loss to ``compute_loss_from_embeddings``."""

    def __init__(self, model: Any, gather_across_devices: bool = False) -> None:
        super().__init__()
        self.model = model
        self.gather_across_devices = bool(gather_across_devices)

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor) -> Tensor:
        """sentence_features: [query features, product features] (N rows each); labels: [N, 2] (group, grade)."""
        return self.compute_loss_from_embeddings(embed_pairs(self.model, sentence_features, labels), labels)

    @abstractmethod
    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor) -> Tensor:
        """The scalar loss from [query_emb [N, d], product_emb [N, d]] and labels [N, 2] (group, grade)."""


def embed_pairs(model: Any, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor) -> list[Tensor]:
    """[query_emb [N, d], product_emb [N, d]] for N (query, product) rows: each distinct query (label group)
    is embedded once, from its first row, and spread back over its rows; every product row is embedded."""
    query_features, product_features = list(sentence_features)
    groups = labels[:, 0]
    first_rows = first_row_per_group(groups)
    query_once = {k: v[first_rows] if isinstance(v, Tensor) and v.shape[:1] == groups.shape else v
                  for k, v in query_features.items()}
    query_emb_once = model(query_once)["sentence_embedding"]
    position = {g: i for i, g in enumerate(groups[first_rows].tolist())}
    row_to_anchor = torch.tensor([position[g] for g in groups.tolist()], device=groups.device)
    return [query_emb_once[row_to_anchor], model(product_features)["sentence_embedding"]]


def check_pair_labels(labels: Tensor, rows: int) -> None:
    """ValueError unless labels is [rows, 2] (query group, grade)."""
    if labels.dim() != 2 or labels.shape[1] != 2 or labels.shape[0] != rows:
        raise ValueError("labels must be [N, 2] (query group, grade), one row per (query, product) pair")


def first_row_per_group(groups: Tensor) -> Tensor:
    """Indices of the first row of each distinct group, in order of first appearance."""
    seen: dict[int, int] = {}
    for i, g in enumerate(groups.tolist()):
        seen.setdefault(int(g), i)
    return torch.tensor(list(seen.values()), dtype=torch.long, device=groups.device)


def gather_products(product_emb: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """(product embeddings, labels) of every process of a distributed run, in rank order, so in-batch
    negatives span the global batch. Batches of the plan differ in size, so each rank's rows are padded to
    the largest before the all-gather and the padding dropped after; the gather keeps the gradient of every
    rank's embeddings (sentence_transformers.util.distributed.all_gather_with_grad). Unchanged when
    torch.distributed is not initialised. Group numbers must be unique across processes: the trainer path
    numbers query variants over the whole dataset (mrs.toolkit.training.training_dataset)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return product_emb, labels
    from sentence_transformers.util.distributed import all_gather, all_gather_with_grad

    rows = torch.tensor([product_emb.shape[0]], device=product_emb.device)
    sizes = [torch.zeros_like(rows) for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, rows)
    sizes = [int(s) for s in sizes]
    pad = max(sizes) - product_emb.shape[0]
    padded_emb = torch.nn.functional.pad(product_emb, (0, 0, 0, pad)).contiguous()
    padded_labels = torch.nn.functional.pad(labels, (0, 0, 0, pad), value=-1).contiguous()
    emb, lab = all_gather_with_grad(padded_emb), all_gather(padded_labels)
    keep = torch.cat([torch.arange(max(sizes), device=emb.device) < s for s in sizes])
    return emb[keep], lab[keep]
