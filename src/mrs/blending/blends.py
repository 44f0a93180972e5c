"""The points of the blend search and its result: a configuration (normalization + combination + weights, or
RRF), its train/dev scores, and the whole grid's result. Read by mrs.blending.grid (which fills them),
mrs.blending.run (which writes the chosen one and the ranking into calibration.json) and the plots.

Techniques keep OpenSearch's names; ``BlendConfig.target`` says whose semantics scored a configuration and the
Elasticsearch names come from the technique registry (mrs.engine.techniques).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mrs.engine.techniques import ELASTICSEARCH, OPENSEARCH, TECHNIQUES
from mrs.engine.techniques.min_max import ScoreBound
from mrs.indexer.backend import SUBQUERY_DENSE


@dataclass(frozen=True)
class Normalization:
    """A normalization variant: technique + optional per-sub-query lower bounds (+ a label saying where
    the dense bound came from, e.g. 'dense≥exact')."""

    technique: str
    lower_bounds: tuple[ScoreBound, ...] | None = None
    label: str = ""

    @property
    def name(self) -> str:
        if self.lower_bounds is None:
            return self.technique
        modes = ",".join(b.mode if b.mode == "ignore" else f"{b.mode}@{b.score:.4g}" for b in self.lower_bounds)
        return f"{self.technique}[lb {self.label}: {modes}]" if self.label else f"{self.technique}[lb {modes}]"


@dataclass(frozen=True)
class BlendConfig:
    """One point of the search: normalization + combination + weights, or RRF (rank_constant + weights).

    weights follow the sub-query order of the candidates (e.g. (lexical, dense)). target: the deployment
    target whose semantics scored it (opensearch | elasticsearch); techniques keep OpenSearch's names, the
    Elasticsearch name is the registry's (``min_max`` runs as the linear retriever's ``minmax``).
    """

    normalization: Normalization | None
    combination: str
    weights: tuple[float, ...]
    rank_constant: int | None = None
    target: str = OPENSEARCH

    @property
    def is_rrf(self) -> bool:
        return self.combination == "rrf"

    @property
    def name(self) -> str:
        w = "[" + ",".join(f"{x:g}" for x in self.weights) + "]"
        return f"{self.family} w={w}"

    @property
    def family(self) -> str:
        """The configuration without its weights (one curve of the metric-vs-weight plot)."""
        if self.is_rrf:
            return f"rrf k={self.rank_constant}"
        if self.target == ELASTICSEARCH:
            return f"linear {TECHNIQUES[self.normalization.technique].targets[ELASTICSEARCH].name}"
        return f"{self.normalization.name}+{self.combination}"

    def retriever_spec(self, rank_window_size: int):
        """The Elasticsearch retriever (mrs.engine.retriever.RetrieverSpec) running this configuration on
        [lexical, dense]; InputError when Elasticsearch cannot run it."""
        from mrs.engine.translation import linear_from_pipeline

        return linear_from_pipeline(self.pipeline_body(), rank_window_size)

    def pipeline_body(self, description: str | None = None) -> dict:
        """The OpenSearch search-pipeline body that deploys this configuration (phase_results_processors)."""
        weights = [round(float(w), 4) for w in self.weights]
        if self.is_rrf:
            proc = {"score-ranker-processor": {"combination": {
                "technique": "rrf", "rank_constant": int(self.rank_constant), "parameters": {"weights": weights}}}}
        else:
            norm: dict = {"technique": self.normalization.technique}
            if self.normalization.lower_bounds is not None:
                norm["parameters"] = {"lower_bounds": [b.to_json() for b in self.normalization.lower_bounds]}
            proc = {"normalization-processor": {
                "normalization": norm,
                "combination": {"technique": self.combination, "parameters": {"weights": weights}}}}
        return {"description": description or f"mrs calibrate: {self.name}", "phase_results_processors": [proc]}


@dataclass
class ConfigScore:
    """A configuration's mean metric on train and held-out (dev) queries (dev None without dev queries)."""

    config: BlendConfig
    train: float
    dev: float | None

    def to_dict(self) -> dict:
        return {"name": self.config.name, "train": round(self.train, 6),
                "dev": None if self.dev is None else round(self.dev, 6)}


@dataclass
class GridResult:
    """All scored configurations (best train score first), the chosen one and the two baselines."""

    metric: str
    subqueries: tuple[str, ...]
    scores: list[ConfigScore]
    default: ConfigScore
    rrf: ConfigScore
    n_train: int
    n_dev: int
    verified: bool | None = None
    notes: list[str] = field(default_factory=list)
    target: str = OPENSEARCH

    @property
    def best(self) -> ConfigScore:
        return self.scores[0]

    def top(self, n: int = 10) -> list[ConfigScore]:
        return self.scores[:n]

    def family_best(self) -> list[ConfigScore]:
        """The best-scoring configuration of every family, best train score first (the ranking a renderer
        for another target picks from)."""
        seen: dict[str, ConfigScore] = {}
        for cs in self.scores:
            seen.setdefault(cs.config.family, cs)
        return list(seen.values())

    def curves(self, max_families: int = 6) -> dict[str, tuple[list[float], list[float]]]:
        """{family: (weight of the dense sub-query, best train metric at that weight)} for the best families."""
        dense_at = self.subqueries.index(SUBQUERY_DENSE) if SUBQUERY_DENSE in self.subqueries else len(self.subqueries) - 1
        fam_best: dict[str, float] = {}
        for cs in self.scores:
            fam_best.setdefault(cs.config.family, cs.train)
        chosen = sorted(fam_best, key=lambda f: -fam_best[f])[:max_families]
        for must in (self.default.config.family, self.rrf.config.family):
            if must not in chosen:
                chosen.append(must)
        out: dict[str, tuple[list[float], list[float]]] = {}
        for fam in chosen:
            per_w: dict[float, float] = {}
            for cs in self.scores:
                if cs.config.family == fam:
                    w = round(cs.config.weights[dense_at], 4)
                    per_w[w] = max(per_w.get(w, -1.0), cs.train)
            xs = sorted(per_w)
            out[fam] = (xs, [per_w[x] for x in xs])
        return out
