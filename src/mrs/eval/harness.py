"""The evaluation harness: judgments + runs → one report dict (metrics, significance, judged@k,
per-level recall, score separation, latency).

Two entry points:
- ``evaluate_backend(backend, encoder, judgments, specs, config)``: every judged query through the backend
  for each RunSpec (query vectors encoded once, batched), then ``build_report``;
- ``build_report(judgments, runs, config)``: for runs already in hand (TREC run files, tests).

The report dict is what ``mrs eval --json`` prints and report.json holds (report.json adds per-query
scores):
{"runs": {run: {metric: mean}}, "significance": {...}, "judged@10": {run: fraction},
 "per_level": {run: {"recall@100": {"exact": .., ">=substitute": .., ...}}}, "separation": {run: {...}},
 "latency_ms": {run: {"p50", "p95", ...}}, "settings": {...}, "coverage": {...}, "warnings": [...]}
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mrs.data.judgments import JudgmentSet
from mrs.errors import InputError
from mrs.eval.judged import judged_at_k
from mrs.eval.latency import latency_summary
from mrs.eval.metrics import (
    DEFAULT_METRICS,
    MetricName,
    compare_runs,
    evaluate_run,
    gain_table,
    parse_metrics,
)
from mrs.eval.runs import RetrievedRun, RunSpec, retrieve
from mrs.eval.separation import ScoredPair, pairs_from_run, separation

# track(description, total) → advance(); lets the CLI show progress without the rooms importing rich.
Tracker = Callable[[str, int], Callable[[], None]]


def _no_track(description: str, total: int) -> Callable[[], None]:
    return lambda: None


@dataclass
class EvalConfig:
    """Evaluation settings. metrics: parsed names (default DEFAULT_METRICS); gains: grades | esci;
    relevant_grade: lowest grade a binary metric counts as relevant (default 1: all but the lowest
    level); k: results per query; judged_k: cutoff of judged@k; stat_test: student | fisher | tukey;
    max_p: significance level (ranx's default 0.01: six metrics × several pairs are many tests);
    pagination_depth: candidates per hybrid sub-query for backends that take it per call (mrs.eval.runs)."""

    metrics: list[MetricName] = field(default_factory=lambda: parse_metrics(DEFAULT_METRICS))
    gains: str = "grades"
    relevant_grade: int = 1
    k: int = 100
    judged_k: int = 10
    stat_test: str = "student"
    max_p: float = 0.01
    pagination_depth: int | None = None


def level_label(scheme, grade: int) -> str:
    """"exact" for the top level, ">=substitute" for lower ones (grade ≥ that level)."""
    name = scheme.name_of(grade)
    return name if grade == scheme.top else f">={name}"


def evaluable_qrels(judgments: JudgmentSet, relevant_grade: int) -> tuple[dict[str, dict[str, int]], list[str]]:
    """Grade qrels of the queries that have at least one judgment at grade ≥ relevant_grade, and the ids
    of the queries left out (all their judged products are below the threshold, so recall, map, mrr and
    nDCG are undefined for them)."""
    if not 0 <= relevant_grade <= judgments.scheme.top:
        raise InputError(
            f"relevance level {relevant_grade} is outside the {judgments.scheme.name} scheme's grades 0..{judgments.scheme.top}"
        )
    kept, dropped = {}, []
    for qid, docs in judgments.qrels().items():
        if any(g >= max(relevant_grade, 1) for g in docs.values()):
            kept[qid] = docs
        else:
            dropped.append(qid)
    return kept, dropped


def build_report(
    judgments: JudgmentSet,
    runs: Mapping[str, Mapping[str, Mapping[str, float]]],
    config: EvalConfig,
    separation_pairs: Mapping[str, Sequence[ScoredPair]] | None = None,
    latency_ms: Mapping[str, Mapping[str, float]] | None = None,
    warnings: Sequence[str] = (),
    coverage: Mapping | None = None,
) -> dict:
    """Evaluate and compare runs against judgments.

    runs: {run name: {query id: {product id: score}}}; separation_pairs: {run name: scored judged pairs}
    (runs missing here get the pairs they retrieved, see separation.pairs_from_run); latency_ms:
    {run name: {query id: ms}}. Queries of a run that nobody judged are ignored (counted in warnings)."""
    if not runs:
        raise InputError("nothing to evaluate: no runs")
    scheme = judgments.scheme
    table = gain_table(scheme, config.gains)
    qrels, no_relevant = evaluable_qrels(judgments, config.relevant_grade)
    warn = list(warnings)
    if no_relevant:
        shown = ", ".join(repr(q) for q in no_relevant[:5]) + (" …" if len(no_relevant) > 5 else "")
        warn.append(
            f"{len(no_relevant)} judged queries have no product at grade ≥ {max(config.relevant_grade, 1)} and are "
            f"left out of the metrics: {shown}"
        )
    if not qrels:
        raise InputError("no judged query has a relevant product; nothing to evaluate")
    for name, run in runs.items():
        extra = [q for q in run if q not in qrels and q not in no_relevant]
        if extra:
            warn.append(f"run {name!r}: {len(extra)} queries have no judgments and are ignored")
        missing = [q for q in qrels if q not in run]
        if missing:
            warn.append(f"run {name!r}: {len(missing)} judged queries have no results (scored 0)")

    report: dict = {"runs": {}, "significance": {}, f"judged@{config.judged_k}": {}, "per_level": {},
                    "separation": {}, "latency_ms": {}, "per_query": {}}
    recall_k = config.k
    for name, run in runs.items():
        means, per_query = evaluate_run(qrels, run, config.metrics, table, config.relevant_grade)
        report["runs"][name] = means
        report["per_query"][name] = per_query
        report[f"judged@{config.judged_k}"][name] = judged_at_k(run, qrels, config.judged_k)[0]
        level_metrics = {g: parse_metrics([f"recall@{recall_k}-l{g}"]) for g in range(scheme.top, 0, -1)}
        report["per_level"][name] = {
            f"recall@{recall_k}": {
                level_label(scheme, g): evaluate_run(qrels, run, ms, table, g)[0][ms[0].name]
                for g, ms in level_metrics.items()
            }
        }
        pairs = (separation_pairs or {}).get(name)
        if pairs is None:
            pairs = pairs_from_run(run, qrels)
        report["separation"][name] = separation(pairs, scheme)
        if latency_ms and name in latency_ms:
            report["latency_ms"][name] = latency_summary(latency_ms[name].values())
    report["significance"] = compare_runs(
        qrels, dict(runs), config.metrics, table, config.relevant_grade, config.stat_test, config.max_p
    )
    warn.extend(report["significance"].pop("warnings", []))
    report["settings"] = {
        "metrics": [m.name for m in config.metrics],
        "gains": config.gains,
        "gain_values": {scheme.name_of(g): v for g, v in sorted(table.items(), reverse=True)},
        "relevant": f"grade >= {max(config.relevant_grade, 1)} ({scheme.name_of(max(config.relevant_grade, 1))} and above)",
        "unjudged": "counted as irrelevant",
        "k": config.k,
        "stat_test": config.stat_test,
        "max_p": config.max_p,
        "scheme": scheme.name,
        "n_queries": len(qrels),
    }
    cov = {"queries_evaluated": len(qrels), "queries_without_relevant": len(no_relevant),
           "judgments": sum(len(d) for d in qrels.values())}
    cov.update(coverage or {})
    report["coverage"] = cov
    report["warnings"] = warn
    return report


def encode_queries(encoder, queries: Mapping[str, str]) -> dict[str, np.ndarray]:
    """{query id: vector} from ONE encoder.encode(all query texts) call (the encoder batches)."""
    ids = list(queries)
    vecs = np.asarray(encoder.encode([queries[q] for q in ids]), dtype=np.float32)
    if vecs.ndim != 2 or vecs.shape[0] != len(ids):
        raise ValueError(f"encoder returned shape {vecs.shape} for {len(ids)} queries")
    return dict(zip(ids, vecs, strict=True))


def judged_pair_scores(
    backend, queries: Mapping[str, str], vectors: Mapping[str, np.ndarray] | None,
    qrels: Mapping[str, Mapping[str, int]], advance: Callable[[], None] = lambda: None,
) -> tuple[dict[str, list[ScoredPair]], set[str]]:
    """Raw lexical and dense scores of every judged pair (SearchBackend.score_documents), and the
    judged product ids the index does not hold (absent from the answer, or without a dense score when a
    vector was given). lexical None (no query term in the product) → BM25 0.0."""
    out: dict[str, list[ScoredPair]] = {"lexical": [], "dense": []}
    absent: set[str] = set()
    for qid, judged in qrels.items():
        vec = vectors.get(qid) if vectors is not None else None
        scored = backend.score_documents(queries[qid], vec, list(judged))
        for pid, grade in judged.items():
            s = scored.get(pid)
            if s is None or (vec is not None and s.get("dense") is None):
                absent.add(pid)
                continue
            lex = s.get("lexical")
            out["lexical"].append(ScoredPair(qid, pid, grade, 0.0 if lex is None else float(lex)))
            if vec is not None:
                out["dense"].append(ScoredPair(qid, pid, grade, float(s["dense"])))
        advance()
    return out, absent


def check_query_filters(backend, filters: Mapping[str, tuple[Any, int]], path: str | None = None) -> dict[str, Any]:
    """{query id: filter} from mrs.data.query_filters.read_query_filters' {query id: (filter, line)}, each
    checked against the backend's typed attributes. InputError naming the queries file, line and query."""
    checked: dict[str, Any] = {}
    for qid, (flt, line) in filters.items():
        try:
            if hasattr(backend, "parse_filter"):  # the embedded engine
                checked[qid] = backend.parse_filter(flt)
            elif hasattr(backend, "filter_dsl"):  # a cluster backend
                backend.filter_dsl(flt)
                checked[qid] = flt
            else:
                raise InputError("this backend takes no filters")
        except InputError as e:
            raise InputError(f"query {qid!r}: {e.message}", path=path, line=line) from None
    return checked


def filtered_out_pairs(backend, filters: Mapping[str, Any], qrels: Mapping[str, Mapping[str, int]]) -> int | None:
    """How many judged pairs of the filtered queries lie outside their query's filter; None when the backend
    cannot say without searching (a cluster)."""
    if not hasattr(backend, "passing"):
        return None
    return sum(sum(1 for ok in backend.passing(flt, list(qrels.get(qid, {}))).values() if not ok)
               for qid, flt in filters.items())


def evaluate_backend(
    backend,
    encoder,
    judgments: JudgmentSet,
    specs: Sequence[RunSpec],
    config: EvalConfig,
    track: Tracker = _no_track,
    extra_runs: Mapping[str, Mapping[str, Mapping[str, float]]] | None = None,
    filters: Mapping[str, Any] | None = None,
) -> tuple[dict, dict[str, RetrievedRun]]:
    """Retrieve every judged query per RunSpec, score all judged pairs, and build the report.

    filters: {query id: filter} — those queries run filtered (checked against the backend's attributes
    first, mrs.engine.filters); their judged products outside the filter stay in the qrels (they count
    against recall, as for the users who ran that query) and the report counts them.

    backend: a SearchBackend; encoder: has ``encode(texts) -> (n, dim) array`` (None when only lexical
    runs are asked). Returns (report, {run name: RetrievedRun}) — the runs for TREC files.
    The report's "coverage" counts judged products absent from the index; they stay in the qrels (a
    product nobody can retrieve still counts against recall) and a warning says so."""
    if not specs:
        raise InputError("no runs to evaluate: give --modes and/or --pipeline")
    queries = judgments.queries()
    qrels = judgments.qrels()
    needs_vectors = any(s.mode != "lexical" for s in specs)
    vectors = None
    encode_ms = 0.0
    if needs_vectors:
        if encoder is None:
            raise InputError("dense and hybrid runs need the index's encoder")
        t0 = time.perf_counter()
        vectors = encode_queries(encoder, queries)
        encode_ms = (time.perf_counter() - t0) * 1000.0 / max(len(queries), 1)

    advance = track("scoring judged pairs", len(qrels))
    pair_scores, absent = judged_pair_scores(backend, queries, vectors, qrels, advance)
    warnings = []
    n_judged = len(judgments.product_ids())
    if absent:
        n_pairs = sum(1 for docs in qrels.values() for pid in docs if pid in absent)
        warnings.append(
            f"{len(absent)} of {n_judged} judged products ({n_pairs} judged pairs) are not in the index; "
            "they cannot be retrieved and count against recall"
        )
        if len(absent) == n_judged:
            warnings.append("no judged product is in the index: are the judgments for this catalog?")

    filters = {q: f for q, f in (filters or {}).items() if q in queries}
    outside = filtered_out_pairs(backend, filters, qrels) if filters else None
    if outside:
        warnings.append(f"{outside} judged pairs of {len(filters)} filtered queries lie outside their query's "
                        "filter: they cannot be retrieved and count against recall")

    advance = track("searching", len(queries) * len(specs))
    retrieved = retrieve(backend, queries, vectors, specs, config.k, on_query=advance, filters=filters,
                         pagination_depth=config.pagination_depth)
    runs = {name: rr.run() for name, rr in retrieved.items()}
    for name, run in (extra_runs or {}).items():
        if name in runs:
            raise InputError(f"run name {name!r} is used twice (a mode and a run file)")
        runs[name] = run
    sep_pairs = {s.name: pair_scores[s.mode] for s in specs if s.mode in ("lexical", "dense")}
    latency = {name: rr.latency_ms for name, rr in retrieved.items()}
    coverage = {"judged_products": n_judged, "judged_products_absent_from_index": len(absent)}
    if filters:
        coverage.update({"queries_filtered": len(filters), "judged_pairs_outside_filter": outside})
    report = build_report(judgments, runs, config, sep_pairs, latency, warnings, coverage)
    report["settings"]["modes"] = {s.name: s.mode for s in specs} | {n: "run file" for n in extra_runs or {}}
    report["settings"]["query_encoding_ms_per_query"] = encode_ms
    report["settings"]["separation_scores"] = {
        name: ("raw scores of all judged pairs" if name in sep_pairs
               else f"scores of the judged products in the top {config.k}")
        for name in runs
    }
    return report, retrieved
