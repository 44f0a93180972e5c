"""Graded relevance judgments: one structure for every source format (ESCI, SRW JSON, WANDS, TREC qrels).

A judgment is (query id, query text, product id, grade) where grade is an integer of a LevelScheme
(higher = more relevant).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from mrs.data.levels import ESCI, LevelScheme


@dataclass(frozen=True)
class Judgment:
    """One human (or judge-model) label. grade: integer level of the set's scheme.

    source: provenance ("human", "mined", "audited", "synthetic"); confidence: judge probability or 1.0.
    """

    query_id: str
    query: str
    product_id: str
    grade: int
    source: str = "human"
    confidence: float = 1.0


@dataclass
class JudgmentSet:
    """All judgments of a collection, with their level scheme. Order of insertion is kept."""

    scheme: LevelScheme = ESCI
    judgments: list[Judgment] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.judgments)

    def __iter__(self) -> Iterator[Judgment]:
        return iter(self.judgments)

    def add(self, j: Judgment) -> None:
        self.judgments.append(j)

    def extend(self, js: Iterable[Judgment]) -> None:
        self.judgments.extend(js)

    def queries(self) -> dict[str, str]:
        """query id → query text, in first-seen order."""
        out: dict[str, str] = {}
        for j in self.judgments:
            out.setdefault(j.query_id, j.query)
        return out

    def by_query(self) -> dict[str, list[Judgment]]:
        """query id → its judgments, in first-seen order."""
        out: dict[str, list[Judgment]] = defaultdict(list)
        for j in self.judgments:
            out[j.query_id].append(j)
        return dict(out)

    def product_ids(self) -> set[str]:
        return {j.product_id for j in self.judgments}

    def level_counts(self) -> dict[str, int]:
        """{level name: count}, from the top level down, every level listed (0 when absent)."""
        c = Counter(j.grade for j in self.judgments)
        return {self.scheme.name_of(g): c.get(g, 0) for g in range(self.scheme.top, -1, -1)}

    def subset(self, query_ids: Iterable[str]) -> JudgmentSet:
        """The judgments of the given queries only (same scheme)."""
        keep = set(query_ids)
        return JudgmentSet(self.scheme, [j for j in self.judgments if j.query_id in keep])

    def qrels(self) -> dict[str, dict[str, int]]:
        """ranx/TREC-style qrels: {query id: {product id: grade}} (all grades, including 0)."""
        out: dict[str, dict[str, int]] = defaultdict(dict)
        for j in self.judgments:
            out[j.query_id][j.product_id] = j.grade
        return dict(out)
