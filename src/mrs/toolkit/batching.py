"""Training examples and the batch plan for graded contrastive training.

A batch holds several judged products of the same query (mixed levels, the top level first) next to the
groups of other queries, and never two rows with the same product (by id or by text) nor two variants of the
same query (a misspelled copy beside its clean original would turn the shared products into false in-batch
negatives). A product that is judged for one query of the batch is never placed as an in-batch negative of
another query of the batch.
"""

from __future__ import annotations

import random
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class TrainingExample:
    """One (query, product, grade) training row.

    query_id: id of this query variant ("q17", "q17~sp0" for a misspelled copy, "syn:B0123:0" for synthetic).
    origin_id: the query it derives from (its own id for real and synthetic queries); variants of one origin
    never share a batch. product_text: the rendered product text (ProductTextTemplate). grade: level of the
    scheme (higher = more relevant). source: "human", "augmented", "synthetic", "mined", ...
    """

    query_id: str
    origin_id: str
    query: str
    product_id: str
    product_text: str
    grade: int
    source: str = "human"


def plan_groups(
    examples: Sequence[TrainingExample], per_query: int, top: int, rng: random.Random
) -> list[list[int]]:
    """Row-index groups for one epoch: each query variant's rows split into groups of at most per_query
    rows, each group holding one or more top-level rows first and lower levels interleaved (so every group
    carries a positive and a mix of negatives). Groups of all queries are returned in shuffled order."""
    by_query: dict[str, list[int]] = defaultdict(list)
    for i, ex in enumerate(examples):
        by_query[ex.query_id].append(i)
    groups: list[list[int]] = []
    for rows in by_query.values():
        tops = [i for i in rows if examples[i].grade == top]
        rest = [i for i in rows if examples[i].grade != top]
        rng.shuffle(tops)
        rng.shuffle(rest)
        # Interleave the lower levels so each group sees several grades: sort by grade round-robin.
        by_grade: dict[int, list[int]] = defaultdict(list)
        for i in rest:
            by_grade[examples[i].grade].append(i)
        interleaved: list[int] = []
        lists = [by_grade[g] for g in sorted(by_grade, reverse=True)]
        while any(lists):
            for lst in lists:
                if lst:
                    interleaved.append(lst.pop())
        per_query = max(per_query, 1)
        n_groups = max(1, -(-len(rows) // per_query))
        if tops and len(tops) < n_groups and per_query > 1:
            # every group leads with a positive (reused when there are fewer positives than groups), so the
            # lower levels get per_query - 1 slots per group: enough groups that none is cut
            n_groups = max(n_groups, -(-len(rest) // (per_query - 1)))
        buckets: list[list[int]] = [[] for _ in range(n_groups)]
        for k, i in enumerate(tops):
            buckets[k % n_groups].append(i)
        if tops:
            for k in range(len(tops), n_groups):  # fewer positives than groups: reuse them
                buckets[k].append(tops[k % len(tops)])
        # continue the round-robin where the positives stopped, so bucket sizes differ by at most one
        start = len(tops) % n_groups if len(tops) >= n_groups else 0
        for k, i in enumerate(interleaved):
            buckets[(start + k) % n_groups].append(i)
        groups.extend(b[:per_query] if len(b) > per_query else b for b in buckets if b)
    rng.shuffle(groups)
    return groups


def build_batches(
    examples: Sequence[TrainingExample],
    *,
    batch_size: int,
    per_query: int = 8,
    top: int,
    seed: int = 0,
    judged: dict[str, set[str]] | None = None,
    lookahead: int = 64,
) -> list[list[int]]:
    """One epoch's batch plan: lists of row indices into ``examples``.

    batch_size: rows per batch (a batch is closed early when none of the next ``lookahead`` groups fits).
    per_query: most rows of one query per batch. top: the top grade of the scheme. seed: the epoch's seed.
    judged: origin id → ids of the products judged for it (all training judgments); a group is not added
    to a batch where one of its products is judged for another origin in the batch, or vice versa.
    Every row of the epoch appears in at most one batch; a group that never fits is dropped (counted by
    the caller as len(examples) - rows planned).

    Synthetic rows (source "synthetic": one product per query, judged for nothing else) are fillers: the
    judged groups are planned first, then the fillers are spread over those batches, the emptiest batch
    first, and only fillers left over open batches of their own. Packing everything greedily in one pass
    used the easy fillers up in the first batches, so when judged products overlap across queries (a
    small shop) every epoch ended with batches of one to four conflicting queries and no fillers, a
    different and harder loss each time the plan came round.
    """
    if batch_size < 2:
        raise ValueError("batch_size must be at least 2")
    rng = random.Random(seed)
    judged = judged if judged is not None else judged_by_origin(examples)
    groups = plan_groups(examples, min(per_query, batch_size), top, rng)
    fillers = [g for g in groups if all(examples[i].source == "synthetic" for i in g)]
    batches = _pack(deque(g for g in groups if not all(examples[i].source == "synthetic" for i in g)),
                    examples, batch_size, judged, lookahead)
    leftover = _spread(fillers, batches, examples, batch_size, judged)
    batches += _pack(deque(leftover), examples, batch_size, judged, lookahead)
    return batches


def _batch_state(batch: list[int], examples: Sequence[TrainingExample]) -> tuple[set[str], set[str], set[str]]:
    return ({examples[i].origin_id for i in batch}, {examples[i].product_id for i in batch},
            {examples[i].product_text for i in batch})


def _spread(fillers: list[list[int]], batches: list[list[int]], examples: Sequence[TrainingExample],
            batch_size: int, judged: dict[str, set[str]]) -> list[list[int]]:
    """Add filler groups to ``batches`` (in place), each to the emptiest batch it fits; returns the rest."""
    import heapq

    states = [_batch_state(b, examples) for b in batches]
    heap = [(len(b), k) for k, b in enumerate(batches) if len(b) < batch_size]
    heapq.heapify(heap)
    rest: list[list[int]] = []
    for group in fillers:
        tried: list[tuple[int, int]] = []
        placed = False
        while heap:
            size, k = heapq.heappop(heap)
            origins, products, texts = states[k]
            fitted = _fit(group, examples, batch_size - size, origins, products, texts, judged)
            if fitted is None:
                tried.append((size, k))
                continue
            batches[k].extend(fitted)
            origins.add(examples[fitted[0]].origin_id)
            products.update(examples[i].product_id for i in fitted)
            texts.update(examples[i].product_text for i in fitted)
            if len(batches[k]) < batch_size:
                tried.append((len(batches[k]), k))
            placed = True
            break
        for item in tried:
            heapq.heappush(heap, item)
        if not placed:
            rest.append(group)
    return rest


def _pack(pending: deque, examples: Sequence[TrainingExample], batch_size: int, judged: dict[str, set[str]],
          lookahead: int) -> list[list[int]]:
    """Greedy first-fit of ``pending`` groups into batches of at most batch_size rows (see build_batches)."""
    batches: list[list[int]] = []
    while pending:
        batch: list[int] = []
        origins: set[str] = set()
        products: set[str] = set()
        texts: set[str] = set()
        deferred: list[list[int]] = []
        misses = 0
        while pending and len(batch) < batch_size and misses < lookahead:
            group = pending.popleft()
            fitted = _fit(group, examples, batch_size - len(batch), origins, products, texts, judged)
            if fitted is None:
                deferred.append(group)
                misses += 1
                continue
            batch.extend(fitted)
            origin = examples[fitted[0]].origin_id
            origins.add(origin)
            products.update(examples[i].product_id for i in fitted)
            texts.update(examples[i].product_text for i in fitted)
        pending.extendleft(reversed(deferred))
        if not batch:
            pending.popleft()  # cannot fit anywhere (e.g. a conflicting lone group): drop it for this epoch
            continue
        batches.append(batch)
    return batches


def rows_left_out(n_rows: int, plan: Sequence[Sequence[TrainingExample]]) -> int:
    """How many of the epoch's n_rows training rows no batch of ``plan`` holds (cut by the per-query cap
    or a group that fits nowhere), for the training report: rows are counted once even when a positive is
    reused in several groups."""
    return n_rows - len({id(row) for batch in plan for row in batch})


def _fit(
    group: list[int],
    examples: Sequence[TrainingExample],
    room: int,
    origins: set[str],
    products: set[str],
    texts: set[str],
    judged: dict[str, set[str]],
) -> list[int] | None:
    """The rows of ``group`` when the whole group can join the batch, else None (the caller defers it to a
    later batch, so no row is lost to a trim or a conflict). Only a product text repeated inside the group
    itself is left out (it would be the same training row twice)."""
    origin = examples[group[0]].origin_id
    if origin in origins:
        return None
    own_judged = judged.get(origin, set())
    if own_judged & products:
        return None  # a product already in the batch is judged for this query: it would be a false negative
    kept: list[int] = []
    seen_texts: set[str] = set()
    for i in group:
        ex = examples[i]
        if ex.product_text in seen_texts:
            continue
        if ex.product_id in products or ex.product_text in texts:
            return None
        if any(ex.product_id in judged.get(o, ()) for o in origins):
            return None
        kept.append(i)
        seen_texts.add(ex.product_text)
    if len(kept) > room:
        return None
    return kept or None


def judged_by_origin(examples: Iterable[TrainingExample]) -> dict[str, set[str]]:
    """Origin query id → ids of the products its rows name (all its variants' judgments together)."""
    out: dict[str, set[str]] = defaultdict(set)
    for ex in examples:
        out[ex.origin_id].add(ex.product_id)
    return dict(out)


def batch_labels(rows: Sequence[TrainingExample]) -> list[tuple[int, int]]:
    """(query group, grade) per row for the loss: rows of the same query variant share a group number,
    numbered from 0 in order of first appearance."""
    numbers: dict[str, int] = {}
    return [(numbers.setdefault(ex.query_id, len(numbers)), ex.grade) for ex in rows]
