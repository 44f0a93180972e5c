"""Query-level splits: every judgment of a query lands on the same side, so no query leaks into evaluation.

A query's side depends only on (seed, query id): its hash is mapped to a point in [0, 1) and the point falls
into one side's share of the interval. Adding or removing other queries never moves a query to another side.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from mrs.data.judgments import JudgmentSet
from mrs.errors import InputError


def query_point(query_id: str, seed: int = 0) -> float:
    """A stable pseudo-random point in [0, 1) for a query id: the first 8 bytes of sha256(seed:id) / 2**64."""
    digest = hashlib.sha256(f"{seed}:{query_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_queries(
    query_ids: Iterable[str],
    fractions: dict[str, float] | None = None,
    seed: int = 0,
) -> dict[str, list[str]]:
    """Assign each query id to exactly one side.

    query_ids: the ids (duplicates are kept once). fractions: {side: share}, shares ≥ 0 summing to 1 (± 1e-6;
    a side with share 0 stays empty),
    in the order the sides take the interval [0, 1); default {"train": 0.8, "dev": 0.2}. seed: changes the
    assignment. Returns {side: [query ids in input order]}, every side listed (possibly empty). The shares
    are expected proportions, not exact counts (a 30-query set may split 25/5 at 0.8/0.2).
    """
    fractions = dict(fractions) if fractions is not None else {"train": 0.8, "dev": 0.2}
    if not fractions:
        raise InputError("split fractions are empty")
    if any(f < 0 for f in fractions.values()):
        raise InputError(f"split fractions must not be negative: {fractions}")
    total = sum(fractions.values())
    if abs(total - 1.0) > 1e-6:
        raise InputError(f"split fractions must sum to 1, not {total:g}: {fractions}")
    bounds: list[tuple[str, float]] = []
    acc = 0.0
    for side, share in fractions.items():
        acc += share
        bounds.append((side, acc))
    out: dict[str, list[str]] = {side: [] for side in fractions}
    for qid in dict.fromkeys(query_ids):
        point = query_point(qid, seed)
        side = next((s for s, upper in bounds if point < upper and fractions[s] > 0),
                    next(s for s in reversed(fractions) if fractions[s] > 0))
        out[side].append(qid)
    return out


def train_dev_split(queries: JudgmentSet | Iterable[str], dev_fraction: float,
                    seed: int = 0) -> tuple[list[str], list[str]]:
    """The train/dev query split every room uses (Stage 1, the judges, mining, the audit, calibration, eval).

    queries: query ids, or a JudgmentSet (its judged queries, in first-seen order). dev_fraction: the expected
    share of dev queries, in [0, 1); 0 puts every query in train. seed: as split_queries. Returns
    (train ids, dev ids), each in input order: split_queries with {"train": 1 − f, "dev": f} and the seed, so
    the same fraction and seed give the same sides everywhere. InputError for a fraction outside [0, 1).
    """
    ids = list(queries.queries()) if isinstance(queries, JudgmentSet) else list(dict.fromkeys(queries))
    if not 0.0 <= dev_fraction < 1.0:
        raise InputError(f"--dev-fraction must be in [0, 1), not {dev_fraction}")
    if dev_fraction == 0.0:
        return ids, []
    sides = split_queries(ids, {"train": 1.0 - dev_fraction, "dev": dev_fraction}, seed=seed)
    return sides["train"], sides["dev"]


def split_judgments(judgments: JudgmentSet, dev_fraction: float, seed: int = 0) -> tuple[JudgmentSet, JudgmentSet]:
    """(train judgments, dev judgments): ``judgments`` cut along train_dev_split's query sides."""
    train_ids, dev_ids = train_dev_split(judgments, dev_fraction, seed)
    return judgments.subset(train_ids), judgments.subset(dev_ids)
